"""The ``affect`` stage: fill ``valence``/``arousal`` into the frame tables.

* ``geometry``: computed from the stored ``geo_*`` columns, per participant
  (no video is decoded again);
* image estimators: normally already computed in-stream by the frames stage
  (``affect_source`` equals the estimator's key). Parts estimated with another
  model/settings are refreshed by decoding the video once more and cutting
  crops only for the valid frames (:func:`estimate_video`).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eifer.errors import EiferError
from eifer.io import write_parquet


def estimate_video(path: str | Path, frames: pd.DataFrame, estimator, crop_margin: float = 0.35,
                   report: Callable | None = None) -> pd.DataFrame:
    """Estimate valence/arousal for the valid frames of one video by re-reading just those frames.

    Parameters
    ----------
    path : path-like
        The video the frame table came from.
    frames : DataFrame
        Its frame table (``frame``, ``valid``, eye centres).
    estimator : image estimator
    crop_margin : float

    Returns
    -------
    DataFrame (copy of ``frames`` with ``valence``, ``arousal``, ``affect_source``)
    """
    from eifer.frames import align_crop, read_frames_at

    out = frames.copy()
    out["valence"] = np.nan
    out["arousal"] = np.nan
    todo = out[out["valid"].astype(bool)].set_index("frame")
    crops, rows = [], []
    for n, (idx, rgb) in enumerate(read_frames_at(path, todo.index)):
        r = todo.loc[idx]
        crops.append(align_crop(rgb, (r.eye_lx, r.eye_ly), (r.eye_rx, r.eye_ry), estimator.input_size, crop_margin))
        rows.append(idx)
        if report is not None and n % 60 == 0:
            report(n, len(todo))
    if len(rows) != len(todo):
        raise EiferError(f"{path}: only {len(rows)} of {len(todo)} valid frames could be read again")
    va = estimator.predict(np.stack(crops)) if crops else np.zeros((0, 2))
    by_frame = dict(zip(rows, va))
    est = np.array([by_frame.get(f, (np.nan, np.nan)) for f in out["frame"]], dtype=np.float64).reshape(-1, 2)
    out["valence"], out["arousal"] = est[:, 0], est[:, 1]
    out["est_valence"], out["est_arousal"] = est[:, 0], est[:, 1]
    out["affect_source"] = estimator.key
    return out


def _estimate_job(job: dict[str, Any], report: Callable) -> dict[str, Any]:
    from eifer.affect import estimator_from_config
    from eifer.config import AffectConfig

    est = estimator_from_config(AffectConfig.model_validate(job["affect_cfg"]))
    df = estimate_video(job["path"], pd.read_parquet(job["part"]), est, job["crop_margin"], report)
    write_parquet(job["part"], df)
    return {"frames": int(df["valence"].notna().sum())}


def run_affect(study, run) -> list[str]:
    """The ``affect`` stage (see module docstring).

    Parameters
    ----------
    study : eifer.study.Study
    run : eifer.runfolder.RunFolder

    Returns
    -------
    list of str
        The frame parts (relative to RUN) now carrying current estimates.
    """
    from eifer.affect import estimator_from_config
    from eifer.frames import part_path
    from eifer.frames.parallel import run_jobs

    cfg = run.config.affect
    est = estimator_from_config(cfg)
    videos = study.videos()
    parts = {(str(v.participant_id), str(v.video_id)): (part_path(run, v.participant_id, v.video_id), v.path)
             for v in videos.itertuples(index=False)}
    parts = {k: v for k, v in parts.items() if v[0].exists()}
    if not parts:
        raise EiferError(f"{run.path('frames')}: no frame tables; run `eifer frames` first")
    if not est.needs_images:
        for pid in sorted({k[0] for k in parts}):
            keys = [k for k in parts if k[0] == pid]
            dfs = [pd.read_parquet(parts[k][0]) for k in keys]
            if all(len(d) and (d["affect_source"] == est.key).all() for d in dfs):
                continue
            lengths = [len(d) for d in dfs]
            both = est.estimate(pd.concat(dfs, ignore_index=True))
            both["affect_source"] = est.key
            starts = np.concatenate([[0], np.cumsum(lengths)])
            for k, a, b in zip(keys, starts[:-1], starts[1:]):
                write_parquet(parts[k][0], both.iloc[a:b].reset_index(drop=True))
    else:
        jobs = []
        for (pid, vid), (part, path) in parts.items():
            src = pd.read_parquet(part, columns=["affect_source"])["affect_source"]
            if len(src) and (src == est.key).all():
                continue
            jobs.append({"key": f"{pid}/{vid}", "part": str(part), "path": str(path),
                         "affect_cfg": cfg.model_dump(mode="json"), "crop_margin": run.config.frames.crop_margin})
        for r in run_jobs(_estimate_job, jobs, run.config.frames.n_jobs, desc="affect"):
            if not r["ok"]:
                run.log("affect_video_failed", video=r["key"], error=r["error"])
    return [str(p.relative_to(run.root)) for p, _ in parts.values()]
