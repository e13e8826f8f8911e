"""The ``select`` stage: dataset.parquet, test_subsets.parquet, face crops and Figure 4."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import pandas as pd

from eifer.errors import EiferError
from eifer.io import read_csv, write_bytes, write_csv, write_parquet
from eifer.select.core import (
    build_test_subsets,
    combine_subsets,
    combine_videos,
    crop_relpath,
    select_frames,
    unlabeled_error,
    unlabeled_videos,
)
from eifer.select.figure import plot_figure4

if TYPE_CHECKING:
    from eifer.runfolder import RunFolder
    from eifer.study import Study


def _crop_job(job: dict[str, Any], report: Callable) -> dict[str, Any]:
    """Pool worker: re-read just the wanted frames of one video and write their crops."""
    from eifer.frames import align_crop, read_frame_parts, read_frames_at

    eyes = read_frame_parts(Path(job["root"], "frames"), job["pid"],
                            columns=["video_id", "frame", "eye_lx", "eye_ly", "eye_rx", "eye_ry"], video_id=job["vid"])
    eyes = eyes[eyes["video_id"] == job["vid"]].set_index("frame")
    root = Path(job["root"])
    todo = [f for f in job["frames"] if not (root / crop_relpath(job["pid"], job["vid"], f)).exists()]
    for n, (idx, rgb) in enumerate(read_frames_at(job["path"], todo)):
        e = eyes.loc[idx]
        crop = align_crop(rgb, (e.eye_lx, e.eye_ly), (e.eye_rx, e.eye_ry), job["size"], job["margin"], job["eye_y"],
                          job["iod_fraction"])
        ok, png = cv2.imencode(".png", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        if not ok:
            raise EiferError(f"{job['path']}: could not encode the crop of frame {idx}")
        write_bytes(root / crop_relpath(job["pid"], job["vid"], idx), png.tobytes())
        if n % 20 == 0:
            report(n, len(todo))
    return {"written": len(todo)}


def store_crops(run: RunFolder, study: Study, wanted: pd.DataFrame) -> pd.DataFrame:
    """Write aligned training crops ``RUN/crops/<pid>/<vid>/<frame>.png`` for the wanted frames (``select.crop_*``).

    Existing crops are kept (resume). Each video is decoded once, in a process pool.

    Parameters
    ----------
    run : RunFolder
    study : Study
    wanted : DataFrame
        participant_id, video_id, frame.

    Returns
    -------
    DataFrame: participant_id, video_id, ok, error (one row per video).
    """
    from eifer.frames.parallel import run_jobs

    cfg = run.config.select
    paths = {(str(v.participant_id), str(v.video_id)): str(v.path) for v in study.videos().itertuples(index=False)}
    jobs = []
    for (pid, vid), g in wanted.groupby(["participant_id", "video_id"], sort=True):
        jobs.append({"key": f"{pid}/{vid}", "pid": pid, "vid": vid, "path": paths[(pid, vid)],
                     "root": str(run.root),
                     "frames": sorted(int(f) for f in g["frame"].unique()), "size": cfg.crop_size,
                     "margin": cfg.crop_margin, "eye_y": cfg.crop_eye_y, "iod_fraction": cfg.crop_iod_fraction})
    res = run_jobs(_crop_job, jobs, run.config.frames.n_jobs, desc="crops")
    return pd.DataFrame([{"participant_id": j["pid"], "video_id": j["vid"], "ok": r["ok"],
                          "error": r.get("error", "")} for j, r in zip(jobs, res)])


SELECT_COLUMNS = ["participant_id", "video_id", "frame", "valid", "valence", "arousal"]


def select_streamed(run: RunFolder, labels: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame,
                                                                  pd.DataFrame]:
    """Select frames and test subsets reading one video's frame table at a time.

    The rules of SPEC §3 are per video (top-k within the video, test subsets per
    video with a per-video random stream), so selecting video by video is exact:
    the result equals one :func:`select_frames` / :func:`build_test_subsets` call
    on the whole frame table, while at most one video's frames (only the
    columns selection reads) are held.

    Returns
    -------
    dataset, shortfall, subsets : DataFrame
        As :func:`select_frames` and :func:`build_test_subsets`.
    valid : DataFrame
        participant_id, video_id, frame of every valid frame when
        ``select.store_crops`` is ``all`` (else empty).
    """
    from eifer.affect import iter_estimates

    cfg = run.config.select
    selected, subsets, valid, unlabeled = [], [], [], []
    for frames in iter_estimates(run.root, columns=SELECT_COLUMNS):
        pid, vid = str(frames["participant_id"].iloc[0]), str(frames["video_id"].iloc[0])
        unl = unlabeled_videos(frames, labels)
        if len(unl):  # named all at once, as one call on the whole table would
            unlabeled.append(unl)
            continue
        selected.append(select_frames(frames, labels, cfg.n_arousal, cfg.n_valence))
        subsets.append(((pid, vid), build_test_subsets(frames, labels, cfg.n_test_frames, cfg.ambiguity_tau,
                                                       run.config.seed)))
        if cfg.store_crops == "all":
            ok = frames["frame"].to_numpy()[frames["valid"].astype(bool).to_numpy()]
            valid.append(pd.DataFrame({"participant_id": pid, "video_id": vid, "frame": ok}))
    if unlabeled:
        raise unlabeled_error(pd.concat(unlabeled, ignore_index=True))
    if not selected:
        raise EiferError(f"{run.path('frames')}: no frame tables; run `eifer frames` first")
    dataset, shortfall = combine_videos(selected)
    keep = pd.concat(valid, ignore_index=True) if valid else pd.DataFrame(columns=["participant_id", "video_id",
                                                                                   "frame"])
    return dataset, shortfall, combine_subsets(subsets), keep


def run_select(study: Study, run: RunFolder) -> list[str]:
    """The ``select`` stage.

    Reads the frame tables with their estimates one video at a time
    (:func:`eifer.affect.iter_estimates`, :func:`select_streamed`: the driver
    never holds the study's frames) and ``RUN/labels.csv``; writes
    ``dataset.parquet``, ``test_subsets.parquet``, ``select_shortfall.csv``,
    crops (per ``select.store_crops``) and ``figures/figure4.png``.

    Parameters
    ----------
    study : eifer.study.Study
    run : eifer.runfolder.RunFolder

    Returns
    -------
    list of str (outputs relative to RUN)
    """
    cfg = run.config.select
    labels = read_csv(run.require("labels.csv", stage="labels"))
    dataset, shortfall, subsets, valid = select_streamed(run, labels)
    mode = cfg.store_crops
    if mode == "none":
        dataset["crop_path"] = ""
        subsets["crop_path"] = ""
    else:
        wanted = pd.concat([dataset, subsets])[["participant_id", "video_id", "frame"]]
        if mode == "all":
            wanted = pd.concat([wanted, valid])
        status = store_crops(run, study, wanted.drop_duplicates())
        for r in status[~status["ok"]].itertuples():
            run.log("crops_failed", participant_id=r.participant_id, video_id=r.video_id, error=r.error)
            raise EiferError(f"crops of participant {r.participant_id} video {r.video_id}: {r.error}")
    write_parquet(run.path("dataset.parquet"), dataset)
    write_parquet(run.path("test_subsets.parquet"), subsets)
    write_csv(run.path("select_shortfall.csv"), shortfall)
    short = shortfall[(shortfall["shortfall_arousal"] > 0) | (shortfall["shortfall_valence"] > 0)]
    run.log("select", frames=len(dataset), videos=len(shortfall), videos_short=len(short))
    plot_figure4(dataset, run.path("figures", "figure4.png"))
    return ["dataset.parquet", "test_subsets.parquet", "select_shortfall.csv", "figures/figure4.png"]
