"""Sign-congruent frame selection and the unambiguous / ambiguous test subsets (SPEC §3).

Pure functions on DataFrames; :mod:`eifer.select.stage` adds files and crops.
"""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from eifer._validation import require_columns
from eifer.config import DEFAULTS
from eifer.errors import EiferError

TASKS = ("arousal", "valence")
LABEL_COLUMNS = ["arousal_label", "valence_label", "arousal_weak", "valence_weak"]
ROW_COLUMNS = ["participant_id", "video_id", "frame", "crop_path", "valence", "arousal", *LABEL_COLUMNS]


def crop_relpath(participant_id: str, video_id: str, frame: int) -> str:
    """``crops/<participant>/<video>/<frame>.png`` (relative to RUN)."""
    return f"crops/{participant_id}/{video_id}/{int(frame)}.png"


def _join_labels(frames: pd.DataFrame, labels: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Usable frames (valid, both estimates) joined with their video's labels; and the videos left unlabeled."""
    require_columns(frames, ("participant_id", "video_id", "frame", "valid", "valence", "arousal"), "frame table",
                    "; run `eifer frames` and `eifer affect`")
    need_l = ["participant_id", "video_id", *LABEL_COLUMNS]
    require_columns(labels, need_l, "labels.csv")
    lab = labels[need_l].astype({"participant_id": str, "video_id": str})
    f = frames[frames["valid"].astype(bool) & frames["valence"].notna() & frames["arousal"].notna()]
    f = f[["participant_id", "video_id", "frame", "valence", "arousal"]].astype({"participant_id": str,
                                                                              "video_id": str})
    out = f.merge(lab, on=["participant_id", "video_id"], how="left", validate="many_to_one")
    return out, out[out["arousal_label"].isna()][["participant_id", "video_id"]].drop_duplicates()


def unlabeled_videos(frames: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """participant_id, video_id of the videos whose usable frames have no labels (what :func:`select_frames` refuses).

    Examples
    --------
    >>> import pandas as pd
    >>> fr = pd.DataFrame({"participant_id": "P1", "video_id": ["V1", "V9"], "frame": 0, "valid": True,
    ...                    "valence": .5, "arousal": .5})
    >>> lab = pd.DataFrame({"participant_id": ["P1"], "video_id": ["V1"], "arousal_label": [1],
    ...                     "valence_label": [1], "arousal_weak": [False], "valence_weak": [False]})
    >>> unlabeled_videos(fr, lab).video_id.tolist()
    ['V9']
    """
    return _join_labels(frames, labels)[1]


def _with_labels(frames: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Usable frames (valid, both estimates) joined with their video's labels."""
    out, unlabeled = _join_labels(frames, labels)
    if len(unlabeled):
        raise unlabeled_error(unlabeled)
    for t in TASKS:
        # nullable: a neutral rating without weak labelling has no label for that task
        out[f"{t}_label"] = out[f"{t}_label"].astype("Int64")
        out[f"{t}_weak"] = out[f"{t}_weak"].astype(bool)
    return out


def unlabeled_error(unlabeled: pd.DataFrame) -> EiferError:
    """The error for videos with usable frames but no row in ``labels.csv`` (participant_id, video_id; first named)."""
    first = unlabeled.iloc[0]
    return EiferError(f"labels.csv: no labels for {len(unlabeled)} video(s) with frames, e.g. participant "
                      f"{first.participant_id!r} video {first.video_id!r}")


def combine_videos(parts: list[tuple[pd.DataFrame, pd.DataFrame]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join :func:`select_frames` results of single videos into the result of one call on all of them.

    The select stage reads and selects one video at a time (the rules of
    SPEC §3 are per video, so the result is exact); this puts the pieces in the
    order one call on the whole frame table gives (by participant, then video)
    with the same columns and types.

    Parameters
    ----------
    parts : list of (dataset, shortfall)
        One :func:`select_frames` result per video, in any order.

    Returns
    -------
    dataset, shortfall : DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> lab = pd.DataFrame({"participant_id": ["P1", "P1"], "video_id": ["V1", "V2"], "arousal_label": [1, 0],
    ...                     "valence_label": [1, 1], "arousal_weak": False, "valence_weak": False})
    >>> fr = pd.DataFrame({"participant_id": "P1", "video_id": ["V1"] * 2 + ["V2"] * 2, "frame": [0, 1, 0, 1],
    ...                    "valid": True, "valence": [.5, -.2, .9, .1], "arousal": [.8, .1, -.3, .2]})
    >>> each = [select_frames(g, lab, 1, 1) for _, g in fr.groupby("video_id")]
    >>> combine_videos(each[::-1])[0].equals(select_frames(fr, lab, 1, 1)[0])
    True
    """
    key = {}
    for ds, short in parts:
        for r in short.to_dict("records"):
            key[(str(r["participant_id"]), str(r["video_id"]))] = (ds, r)
    order = sorted(key)
    picked = [key[k][0] for k in order if len(key[k][0])]
    report = [key[k][1] for k in order]
    cols = [*ROW_COLUMNS, "selected_by"]
    ds = pd.concat(picked, ignore_index=True)[cols] if picked else pd.DataFrame(columns=cols)
    return ds.reset_index(drop=True), pd.DataFrame(report)


def combine_subsets(parts: list[tuple[tuple[str, str], pd.DataFrame]]) -> pd.DataFrame:
    """Join :func:`build_test_subsets` results of single videos, keyed (participant, video), as one call gives.

    Examples
    --------
    >>> import pandas as pd
    >>> lab = pd.DataFrame({"participant_id": ["P1", "P1"], "video_id": ["V1", "V2"], "arousal_label": [1, 0],
    ...                     "valence_label": [1, 1], "arousal_weak": False, "valence_weak": False})
    >>> fr = pd.DataFrame({"participant_id": "P1", "video_id": ["V1"] * 2 + ["V2"] * 2, "frame": [0, 1, 0, 1],
    ...                    "valid": True, "valence": [.5, -.2, .9, .1], "arousal": [.8, .1, -.3, .2]})
    >>> each = [(("P1", v), build_test_subsets(g, lab, n=1)) for v, g in fr.groupby("video_id")]
    >>> combine_subsets(each[::-1]).equals(build_test_subsets(fr, lab, n=1))
    True
    """
    cols = ["participant_id", "video_id", "frame", "task", "subset", "s", "crop_path", "valence", "arousal",
            *LABEL_COLUMNS]
    picked = [t for _, t in sorted(parts, key=lambda kt: kt[0]) if len(t)]
    if not picked:
        return pd.DataFrame(columns=cols)
    return pd.concat(picked, ignore_index=True)[cols].reset_index(drop=True)


def _direction(label: pd.Series) -> np.ndarray:
    """+1 for label 1, -1 for label 0, NaN for no label (then no frame is congruent)."""
    lab = label.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isnan(lab), np.nan, np.where(lab == 1, 1.0, -1.0))


def select_frames(frames: pd.DataFrame, labels: pd.DataFrame, n_arousal: int = DEFAULTS.select.n_arousal,
                  n_valence: int = DEFAULTS.select.n_valence) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pick the training frames of every video (paper §3.2.1, SPEC §3).

    Per video: among frames whose arousal sign matches the arousal label
    direction, the ``n_arousal`` largest |arousal|; then, among valence-congruent
    frames not yet taken, the ``n_valence`` largest |valence|. Ties break by
    frame number, so the result is deterministic.

    Parameters
    ----------
    frames : DataFrame
        Frame tables (``valid``, ``valence``, ``arousal``) of any number of videos.
    labels : DataFrame
        ``labels.csv`` rows: participant_id, video_id, arousal_label, valence_label,
        arousal_weak, valence_weak.
    n_arousal, n_valence : int

    Returns
    -------
    dataset : DataFrame
        One row per selected frame: participant_id, video_id, frame, crop_path,
        valence, arousal, labels, weak flags, selected_by.
    shortfall : DataFrame
        One row per video in ``frames``: n_usable, n_congruent_arousal,
        n_congruent_valence, n_arousal, n_valence, shortfall_arousal,
        shortfall_valence; a video without one usable frame (no face found)
        has ``n_usable`` 0 and the whole request short.

    Examples
    --------
    >>> import pandas as pd
    >>> fr = pd.DataFrame({"participant_id": "P1", "video_id": "V1", "frame": [0, 1, 2],
    ...                    "valid": True, "valence": [.5, -.2, .9], "arousal": [.8, .1, -.3]})
    >>> lab = pd.DataFrame({"participant_id": ["P1"], "video_id": ["V1"], "arousal_label": [1],
    ...                     "valence_label": [1], "arousal_weak": [False], "valence_weak": [False]})
    >>> ds, short = select_frames(fr, lab, n_arousal=1, n_valence=1)
    >>> ds[["frame", "selected_by"]].values.tolist()
    [[0, 'arousal'], [2, 'valence']]
    """
    data = _with_labels(frames, labels)
    picked, report = [], []
    for (pid, vid), g in data.groupby(["participant_id", "video_id"], sort=True):
        g = g.sort_values("frame")
        s_a = _direction(g["arousal_label"]) * g["arousal"].to_numpy()
        s_v = _direction(g["valence_label"]) * g["valence"].to_numpy()
        cong_a, cong_v = g[s_a > 0], g[s_v > 0]
        top_a = cong_a.assign(_m=cong_a["arousal"].abs()).sort_values(["_m", "frame"], ascending=[False, True],
                                                                      kind="stable").head(n_arousal)
        rest_v = cong_v[~cong_v["frame"].isin(top_a["frame"])]
        top_v = rest_v.assign(_m=rest_v["valence"].abs()).sort_values(["_m", "frame"], ascending=[False, True],
                                                                      kind="stable").head(n_valence)
        picked += [top_a.assign(selected_by="arousal"), top_v.assign(selected_by="valence")]
        report.append({"participant_id": pid, "video_id": vid, "n_usable": len(g),
                       "n_congruent_arousal": len(cong_a), "n_congruent_valence": len(cong_v),
                       "n_arousal": len(top_a), "n_valence": len(top_v),
                       "shortfall_arousal": n_arousal - len(top_a), "shortfall_valence": n_valence - len(top_v)})
    # a video with frames but not one usable (no face found, every frame filtered) is named, not skipped
    have = {(r["participant_id"], r["video_id"]) for r in report}
    for pid, vid in frames[["participant_id", "video_id"]].astype(str).drop_duplicates().itertuples(index=False):
        if (pid, vid) not in have:
            report.append({"participant_id": pid, "video_id": vid, "n_usable": 0, "n_congruent_arousal": 0,
                           "n_congruent_valence": 0, "n_arousal": 0, "n_valence": 0,
                           "shortfall_arousal": n_arousal, "shortfall_valence": n_valence})
    report = sorted(report, key=lambda r: (r["participant_id"], r["video_id"]))
    cols = [*ROW_COLUMNS, "selected_by"]
    if not picked:
        return pd.DataFrame(columns=cols), pd.DataFrame(report)
    ds = pd.concat(picked, ignore_index=True).drop(columns="_m")
    ds["crop_path"] = [crop_relpath(p, v, f) for p, v, f in zip(ds.participant_id, ds.video_id, ds.frame)]
    return ds[cols].reset_index(drop=True), pd.DataFrame(report)


def _rng(seed: int, *key: str) -> np.random.Generator:
    # Per-(video, task) stream: the sample does not depend on which other videos exist.
    return np.random.default_rng([seed % (2**32), zlib.crc32("/".join(key).encode())])


def build_test_subsets(frames: pd.DataFrame, labels: pd.DataFrame, n: int = DEFAULTS.select.n_test_frames,
                       tau: float = DEFAULTS.select.ambiguity_tau, seed: int = DEFAULTS.seed) -> pd.DataFrame:
    """Unambiguous and ambiguous test frames for every video and task (SPEC §3).

    With ``s = direction × estimate`` (direction +1 for label 1, −1 for label 0):
    unambiguous = the ``n`` frames with the largest ``s`` among ``s > 0``;
    ambiguous = ``n`` frames sampled (seeded) from ``s ≤ tau``, or, when fewer
    exist, the ``n`` lowest-``s`` frames not already unambiguous.

    Parameters
    ----------
    frames, labels : DataFrame
        As for :func:`select_frames`.
    n : int
    tau : float
    seed : int

    Returns
    -------
    DataFrame
        participant_id, video_id, frame, task, subset, s, crop_path, valence,
        arousal, labels and weak flags. Built for every participant; the split
        stage picks the test participants.

    Examples
    --------
    >>> import pandas as pd
    >>> fr = pd.DataFrame({"participant_id": "P1", "video_id": "V1", "frame": range(4),
    ...                    "valid": True, "valence": [.9, .5, .05, -.4], "arousal": [.1, .2, .3, .4]})
    >>> lab = pd.DataFrame({"participant_id": ["P1"], "video_id": ["V1"], "arousal_label": [1],
    ...                     "valence_label": [1], "arousal_weak": [False], "valence_weak": [False]})
    >>> t = build_test_subsets(fr, lab, n=1)
    >>> v = t[t.task == "valence"]
    >>> v.loc[v.subset == "unambiguous", "frame"].tolist()
    [0]
    >>> bool((v.loc[v.subset == "ambiguous", "s"] <= 0.1).all())  # sampled from s <= tau
    True
    """
    data = _with_labels(frames, labels)
    out = []
    for (pid, vid), g in data.groupby(["participant_id", "video_id"], sort=True):
        g = g.sort_values("frame")
        for task in TASKS:
            s = _direction(g[f"{task}_label"]) * g[task].to_numpy()
            if np.isnan(s).all():  # no label for this task: no test frames either
                continue
            gs = g.assign(task=task, s=s)
            unamb = gs[gs["s"] > 0].sort_values(["s", "frame"], ascending=[False, True], kind="stable").head(n)
            rest = gs[~gs["frame"].isin(unamb["frame"])]
            pool = rest[rest["s"] <= tau]
            if len(pool) >= n:
                amb = pool.iloc[np.sort(_rng(seed, pid, vid, task).choice(len(pool), n, replace=False))]
            else:
                amb = rest.sort_values(["s", "frame"], kind="stable").head(n)
            out += [unamb.assign(subset="unambiguous"), amb.assign(subset="ambiguous")]
    cols = ["participant_id", "video_id", "frame", "task", "subset", "s", "crop_path", "valence", "arousal",
            *LABEL_COLUMNS]
    if not out:
        return pd.DataFrame(columns=cols)
    res = pd.concat(out, ignore_index=True)
    res["crop_path"] = [crop_relpath(p, v, f) for p, v, f in zip(res.participant_id, res.video_id, res.frame)]
    return res[cols].reset_index(drop=True)
