"""Per-video frame extraction and the ``frames`` stage runner.

``extract_video`` decodes one video once, analyses every frame
(:class:`~eifer.frames.analyzer.FaceAnalyzer`), applies the quality rule and,
when an image affect estimator is given, estimates valence/arousal on aligned
crops of the usable frames in batches, in the same pass.

``run_frames`` runs it per video in a process pool and writes
``RUN/frames/<participant>/<video>.parquet`` atomically, so a crash resumes at
the next unfinished video. Broken videos are reported in
``RUN/frames/problems.csv`` and the rest of the study is processed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from eifer.errors import EiferError
from eifer.frames.analyzer import FaceAnalyzer
from eifer.frames.crop import align_crop
from eifer.frames.decode import iter_video
from eifer.frames.quality import adaptive_ear_threshold, apply_quality, hand_keep_frames
from eifer.io import write_csv, write_parquet, write_text

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


def _estimate_batch(estimator, crops: list[np.ndarray], rows: list[int], va: dict[int, np.ndarray],
                    crop_sink: Callable | None = None) -> None:
    if crops:
        if crop_sink is not None:  # batched inference later (eifer.affect.batched): hand the crops on
            crop_sink(list(rows), np.stack(crops))
        else:
            va.update(zip(rows, estimator.predict(np.stack(crops))))
        crops.clear()
        rows.clear()


def quality_provisional(df: pd.DataFrame, cfg) -> pd.DataFrame:
    """The quality rule with this video's own references (``finalize_quality`` later uses the participant's)."""
    return apply_quality(df, cfg.min_detection_confidence, cfg.min_landmark_confidence, cfg.ear_threshold,
                         det_drop=cfg.occlusion_det_drop, hand_keep=hand_keep_frames(cfg))


def extract_video(path: str | Path, cfg, participant_id: str = "", video_id: str = "",
                  estimator=None, report: Callable[[int, int | None], None] | None = None,
                  crop_sink: Callable[[list[int], np.ndarray], None] | None = None) -> pd.DataFrame:
    """Analyse every frame of one video.

    Parameters
    ----------
    path : path-like
    cfg : eifer.config.FramesConfig
    participant_id, video_id : str
        Written into the id columns.
    estimator : image estimator, optional
        From :func:`eifer.affect.create_estimator`; when given, ``valence`` and
        ``arousal`` are estimated in-stream for usable frames.
    report : callable, optional
        ``report(frames_done, total)`` for progress bars.
    crop_sink : callable, optional
        With an estimator: ``crop_sink(rows, crops)`` receives the aligned crops
        (and their row numbers) instead of the estimator, whose estimates stay
        NaN; :mod:`eifer.affect.batched` runs the inference afterwards.

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
    >>> df = extract_video("videos/P01/V1.mp4", load_config().frames, "P01", "V1")  # doctest: +SKIP
    >>> df.loc[~df.valid, "reason"].value_counts()  # doctest: +SKIP
    """
    from eifer.frames.decode import video_fps

    fps = video_fps(path)
    try:
        import av

        with av.open(str(path)) as c:
            total = c.streams.video[0].frames or None
    except Exception:
        total = None
    analyzer = FaceAnalyzer.from_config(cfg)
    records: list[dict[str, Any]] = []
    crops: list[np.ndarray] = []
    rows: list[int] = []
    va: dict[int, np.ndarray] = {}
    problem = ""
    try:
        for rec, rgb in analyzer.analyze(iter_video(path, cfg.every_nth, fps)):
            if estimator is not None and rec["landmarks_found"] and not rec["stream_cue"]:
                crops.append(align_crop(rgb, (rec["eye_lx"], rec["eye_ly"]), (rec["eye_rx"], rec["eye_ry"]),
                                        estimator.input_size, cfg.crop_margin))
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
    est = np.full((len(df), 2), np.nan)
    if va:
        est[list(va)] = np.stack(list(va.values()))
    df["valence"], df["arousal"] = est[:, 0], est[:, 1]
    if estimator is not None:  # kept for frames that only become valid with per-participant references
        df["est_valence"], df["est_arousal"] = est[:, 0], est[:, 1]
    df["affect_source"] = estimator.key if estimator is not None else ""
    # provisional: run_frames re-applies the rule with per-participant references
    df = quality_provisional(df, cfg)
    if not problem and not df["face_found"].any():
        problem = f"{path}: no face found in any of its {len(df)} frames"
    df.attrs["problem"] = problem
    return df


def _extract_job(job: dict[str, Any], report: Callable) -> dict[str, Any]:
    """Pool worker: extract one video and write its part (and problem note) atomically."""
    from eifer.config import FramesConfig

    cfg = FramesConfig.model_validate(job["frames_cfg"])
    estimator = None
    if job.get("affect_cfg"):
        est = job["build"](job["affect_cfg"])
        estimator = est if est.needs_images else None
    df = extract_video(job["path"], cfg, job["participant_id"], job["video_id"], estimator, report)
    note = Path(job["out"]).with_suffix(".problem.txt")
    if df.attrs.get("problem"):
        write_text(note, df.attrs["problem"] + "\n")
    elif note.exists():
        note.unlink()
    write_parquet(job["out"], df)
    return {"frames": len(df), "valid": int(df["valid"].sum()), "problem": df.attrs.get("problem", "")}


def part_path(run, participant_id: str, video_id: str) -> Path:
    """``RUN/frames/<participant>/<video>.parquet``."""
    return run.path("frames", str(participant_id), f"{video_id}.parquet")


def read_frames(run, participant_id: str | None = None) -> pd.DataFrame:
    """Concatenate the per-video frame tables of a run (optionally one participant).

    Parameters
    ----------
    run : RunFolder
    participant_id : str, optional

    Returns
    -------
    DataFrame (empty when no part exists)
    """
    root = run.path("frames")
    pattern = f"{participant_id}/*.parquet" if participant_id is not None else "*/*.parquet"
    parts = sorted(root.glob(pattern))
    if not parts:
        return pd.DataFrame()
    df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    df["participant_id"] = df["participant_id"].astype(str)
    df["video_id"] = df["video_id"].astype(str)
    return df


def finalize_quality(run, cfg) -> pd.DataFrame:
    """Re-apply the quality rule per participant: detector-score reference, adaptive EAR.

    Parts are rewritten only when ``reason`` or the references change, so this
    is cheap to repeat. Returns one row per participant: participant_id,
    ear_threshold, det_reference.
    """
    rows = []
    for pdir in sorted(p for p in run.path("frames").iterdir() if p.is_dir()):
        parts = sorted(pdir.glob("*.parquet"))
        dfs = [pd.read_parquet(p) for p in parts]
        if not dfs:
            continue
        both = pd.concat(dfs, ignore_index=True)
        thr = cfg.ear_threshold
        if cfg.adaptive_ear:
            thr = adaptive_ear_threshold(both, cfg.adaptive_ear_fraction, cfg.adaptive_ear_floor,
                                         cfg.adaptive_ear_ceiling, cfg.adaptive_ear_min_frames)
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


def run_frames(study, run, estimator: StreamEstimator | None = None) -> list[str]:
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
    probs = pd.DataFrame(problems, columns=["participant_id", "video_id", "path", "problem", "processed"])
    write_csv(run.path("frames", "problems.csv"), probs)
    if run.path("frames").is_dir():
        finalize_quality(run, cfg)
    outputs = ["frames/problems.csv"]
    outputs += [str(part_path(run, v.participant_id, v.video_id).relative_to(run.root))
                for v in videos.itertuples(index=False) if part_path(run, v.participant_id, v.video_id).exists()]
    return outputs
