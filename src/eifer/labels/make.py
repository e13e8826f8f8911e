"""Likert ratings → binary labels with weak labels for neutral ratings."""
from __future__ import annotations

import numpy as np
import pandas as pd

from eifer._validation import require_columns
from eifer.config import DEFAULTS
from eifer.errors import EiferError, Problem, StudyValidationError
from eifer.study.meta import STIMULUS_DOMAINS

DOMAINS = STIMULUS_DOMAINS  # one list: study.yaml domains are checked against it by validate
LABEL_COLUMNS = [
    "participant_id", "video_id", "domain", "arousal_rating", "valence_rating",
    "arousal_label", "valence_label", "arousal_weak", "valence_weak",
]


def domain_directions(domain: str) -> tuple[int, int]:
    """Arousal and valence direction (1 = high, 0 = low) of a stimulus domain.

    Parameters
    ----------
    domain : str
        One of HAHV, HALV, LAHV, LALV.

    Returns
    -------
    (int, int)
        ``(arousal, valence)``.

    Examples
    --------
    >>> domain_directions("HALV")
    (1, 0)
    """
    if domain not in DOMAINS:
        raise EiferError(f"unknown domain {domain!r}; expected one of {', '.join(DOMAINS)}")
    return int(domain[0] == "H"), int(domain[2] == "H")


def make_labels(
    ratings: pd.DataFrame,
    likert_min: float = 1,
    likert_max: float = 7,
    neutral: float | None = 4,
    weak_from_domain: bool = DEFAULTS.labels.weak_from_domain,
    file: str = "ratings.csv",
) -> pd.DataFrame:
    """Turn Likert ratings into binary labels, weak-labelling neutral ratings.

    Parameters
    ----------
    ratings : DataFrame
        ``participant_id, video_id, domain, arousal, valence``.
    likert_min, likert_max, neutral : float
        The rating scale and its neutral point (paper: 1, 7, 4; SAM: 1, 9, 5).
        ``neutral=None`` (a scale without a midpoint, e.g. 1–6): ratings are
        split at the scale's centre and no label is weak.
    weak_from_domain : bool
        True (paper): a neutral rating gets the label of the video's domain and
        ``<task>_weak=True``. False: neutral ratings get no label
        (``<task>_label`` is pandas ``<NA>``), so later stages skip that row for that task.
    file : str
        File name used in error messages.

    Returns
    -------
    DataFrame
        Columns of ``labels.csv`` (docs/interfaces.md); labels are nullable
        integers 0/1.

    Examples
    --------
    >>> r = pd.DataFrame({"participant_id": ["p1"], "video_id": ["v1"], "domain": ["HALV"],
    ...                   "arousal": [4], "valence": [6]})
    >>> make_labels(r)[["arousal_label", "arousal_weak", "valence_label", "valence_weak"]].values.tolist()
    [[1, True, 1, False]]
    """
    split = (likert_min + likert_max) / 2 if neutral is None else neutral
    if not likert_min < split < likert_max:
        raise EiferError(f"Likert scale {likert_min}–{likert_max} with neutral {neutral}: "
                         "neutral must lie strictly inside the scale")
    require_columns(ratings, ("participant_id", "video_id", "domain", "arousal", "valence"), file)
    problems: list[Problem] = []
    for i, row in enumerate(ratings.itertuples(index=False)):
        line = i + 2  # header is line 1
        if row.domain not in DOMAINS:
            problems.append(Problem(file, f"unknown domain {row.domain!r}", line, "domain"))
        for col in ("arousal", "valence"):
            v = getattr(row, col)
            if pd.isna(v) or not likert_min <= float(v) <= likert_max:
                problems.append(Problem(file, f"rating {v!r} outside the scale {likert_min}–{likert_max}",
                                        line, col))
    dup = ratings.duplicated(["participant_id", "video_id"], keep="first").to_numpy()
    for i in np.flatnonzero(dup):
        problems.append(Problem(file, f"duplicated rating of participant {ratings.participant_id.iat[i]!r} "
                                      f"for video {ratings.video_id.iat[i]!r}", int(i) + 2))
    if problems:
        raise StudyValidationError(problems)

    out = pd.DataFrame({
        "participant_id": ratings["participant_id"].astype(str).to_numpy(),
        "video_id": ratings["video_id"].astype(str).to_numpy(),
        "domain": ratings["domain"].to_numpy(),
        "arousal_rating": ratings["arousal"].to_numpy(),
        "valence_rating": ratings["valence"].to_numpy(),
    })
    dirs = np.array([domain_directions(d) for d in out["domain"]]).reshape(-1, 2)
    for k, task in enumerate(("arousal", "valence")):
        r = out[f"{task}_rating"].astype(float).to_numpy()
        weak = (r == neutral) if neutral is not None else np.zeros(len(r), dtype=bool)
        label = pd.array(np.where(r > split, 1, 0), dtype="Int64")
        if weak_from_domain:
            label[weak] = dirs[weak, k]
        else:
            label[weak] = pd.NA
        out[f"{task}_label"] = label
        out[f"{task}_weak"] = weak
    return out[LABEL_COLUMNS]
