"""The ``affect`` stage: valence/arousal per face frame into its own tables, ``RUN/affect/<pid>/<vid>.parquet``.

The frame tables (``RUN/frames/``) belong to the frames stage and are only
read here. Each affect table has one row per frame of its frame table:
``participant_id``, ``video_id``, ``frame``, ``valence``, ``arousal`` and
``affect_source`` (the estimator's key). Every frame with a face crop
(``landmarks_found``: valid *or dropped*) gets an estimate, so what the
evaluator says on a crying or half-covered face stays visible; the frame
table's ``valid`` sits beside it and selection, alignment and the statistics
use the valid frames only. Frames without a face crop are NaN.

* ``geometry``: computed from the stored ``geo_*`` columns, per participant
  (no video is decoded again);
* image estimators: normally already computed in-stream by the frames stage
  (``est_valence``/``est_arousal``, tagged ``affect_source`` = the estimator's
  key, which covers the model, its settings and the crop geometry
  ``affect.crop_*``): they are copied. Videos estimated with another
  model/settings, or with a valid frame the stream did not estimate, are
  estimated again by decoding the video once more and cutting crops only for
  the valid frames (:func:`estimate_video`).

Downstream code reads the estimates through :func:`read_estimates`, the one
reader of ``RUN/affect/``: the frame tables with these columns joined in.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eifer.errors import EiferError
from eifer.io import write_parquet

if TYPE_CHECKING:
    from eifer.runfolder import RunFolder
    from eifer.study import Study

ESTIMATE_COLUMNS = ["valence", "arousal", "affect_source"]
_IDS = ["participant_id", "video_id", "frame"]


def affect_part_path(run_root: str | Path, participant_id: str, video_id: str) -> Path:
    """``RUN/affect/<participant>/<video>.parquet``.

    Examples
    --------
    >>> affect_part_path("run", "P01", "V1").as_posix()
    'run/affect/P01/V1.parquet'
    """
    return Path(run_root, "affect", str(participant_id), f"{video_id}.parquet")


def has_face_crop(frames: pd.DataFrame) -> np.ndarray:
    """Which frames get an estimate: those with a face crop (``landmarks_found``), valid or dropped.

    Frame tables without ``landmarks_found`` (hand-made ones) fall back to ``valid``.

    Examples
    --------
    >>> import pandas as pd
    >>> has_face_crop(pd.DataFrame({"valid": [True, False], "landmarks_found": [True, True]})).tolist()
    [True, True]
    """
    col = "landmarks_found" if "landmarks_found" in frames.columns else "valid"
    return frames[col].fillna(False).astype(bool).to_numpy()


def affect_table(frames: pd.DataFrame, valence: Any, arousal: Any, key: str) -> pd.DataFrame:
    """The affect table of one frame table: ids, frame, estimates (NaN where no face crop), ``affect_source``.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"participant_id": "P01", "video_id": "V1", "frame": [0, 1, 2],
    ...                   "valid": [True, False, False], "landmarks_found": [True, True, False]})
    >>> affect_table(f, [0.5, 0.7, 0.1], [0.1, 0.2, 0.3], "k")[["valence", "affect_source"]].to_dict("list")
    {'valence': [0.5, 0.7, nan], 'affect_source': ['k', 'k', 'k']}
    """
    out = frames[[c for c in _IDS if c in frames.columns]].reset_index(drop=True)
    crop = has_face_crop(frames)
    for name, values in (("valence", valence), ("arousal", arousal)):
        v = np.asarray(values, dtype=np.float64).copy()
        v[~crop] = np.nan
        out[name] = v
    out["affect_source"] = key
    return out


def estimates_current(table: pd.DataFrame | None, frames: pd.DataFrame, key: str) -> bool:
    """Whether a stored affect table still fits its frame table and estimator.

    Same frames, the same estimator ``key``, and an estimate exactly for the frames with a face crop.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"frame": [0, 1], "valid": [True, False]})
    >>> t = affect_table(f, [0.5, 0.5], [0.1, 0.1], "k")
    >>> estimates_current(t, f, "k"), estimates_current(t, f, "other")
    (True, False)
    >>> estimates_current(t, f.assign(valid=True), "k")  # a frame gained a face crop: estimate again
    False
    """
    if table is None or len(table) != len(frames):
        return False
    if not np.array_equal(table["frame"].to_numpy(), frames["frame"].to_numpy()):
        return False
    has = table["valence"].notna().to_numpy() & table["arousal"].notna().to_numpy()
    return bool((table["affect_source"] == key).all() and np.array_equal(has, has_face_crop(frames)))


def in_stream_table(frames: pd.DataFrame, key: str) -> pd.DataFrame | None:
    """The affect table from the frames stage's in-stream estimates, or None when they are not for ``key``.

    They are used when every frame is tagged with ``key`` and every frame
    with a face crop has an estimate.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> f = pd.DataFrame({"frame": [0, 1], "valid": [True, False], "est_valence": [0.4, 0.3],
    ...                   "est_arousal": [0.2, 0.1], "affect_source": "k"})
    >>> in_stream_table(f, "k")["valence"].tolist(), in_stream_table(f, "x") is None
    ([0.4, nan], True)
    """
    if not len(frames) or "est_valence" not in frames or not (frames["affect_source"] == key).all():
        return None
    if (has_face_crop(frames) & (frames["est_valence"].isna() | frames["est_arousal"].isna()).to_numpy()).any():
        return None
    return affect_table(frames, frames["est_valence"], frames["est_arousal"], key)


def estimate_video(path: str | Path, frames: pd.DataFrame, estimator: Any,
                   report: Callable | None = None) -> pd.DataFrame:
    """Estimate valence/arousal for the face frames (valid or dropped) of one video by re-reading just those frames.

    The crops are cut by :func:`eifer.frames.crop.estimator_crop` (the
    estimator's input size and crop geometry), as in the frames stage's
    decode pass.

    Parameters
    ----------
    path : path-like
        The video the frame table came from.
    frames : DataFrame
        Its frame table (``frame``, ``valid``, ``landmarks_found``, eye centres).
    estimator : image estimator
    report : callable, optional
        ``report(done, total)`` for progress bars.

    Returns
    -------
    DataFrame
        The affect table (:func:`affect_table`): ids, ``frame``, ``valence``,
        ``arousal``, ``affect_source``.
    """
    from eifer.frames import read_frames_at
    from eifer.frames.crop import estimator_crop

    todo = frames[has_face_crop(frames)].set_index("frame")
    crops, rows = [], []
    for n, (idx, rgb) in enumerate(read_frames_at(path, todo.index)):
        r = todo.loc[idx]
        crops.append(estimator_crop(rgb, (r.eye_lx, r.eye_ly), (r.eye_rx, r.eye_ry), estimator))
        rows.append(idx)
        if report is not None and n % 60 == 0:
            report(n, len(todo))
    if len(rows) != len(todo):
        raise EiferError(f"{path}: only {len(rows)} of {len(todo)} face frames could be read again")
    va = estimator.predict(np.stack(crops)) if crops else np.zeros((0, 2))
    by_frame = dict(zip(rows, va))
    est = np.array([by_frame.get(f, (np.nan, np.nan)) for f in frames["frame"]], dtype=np.float64).reshape(-1, 2)
    return affect_table(frames, est[:, 0], est[:, 1], estimator.key)


def _estimate_job(job: dict[str, Any], report: Callable) -> dict[str, Any]:
    """Pool worker: estimate one video again and write its affect table."""
    from eifer.affect import estimator_from_config
    from eifer.config import AffectConfig

    est = estimator_from_config(AffectConfig.model_validate(job["affect_cfg"]))
    table = estimate_video(job["path"], job["frames"], est, report)
    write_parquet(job["out"], table)
    return {"frames": int(table["valence"].notna().sum())}


def _read_table(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        return pd.read_parquet(path)
    except Exception:  # a broken table is estimated again
        return None


def run_affect(study: Study, run: RunFolder) -> list[str]:
    """The ``affect`` stage (see module docstring): ``RUN/affect/<pid>/<vid>.parquet`` for every frame table.

    Parameters
    ----------
    study : eifer.study.Study
    run : eifer.runfolder.RunFolder

    Returns
    -------
    list of str
        The affect tables (relative to RUN).

    Raises
    ------
    EiferError
        No frame tables, or videos that could not be estimated (named; the
        others are written and kept).
    """
    from eifer.affect import estimator_from_config
    from eifer.frames import part_path, read_frame_parts
    from eifer.frames.parallel import run_jobs

    cfg = run.config.affect
    est = estimator_from_config(cfg)
    key = est.key
    videos = {(str(v.participant_id), str(v.video_id)): v.path for v in study.videos().itertuples(index=False)
              if part_path(run, v.participant_id, v.video_id).exists()}
    if not videos:
        raise EiferError(f"{run.path('frames')}: no frame tables; run `eifer frames` first")
    jobs = []
    for pid in sorted({p for p, _ in videos}):
        frames = read_frame_parts(run.path("frames"), pid)
        per_video = {vid: frames[frames["video_id"] == vid].reset_index(drop=True)
                     for p, vid in sorted(videos) if p == pid}
        stored = {vid: _read_table(affect_part_path(run.root, pid, vid)) for vid in per_video}
        if all(estimates_current(stored[vid], f, key) for vid, f in per_video.items()):
            continue
        if not est.needs_images:  # geometry: references over all the participant's videos at once
            both = est.estimate(pd.concat(per_video.values(), ignore_index=True))
            for vid, f in per_video.items():
                rows = both[both["video_id"] == vid]
                write_parquet(affect_part_path(run.root, pid, vid),
                              affect_table(f, rows["valence"], rows["arousal"], key))
            continue
        for vid, f in per_video.items():
            if estimates_current(stored[vid], f, key):
                continue
            table = in_stream_table(f, key)
            if table is not None:
                write_parquet(affect_part_path(run.root, pid, vid), table)
                continue
            jobs.append({"key": f"{pid}/{vid}", "path": str(videos[(pid, vid)]),
                         "frames": f[["participant_id", "video_id", "frame", "valid",
                                      *(["landmarks_found"] if "landmarks_found" in f else []),
                                      "eye_lx", "eye_ly", "eye_rx", "eye_ry"]],
                         "out": str(affect_part_path(run.root, pid, vid)), "affect_cfg": cfg.model_dump(mode="json")})
    failed = []
    for r in run_jobs(_estimate_job, jobs, run.config.frames.n_jobs, desc="affect"):
        if not r["ok"]:
            run.log("affect_video_failed", video=r["key"], error=r["error"])
            failed.append(f"{r['key']}: {r['error']}")
    if failed:
        raise EiferError(f"affect: {len(failed)} video(s) could not be estimated (the others are kept): "
                         + "; ".join(failed))
    return [str(affect_part_path(run.root, pid, vid).relative_to(run.root)) for pid, vid in sorted(videos)]


def read_estimates(run_root: str | Path, participant_id: str | None = None,
                   columns: list[str] | None = None, video_id: str | None = None) -> pd.DataFrame:
    """The one reader of ``RUN/affect/``: the frame tables with ``valence``, ``arousal``, ``affect_source`` joined in.

    Parameters
    ----------
    run_root : path-like
        The run folder.
    participant_id : str, optional
        Only this participant's videos.
    columns : list of str, optional
        Only these columns (frame-table columns and/or the estimate columns), in this order.
    video_id : str, optional
        Only this video of ``participant_id``: one frame table, for readers that
        stream a large study video by video (:func:`iter_estimates`).

    Returns
    -------
    DataFrame
        Rows as :func:`eifer.frames.read_frame_parts` (path order); empty when
        no frame table exists.

    Raises
    ------
    EiferError
        A frame table without its affect table, or one that no longer matches
        it (``eifer affect`` makes them).

    Examples
    --------
    >>> read_estimates("/nonexistent").empty
    True
    """
    from eifer.frames import frame_part_paths, read_frame_parts

    root = Path(run_root)
    frame_cols = None
    if columns is not None:
        frame_cols = list(dict.fromkeys([*_IDS, *(c for c in columns if c not in ESTIMATE_COLUMNS)]))
    frames = read_frame_parts(root / "frames", participant_id, frame_cols, video_id)
    if frames.empty:
        return frames
    tables = []
    # the same parts, in the same order, as read_frame_parts read
    for part in frame_part_paths(root / "frames", participant_id, video_id):
        path = affect_part_path(root, part.parent.name, part.stem)
        if not path.exists():
            raise EiferError(f"{path}: no valence/arousal estimates for the frame table {part}; "
                             "run `eifer affect`")
        try:
            tables.append(pd.read_parquet(path, columns=["frame", *ESTIMATE_COLUMNS]))
        except Exception as exc:  # a corrupt table must name itself
            raise EiferError(f"{path}: cannot read affect table ({exc})") from exc
    est = pd.concat(tables, ignore_index=True)
    if len(est) != len(frames) or not np.array_equal(est["frame"].to_numpy(), frames["frame"].to_numpy()):
        raise EiferError(f"{root / 'affect'}: the affect tables do not match the frame tables (frames redone "
                         "since); run `eifer affect`")
    # the estimates take the place of the frame table's own estimate columns (the in-stream tag is replaced)
    for c in ("valence", "arousal"):  # in place: no second copy of a large study's table
        if c in frames.columns:
            del frames[c]
    at = next((c for c in ("est_valence", "affect_source") if c in frames.columns), None)
    pos = list(frames.columns).index(at) if at is not None else len(frames.columns)
    frames.insert(pos, "valence", est["valence"].to_numpy())
    frames.insert(pos + 1, "arousal", est["arousal"].to_numpy())
    frames["affect_source"] = est["affect_source"].to_numpy()
    return frames if columns is None else frames[list(columns)]


def iter_estimates(run_root: str | Path, columns: list[str] | None = None,
                   participant_id: str | None = None) -> Iterator[pd.DataFrame]:
    """The frame tables with their estimates, one video at a time (path order): :func:`read_estimates` streamed.

    Holds one video's frames at a time, so a reader of a large study (the select
    stage, the report, ``load_run(RUN).iter_data("frames")``) never holds the
    whole frame table. A table with no rows is skipped.

    Parameters
    ----------
    run_root : path-like
        The run folder.
    columns : list of str, optional
        Only these columns, as for :func:`read_estimates`.
    participant_id : str, optional
        Only this participant's videos.

    Yields
    ------
    DataFrame
        One video's rows, exactly as :func:`read_estimates` returns them for it.

    Examples
    --------
    >>> list(iter_estimates("/nonexistent"))
    []
    """
    from eifer.frames import frame_part_paths

    root = Path(run_root)
    for part in frame_part_paths(root / "frames", participant_id):
        table = read_estimates(root, part.parent.name, columns, video_id=part.stem)
        if len(table):
            yield table
