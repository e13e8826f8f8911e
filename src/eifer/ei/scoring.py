"""EI scoring (paper §2.2.1): 10 points per correct response, 0–1200.

3 tasks × 4 emotions × 10 stimuli; every task contributes at most 400 points.
A participant with missing trials is an error unless ``allow_incomplete``;
then every score is scaled to the trials answered (``total × expected /
answered``, per task and per emotion likewise) and the row is flagged
``incomplete=True`` (SPEC §3).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from eifer._validation import require_columns
from eifer.config import DEFAULTS
from eifer.errors import Problem, StudyValidationError

_REQUIRED = ("participant_id", "task", "emotion", "stimulus", "correct")


def _validate_responses(responses: pd.DataFrame, file: str) -> list[Problem]:
    problems: list[Problem] = []
    missing = [c for c in _REQUIRED if c not in responses.columns]
    if missing:
        return [Problem(file, f"missing column(s) {', '.join(missing)}")]
    correct = pd.to_numeric(responses["correct"], errors="coerce")
    for i in np.flatnonzero(~correct.isin([0, 1]).to_numpy()):
        problems.append(Problem(file, f"'correct' must be 0 or 1, got {responses['correct'].iat[i]!r}",
                                int(i) + 2, "correct"))
    key = ["participant_id", "task", "emotion", "stimulus"]
    dup = responses.duplicated(key, keep="first").to_numpy()
    for i in np.flatnonzero(dup):
        r = responses.iloc[i]
        problems.append(Problem(file, f"duplicated trial of participant {r.participant_id!r}: "
                                      f"task={r.task!r}, emotion={r.emotion!r}, stimulus={r.stimulus!r}",
                                int(i) + 2))
    return problems


def score_ei(
    responses: pd.DataFrame,
    tasks: Sequence[str] | None = None,
    emotions: Sequence[str] | None = None,
    n_stimuli: int = 10,
    points_per_correct: int = DEFAULTS.ei.points_per_correct,
    allow_incomplete: bool = DEFAULTS.ei.allow_incomplete,
    file: str = "ei_responses.csv",
) -> pd.DataFrame:
    """Score the EI assessment of every participant.

    Parameters
    ----------
    responses : DataFrame
        ``participant_id, task, emotion, stimulus, correct`` (0/1), one row per trial.
    tasks, emotions : sequence of str, optional
        The expected tasks and emotions (``study.yaml``); default: those observed.
    n_stimuli : int
        Stimuli per task × emotion (paper: 10, numbered 1..n).
    points_per_correct : int
        Points per correct response (paper: 10).
    allow_incomplete : bool
        Score participants with missing trials (scaled, flagged) instead of failing.
    file : str
        File name for error messages.

    Returns
    -------
    DataFrame
        ``participant_id, ei_score, score_<task>..., score_<emotion>...,
        n_answered, incomplete``, one row per participant, sorted by id.

    Examples
    --------
    >>> import itertools
    >>> rows = [("p1", t, e, s, int(s <= 5)) for t, e, s in
    ...         itertools.product(["self", "others", "disc"], ["a", "b", "c", "d"], range(1, 11))]
    >>> r = pd.DataFrame(rows, columns=["participant_id", "task", "emotion", "stimulus", "correct"])
    >>> score_ei(r).loc[0, ["ei_score", "score_self"]].tolist()
    [600.0, 200.0]
    """
    problems = _validate_responses(responses, file)
    if problems:
        raise StudyValidationError(problems)
    df = responses.copy()
    df["participant_id"] = df["participant_id"].astype(str)
    df["correct"] = pd.to_numeric(df["correct"]).astype(int)
    tasks = list(tasks) if tasks is not None else sorted(df["task"].unique())
    emotions = list(emotions) if emotions is not None else sorted(df["emotion"].unique())
    stimuli = list(range(1, n_stimuli + 1))
    unknown = []
    for col, allowed in (("task", tasks), ("emotion", emotions), ("stimulus", stimuli)):
        vals = pd.to_numeric(df[col], errors="coerce") if col == "stimulus" else df[col]
        for i in np.flatnonzero(~vals.isin(allowed).to_numpy()):
            unknown.append(Problem(file, f"unknown {col} {df[col].iat[i]!r} (expected one of {allowed})",
                                   int(i) + 2, col))
    if unknown:
        raise StudyValidationError(unknown)
    df["stimulus"] = pd.to_numeric(df["stimulus"]).astype(int)

    per_task_cell = len(emotions) * n_stimuli
    per_emotion_cell = len(tasks) * n_stimuli
    n_expected = len(tasks) * per_task_cell
    expected = pd.MultiIndex.from_product([tasks, emotions, stimuli])
    rows, problems = [], []
    for pid, g in df.groupby("participant_id", sort=True):
        have = pd.MultiIndex.from_frame(g[["task", "emotion", "stimulus"]])
        lacking = expected.difference(have)
        if len(lacking) and not allow_incomplete:
            shown = ", ".join(f"{t}/{e}/{s}" for t, e, s in list(lacking)[:5])
            more = f" and {len(lacking) - 5} more" if len(lacking) > 5 else ""
            problems.append(Problem(file, f"participant {pid!r} is missing {len(lacking)} trial(s) "
                                          f"(task/emotion/stimulus): {shown}{more}; set ei.allow_incomplete "
                                          f"to score the answered trials"))
            continue
        pts = g["correct"] * points_per_correct
        rec = {"participant_id": pid, "ei_score": pts.sum() * n_expected / len(g)}
        for t in tasks:
            sel = g["task"] == t
            rec[f"score_{t}"] = pts[sel].sum() * per_task_cell / sel.sum() if sel.any() else np.nan
        for e in emotions:
            sel = g["emotion"] == e
            rec[f"score_{e}"] = pts[sel].sum() * per_emotion_cell / sel.sum() if sel.any() else np.nan
        rec["n_answered"] = len(g)
        rec["incomplete"] = bool(len(lacking))
        rows.append(rec)
    if problems:
        raise StudyValidationError(problems)
    out = pd.DataFrame(rows)
    score_cols = [c for c in out.columns if c.startswith("score_") or c == "ei_score"]
    out[score_cols] = out[score_cols].astype(float)
    return out


def ei_scores_from_table(scores: pd.DataFrame, max_score: float = 1200,
                         file: str = "ei_scores.csv") -> pd.DataFrame:
    """Validate ``ei_scores.csv`` (scoring done elsewhere) into the ``score_ei`` layout.

    Parameters
    ----------
    scores : DataFrame
        ``participant_id, ei_score``.
    max_score : float
        Highest possible score (1200 in the paper).
    file : str
        File name for error messages.

    Returns
    -------
    DataFrame
        ``participant_id, ei_score, n_answered (NaN), incomplete (False)``.

    Examples
    --------
    >>> ei_scores_from_table(pd.DataFrame({"participant_id": [1], "ei_score": [830]})).ei_score.tolist()
    [830.0]
    """
    require_columns(scores, ("participant_id", "ei_score"), file)
    problems = []
    val = pd.to_numeric(scores["ei_score"], errors="coerce")
    for i in np.flatnonzero((val.isna() | (val < 0) | (val > max_score)).to_numpy()):
        problems.append(Problem(file, f"ei_score {scores['ei_score'].iat[i]!r} is not a number in 0–{max_score}",
                                int(i) + 2, "ei_score"))
    for i in np.flatnonzero(scores["participant_id"].astype(str).duplicated().to_numpy()):
        problems.append(Problem(file, f"duplicated participant {scores['participant_id'].iat[i]!r}", int(i) + 2))
    if problems:
        raise StudyValidationError(problems)
    return pd.DataFrame({"participant_id": scores["participant_id"].astype(str).to_numpy(),
                         "ei_score": val.astype(float).to_numpy(),
                         "n_answered": np.nan, "incomplete": False}).sort_values("participant_id",
                                                                                 ignore_index=True)
