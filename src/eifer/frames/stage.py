"""The ``frames`` stage: ``run_frames(study, run)`` analyses every study video into ``RUN/frames/``.

The per-video work is :func:`eifer.frames.extract.extract_video`; this module runs
it over the study (resumable, in worker processes), re-applies the quality rule
per participant and records the problem videos.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eifer.frames.analyzer import FaceAnalyzer
from eifer.frames.extract import StreamEstimator, extract_video, frame_part_paths, part_path
from eifer.frames.quality import adaptive_ear_threshold, apply_quality, hand_keep_frames
from eifer.io import read_parquet, write_csv, write_parquet, write_text

if TYPE_CHECKING:
    from eifer.config import FramesConfig
    from eifer.runfolder import RunFolder
    from eifer.study import Study


def _extract_job(job: dict[str, Any], report: Callable) -> dict[str, Any]:
    """Pool worker: extract one video and write its part (and problem note) atomically."""
    from eifer.config import FramesConfig

    cfg = FramesConfig.model_validate(job["frames_cfg"])
    estimator = None
    if job.get("affect_cfg"):
        est = job["build"](job["affect_cfg"])
        estimator = est if est.needs_images else None
    df = extract_video(job["path"], FaceAnalyzer.from_config(cfg), job["participant_id"], job["video_id"], estimator,
                       report, ear_threshold=cfg.ear_threshold, every_nth=cfg.every_nth)
    note = Path(job["out"]).with_suffix(".problem.txt")
    if df.attrs.get("problem"):
        write_text(note, df.attrs["problem"] + "\n")
    elif note.exists():
        note.unlink()
    write_parquet(job["out"], df)
    return {"frames": len(df), "valid": int(df["valid"].sum()), "problem": df.attrs.get("problem", "")}


def finalize_quality(run: RunFolder, cfg: FramesConfig) -> pd.DataFrame:
    """Re-apply the quality rule per participant: detector-score reference, adaptive EAR.

    Parts are rewritten only when ``reason`` or the references change, so this
    is cheap to repeat. Returns one row per participant: participant_id,
    ear_threshold, det_reference.
    """
    rows = []
    for pdir in sorted(p for p in run.path("frames").iterdir() if p.is_dir()):
        parts = frame_part_paths(run.path("frames"), pdir.name)
        dfs = [read_parquet(p, stage="frames") for p in parts]
        if not dfs:
            continue
        both = pd.concat(dfs, ignore_index=True)
        thr = cfg.ear_threshold
        if cfg.adaptive_ear:
            thr = adaptive_ear_threshold(both, cfg.adaptive_ear_fraction, cfg.adaptive_ear_floor,
                                         cfg.adaptive_ear_ceiling, cfg.adaptive_ear_min_frames,
                                         cfg.adaptive_ear_reference_quantile, cfg.adaptive_ear_shut_split)
            thr = cfg.ear_threshold if not np.isfinite(thr) else thr
        face = both["face_found"].astype(bool)
        ref = float(both.loc[face, "det_score"].median()) if face.any() else np.nan
        for p, df in zip(parts, dfs):
            new = apply_quality(df, cfg.min_detection_confidence, cfg.min_landmark_confidence, thr,
                                det_reference=ref, det_drop=cfg.occlusion_det_drop, hand_keep=hand_keep_frames(cfg))
            same_ref = np.allclose(df[["ear_threshold", "det_reference"]].to_numpy(float),
                                   new[["ear_threshold", "det_reference"]].to_numpy(float), equal_nan=True)
            if not (new["reason"].equals(df["reason"]) and same_ref):
                write_parquet(p, new)
        rows.append({"participant_id": pdir.name, "ear_threshold": thr, "det_reference": ref})
    return pd.DataFrame(rows)


def run_frames(study: Study, run: RunFolder, estimator: StreamEstimator | None = None) -> list[str]:
    """The ``frames`` stage: every study video → ``RUN/frames/<pid>/<vid>.parquet``.

    Parameters
    ----------
    study : eifer.study.Study
        Needs ``videos()`` → participant_id, video_id, domain, path.
    run : eifer.runfolder.RunFolder
    estimator : StreamEstimator, optional
        An image affect estimator to run in the same pass (one decode per
        video); the pipeline hands it over when ``affect`` names one.

    Returns
    -------
    list of str
        Outputs relative to RUN (the parts and ``frames/problems.csv``).

    Notes
    -----
    Videos are analysed in spawned worker processes (``frames.n_jobs``; 0 =
    one per core), so a script calling this must guard its entry point with
    ``if __name__ == "__main__":``.

    Examples
    --------
    >>> run_frames(load_study("study"), RunFolder("runs/r1", load_config()).init())  # doctest: +SKIP
    """
    from eifer.frames.parallel import run_jobs

    cfg = run.config.frames
    videos = study.videos()
    jobs = []
    for v in videos.itertuples(index=False):
        out = part_path(run, v.participant_id, v.video_id)
        if out.exists():  # resume: finished videos are kept
            continue
        jobs.append({"key": f"{v.participant_id}/{v.video_id}", "participant_id": str(v.participant_id),
                     "video_id": str(v.video_id), "path": str(v.path), "out": str(out),
                     "frames_cfg": cfg.model_dump(mode="json"),
                     "affect_cfg": estimator.settings if estimator else None,
                     "build": estimator.build if estimator else None})
    if estimator is not None and estimator.run_batched is not None:  # V/A batched after the CPU units
        results = estimator.run_batched(jobs, cfg.n_jobs)
    else:
        results = run_jobs(_extract_job, jobs, cfg.n_jobs, desc="frames")
    for r in results:
        run.log("frames_video", video=r["key"], ok=r["ok"], **{k: r[k] for k in ("frames", "valid", "error")
                                                                    if k in r})
    problems = []
    for v in videos.itertuples(index=False):
        key = f"{v.participant_id}/{v.video_id}"
        out = part_path(run, v.participant_id, v.video_id)
        note = out.with_suffix(".problem.txt")
        failed = next((r["error"] for r in results if r["key"] == key and not r["ok"]), None)
        if failed:
            problems.append({"participant_id": str(v.participant_id), "video_id": str(v.video_id),
                             "path": str(v.path), "problem": failed, "processed": False})
        elif note.exists():
            problems.append({"participant_id": str(v.participant_id), "video_id": str(v.video_id),
                             "path": str(v.path), "problem": note.read_text().strip(), "processed": True})
    if run.path("frames").is_dir():
        finalize_quality(run, cfg)
    named = {(p["participant_id"], p["video_id"]) for p in problems}
    for v in videos.itertuples(index=False):  # decoded, but not one valid frame (no face found): named too
        out = part_path(run, v.participant_id, v.video_id)
        if (str(v.participant_id), str(v.video_id)) not in named and out.exists() and \
                not read_parquet(out, stage="frames", columns=["valid"])["valid"].astype(bool).any():
            problems.append({"participant_id": str(v.participant_id), "video_id": str(v.video_id),
                             "path": str(v.path), "processed": True,
                             "problem": "no valid frame (no face found, or every frame filtered): the video "
                                        "is left out of selection, training and testing"})
    probs = pd.DataFrame(problems, columns=["participant_id", "video_id", "path", "problem", "processed"])
    write_csv(run.path("frames", "problems.csv"), probs)
    outputs = ["frames/problems.csv"]
    outputs += [str(part_path(run, v.participant_id, v.video_id).relative_to(run.root))
                for v in videos.itertuples(index=False) if part_path(run, v.participant_id, v.video_id).exists()]
    return outputs
