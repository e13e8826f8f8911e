"""Alignment grouping (the paper's abstract): agreement of face and self-report.

A participant's *alignment* is the share of (valid frame, task) pairs whose
estimated sign (valence or arousal from the mechanical evaluator) agrees
with the direction of that video's self-report label. By default only
labels from a non-neutral rating count (a weak label comes from the
stimulus domain, not from the participant); an estimate of exactly 0 has
no sign and counts as disagreement. The result feeds the same cutoff sweep
as the EI score (``score_col="alignment"``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from eifer._validation import require_columns
from eifer.config import DEFAULTS
from eifer.errors import EiferError

if TYPE_CHECKING:
    from pathlib import Path

TASKS = ("arousal", "valence")


def alignment_scores(frames: pd.DataFrame, labels: pd.DataFrame,
                     include_weak: bool = DEFAULTS.cutoff.alignment_include_weak,
                     tasks: tuple[str, ...] = TASKS) -> pd.DataFrame:
    """Per-participant share of valid frames whose estimate sign matches the self-report.

    Parameters
    ----------
    frames : DataFrame
        Per-frame table: ``participant_id, video_id, valid`` and one column per task
        (``valence``, ``arousal`` in [-1, 1]).
    labels : DataFrame
        ``labels.csv``: ``participant_id, video_id, <task>_label, <task>_weak``.
    include_weak : bool
        Also count frames of videos whose label is weak (neutral rating; config
        ``cutoff.alignment_include_weak``).
    tasks : tuple of str

    Returns
    -------
    DataFrame
        ``participant_id, alignment, n_pairs, n_agree`` plus ``alignment_<task>``.
        ``alignment`` is NaN for a participant without any countable frame.

    Examples
    --------
    >>> fr = pd.DataFrame({"participant_id": "p1", "video_id": ["v1", "v1", "v1"], "valid": True,
    ...                    "arousal": [0.5, -0.2, 0.1], "valence": [0.3, 0.3, -0.1]})
    >>> lab = pd.DataFrame({"participant_id": ["p1"], "video_id": ["v1"], "arousal_label": [1],
    ...                     "valence_label": [1], "arousal_weak": [False], "valence_weak": [False]})
    >>> round(float(alignment_scores(fr, lab).alignment[0]), 3)
    0.667
    """
    require_columns(frames, ("participant_id", "video_id", "valid", *tasks), "alignment: frames table")
    require_columns(labels, ("participant_id", "video_id", *(f"{t}_label" for t in tasks),
                             *(f"{t}_weak" for t in tasks)), "alignment: labels table")
    f = frames.loc[frames["valid"].astype(bool), ["participant_id", "video_id", *tasks]].copy()
    f[["participant_id", "video_id"]] = f[["participant_id", "video_id"]].astype(str)
    lab = labels.copy()
    lab[["participant_id", "video_id"]] = lab[["participant_id", "video_id"]].astype(str)
    f = f.merge(lab, on=["participant_id", "video_id"], how="left", validate="many_to_one")
    pids = sorted(set(frames["participant_id"].astype(str)))
    agree_tot = pd.Series(0.0, index=pids)
    n_tot = pd.Series(0.0, index=pids)
    out = pd.DataFrame(index=pids)
    for t in tasks:
        label = pd.to_numeric(f[f"{t}_label"], errors="coerce")
        ok = label.notna() & f[t].notna()
        if not include_weak:
            ok &= ~f[f"{t}_weak"].fillna(True).astype(bool)
        direction = np.where(label == 1, 1.0, -1.0)
        agree = (np.sign(f[t].to_numpy(dtype=float)) == direction) & ok.to_numpy()
        a = pd.Series(agree, index=f.index).groupby(f["participant_id"]).sum().reindex(pids, fill_value=0)
        n = ok.groupby(f["participant_id"]).sum().reindex(pids, fill_value=0)
        out[f"alignment_{t}"] = (a / n.where(n > 0)).astype(float)
        agree_tot += a
        n_tot += n
    out.insert(0, "alignment", (agree_tot / n_tot.where(n_tot > 0)).astype(float))
    out.insert(1, "n_pairs", n_tot.astype(int))
    out.insert(2, "n_agree", agree_tot.astype(int))
    return out.rename_axis("participant_id").reset_index()


def read_frame_tables(run_root: str | Path) -> pd.DataFrame:
    """The frame tables with their estimates (:func:`eifer.affect.read_estimates`), only the columns alignment needs.

    Parameters
    ----------
    run_root : path-like

    Returns
    -------
    DataFrame
    """
    from pathlib import Path

    from eifer.affect import read_estimates

    frames = read_estimates(run_root, columns=["participant_id", "video_id", "valid", *TASKS])
    if frames.empty:
        raise EiferError(f"{Path(run_root, 'frames')}: no per-frame tables; run the frames and affect "
                         "stages before grouping by alignment")
    return frames
