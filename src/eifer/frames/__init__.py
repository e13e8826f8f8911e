"""Per-frame extraction (paper §3.2.1): decode → face → quality filter → aligned crop.

Public functions: :func:`extract_video`, :func:`run_frames`, :func:`read_frames`,
:func:`align_crop`, :func:`apply_quality`, :func:`adaptive_ear_threshold`,
:func:`iter_video`, :func:`read_frames_at`.
"""
from eifer.frames.analyzer import FaceAnalyzer
from eifer.frames.crop import align_crop
from eifer.frames.decode import iter_video, read_frames_at
from eifer.frames.extract import (
    StreamEstimator,
    extract_video,
    frame_part_paths,
    part_path,
    read_frame_parts,
    read_frames,
)
from eifer.frames.quality import REASONS, adaptive_ear_threshold, apply_quality
from eifer.frames.stage import finalize_quality, run_frames

__all__ = ["FaceAnalyzer", "align_crop", "iter_video", "read_frames_at", "extract_video", "finalize_quality",
           "frame_part_paths", "part_path", "read_frames", "read_frame_parts", "run_frames", "StreamEstimator",
           "REASONS", "adaptive_ear_threshold", "apply_quality"]
