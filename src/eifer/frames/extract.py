"""Per-video frame extraction and the ``frames`` stage runner.

``extract_video`` decodes one video once, analyses every frame
(:class:`~eifer.frames.analyzer.FaceAnalyzer`), applies the quality rule and,
when an image affect estimator is given, estimates valence/arousal on aligned
crops of the usable frames in batches, in the same pass (``est_valence``,
``est_arousal``, ``affect_source`` = the estimator's key; the affect stage
turns them into its own tables, ``RUN/affect/``).

``run_frames`` runs it per video in a process pool and writes
``RUN/frames/<participant>/<video>.parquet`` atomically, so a crash resumes at
the next unfinished video. Broken videos are reported in
``RUN/frames/problems.csv`` and the rest of the study is processed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eifer.config import DEFAULTS
from eifer.errors import EiferError
from eifer.frames.analyzer import FaceAnalyzer
from eifer.frames.crop import estimator_crop
from eifer.frames.decode import iter_video
from eifer.frames.quality import apply_quality
from eifer.io import read_parquet

if TYPE_CHECKING:
    from eifer.runfolder import RunFolder

_REPORT_EVERY = 60


@dataclass(frozen=True)
class StreamEstimator:
    """An image valence/arousal estimator the frame pass runs on its aligned crops (one decode per video).

    The pipeline builds it from the config (:func:`eifer.affect.stream_estimator`)
    and hands it to :func:`run_frames`, so the frame stage does not depend on
    the affect stage.

    Attributes
    ----------
    settings : dict
        Plain, picklable settings; every video job carries them as ``job["affect_cfg"]``.
    build : callable
        Module-level (so picklable) ``build(settings) -> estimator``, called in each worker.
    run_batched : callable, optional
        ``run_batched(jobs, n_jobs) -> results``: run every job on the batched
        inference path instead of estimating in the stream.
    """

    settings: dict[str, Any]
    build: Callable[[dict[str, Any]], Any]
    run_batched: Callable[[list[dict[str, Any]], int], list[dict[str, Any]]] | None = None


def _estimate_batch(estimator: Any, crops: list[np.ndarray], rows: list[int], va: dict[int, np.ndarray],
                    crop_sink: Callable | None = None) -> None:
    if crops:
        if crop_sink is not None:  # batched inference later (eifer.affect.batched): hand the crops on
            crop_sink(list(rows), np.stack(crops))
        else:
            va.update(zip(rows, estimator.predict(np.stack(crops))))
        crops.clear()
        rows.clear()


def quality_provisional(df: pd.DataFrame, analyzer: FaceAnalyzer,
                        ear_threshold: float = DEFAULTS.frames.ear_threshold) -> pd.DataFrame:
    """The quality rule with this video's own references (``finalize_quality`` later uses the participant's).

    The thresholds are the analyzer's (``FaceAnalyzer.from_config``), plus the fixed eye-closure threshold.
    """
    return apply_quality(df, analyzer.min_detection_confidence, analyzer.min_landmark_confidence, ear_threshold,
                         det_drop=analyzer.occlusion_det_drop, hand_keep=analyzer.hand_keep)


def extract_video(path: str | Path, analyzer: FaceAnalyzer | None = None, participant_id: str = "",
                  video_id: str = "", estimator: Any = None, report: Callable[[int, int | None], None] | None = None,
                  crop_sink: Callable[[list[int], np.ndarray], None] | None = None, *,
                  ear_threshold: float = DEFAULTS.frames.ear_threshold,
                  every_nth: int = DEFAULTS.frames.every_nth) -> pd.DataFrame:
    """Analyse every frame of one video.

    Parameters
    ----------
    path : path-like
    analyzer : FaceAnalyzer, optional
        The per-frame analysis and its thresholds (``FaceAnalyzer.from_config(cfg.frames)``;
        default: the paper profile's).
    participant_id, video_id : str
        Written into the id columns.
    estimator : image estimator, optional
        From :func:`eifer.affect.create_estimator`; when given, ``est_valence`` and
        ``est_arousal`` are estimated in-stream for usable frames (cut by
        :func:`eifer.frames.crop.estimator_crop`).
    report : callable, optional
        ``report(frames_done, total)`` for progress bars.
    crop_sink : callable, optional
        With an estimator: ``crop_sink(rows, crops)`` receives the aligned crops
        (and their row numbers) instead of the estimator, whose estimates stay
        NaN; :mod:`eifer.affect.batched` runs the inference afterwards.
    ear_threshold : float
        Eye-closure threshold of the provisional quality rule (``frames.ear_threshold``).
    every_nth : int
        Analyse every n-th frame (``frames.every_nth``).

    Returns
    -------
    DataFrame
        One row per analysed frame (columns in docs/interfaces.md).
        ``df.attrs["problem"]`` holds a message when the video was truncated
        (frames before the break are kept) or showed no face at all.

    Raises
    ------
    EiferError
        Unreadable, empty or zero-frame video, naming the file.

    Examples
    --------
    >>> from eifer.config import load_config
    >>> cfg = load_config().frames
    >>> df = extract_video("videos/P01/V1.mp4", FaceAnalyzer.from_config(cfg), "P01", "V1")  # doctest: +SKIP
    >>> df.loc[~df.valid, "reason"].value_counts()  # doctest: +SKIP
    """
    if analyzer is None:
        analyzer = FaceAnalyzer()
    elif not isinstance(analyzer, FaceAnalyzer):
        raise TypeError(f"extract_video takes a FaceAnalyzer (FaceAnalyzer.from_config(cfg)), got "
                        f"{type(analyzer).__name__}")
    from eifer.frames.decode import video_fps

    fps = video_fps(path)
    try:
        import av

        with av.open(str(path)) as c:
            total = c.streams.video[0].frames or None
    except Exception:
        total = None
    records: list[dict[str, Any]] = []
    crops: list[np.ndarray] = []
    rows: list[int] = []
    va: dict[int, np.ndarray] = {}
    problem = ""
    try:
        for rec, rgb in analyzer.analyze(iter_video(path, every_nth, fps)):
            if estimator is not None and rec["landmarks_found"]:  # every face crop, valid or dropped
                crops.append(estimator_crop(rgb, (rec["eye_lx"], rec["eye_ly"]), (rec["eye_rx"], rec["eye_ry"]),
                                            estimator))
                rows.append(len(records))
            records.append(rec)
            if len(crops) >= getattr(estimator, "batch_size", 64):
                _estimate_batch(estimator, crops, rows, va, crop_sink)
            if report is not None and len(records) % _REPORT_EVERY == 0:
                report(rec["frame"] + 1, total)
    except EiferError as exc:
        if not records:
            raise
        problem = f"{exc}; kept the {len(records)} frames decoded before the break"
    finally:
        analyzer.close()
    if not records:
        raise EiferError(f"{path}: video has no frames (zero length)")
    if estimator is not None:
        _estimate_batch(estimator, crops, rows, va, crop_sink)
    df = pd.DataFrame.from_records(records)
    df.insert(0, "video_id", str(video_id))
    df.insert(0, "participant_id", str(participant_id))
    if estimator is not None:  # in-stream estimates of every frame with a face crop (validity beside them)
        est = np.full((len(df), 2), np.nan)
        if va:
            est[list(va)] = np.stack(list(va.values()))
        df["est_valence"], df["est_arousal"] = est[:, 0], est[:, 1]
    df["affect_source"] = estimator.key if estimator is not None else ""
    # provisional: run_frames re-applies the rule with per-participant references
    df = quality_provisional(df, analyzer, ear_threshold)
    if not problem and not df["face_found"].any():
        problem = f"{path}: no face found in any of its {len(df)} frames"
    df.attrs["problem"] = problem
    return df


def part_path(run: RunFolder, participant_id: str, video_id: str) -> Path:
    """``RUN/frames/<participant>/<video>.parquet``."""
    return run.path("frames", str(participant_id), f"{video_id}.parquet")


def frame_part_paths(frames_dir: str | Path, participant_id: str | None = None,
                     video_id: str | None = None) -> list[Path]:
    """The frame tables ``<participant>/<video>.parquet`` under a run's ``frames`` folder, in path order.

    ``video_id`` (with ``participant_id``) names one table: a list of it alone, or
    empty when it does not exist.

    Examples
    --------
    >>> frame_part_paths("/nonexistent")
    []
    >>> frame_part_paths("/nonexistent", "P01", "V1")
    []
    """
    if video_id is not None:
        if participant_id is None:
            raise EiferError("frame_part_paths: video_id needs participant_id")
        one = Path(frames_dir, str(participant_id), f"{video_id}.parquet")
        return [one] if one.is_file() else []
    pattern = f"{participant_id}/*.parquet" if participant_id is not None else "*/*.parquet"
    return sorted(Path(frames_dir).glob(pattern))


def read_frame_parts(frames_dir: str | Path, participant_id: str | None = None,
                     columns: list[str] | None = None, video_id: str | None = None) -> pd.DataFrame:
    """The one reader of ``RUN/frames/<participant>/<video>.parquet``: the parts, concatenated in path order.

    Parameters
    ----------
    frames_dir : path-like
        The run's ``frames`` folder.
    participant_id : str, optional
        Only this participant's videos.
    columns : list of str, optional
        Read only these columns.
    video_id : str, optional
        Only this video of ``participant_id`` (one table: what a streaming reader
        holds at a time).

    Returns
    -------
    DataFrame
        Ids as text; empty (no columns) when no part exists.

    Examples
    --------
    >>> read_frame_parts("/nonexistent").empty
    True
    """
    parts = frame_part_paths(frames_dir, participant_id, video_id)
    if not parts:
        return pd.DataFrame()
    dfs = []
    for p in parts:
        dfs.append(read_parquet(p, stage="frames", columns=columns))  # a damaged table names itself
    df = pd.concat(dfs, ignore_index=True)
    for c in ("participant_id", "video_id"):
        if c in df.columns:
            df[c] = df[c].astype(str)
    return df


def read_frames(run: RunFolder, participant_id: str | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """Concatenate the per-video frame tables of a run (optionally one participant, some columns).

    Parameters
    ----------
    run : RunFolder
    participant_id : str, optional
    columns : list of str, optional

    Returns
    -------
    DataFrame (empty when no part exists)
    """
    return read_frame_parts(run.path("frames"), participant_id, columns)
