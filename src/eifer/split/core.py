"""Participant-disjoint splits (paper §3.2.2, SPEC §3).

* one fixed test set of ``n_test_high`` High-EI + ``n_test_low`` Low-EI
  participants (seeded, or listed in the config), shared by every experiment;
* per training composition (High, Low, Total), task and repetition a
  stratified group split of the remaining participants into train/validation
  (``StratifiedGroupKFold``; repetition k takes fold k of one shuffled k-fold,
  so the first repetitions have disjoint validation sets), stratified on the
  task's frame labels.

``splits.json`` records the seed, the test participants and every
train/validation list with its seed; :func:`check_splits` asserts that they
are disjoint.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from eifer._validation import require_columns
from eifer.config import DEFAULTS
from eifer.errors import EiferError

GROUPS = ("High", "Low", "Total")
TASKS = ("arousal", "valence")
_DATASET_COLUMNS = ("participant_id", "video_id", "frame", "crop_path", "valence", "arousal",
                    "arousal_label", "valence_label")


def validate_dataset(dataset: pd.DataFrame, file: str = "dataset.parquet") -> pd.DataFrame:
    """Check a ``dataset.parquet`` table and return it with string ids.

    Parameters
    ----------
    dataset : DataFrame
        One row per selected frame (docs/interfaces.md).
    file : str
        Name used in error messages.

    Returns
    -------
    DataFrame
        The same rows, ``participant_id``/``video_id`` as str, labels as int.

    Examples
    --------
    >>> df = pd.DataFrame({"participant_id": [1], "video_id": ["v"], "frame": [0], "crop_path": ["a.png"],
    ...     "valence": [0.5], "arousal": [-0.2], "arousal_label": [0], "valence_label": [1]})
    >>> validate_dataset(df).participant_id.tolist()
    ['1']
    """
    require_columns(dataset, _DATASET_COLUMNS, file)
    df = dataset.copy()
    df["participant_id"] = df["participant_id"].astype(str)
    df["video_id"] = df["video_id"].astype(str)
    for task in TASKS:
        col = f"{task}_label"
        bad = ~df[col].isin([0, 1, True, False])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise EiferError(f"{file}: row {i + 1}: {col} must be 0 or 1, got {df[col].iloc[i]!r}")
        df[col] = df[col].astype(int)
        est = pd.to_numeric(df[task], errors="coerce")
        if est.isna().any():
            i = int(np.flatnonzero(est.isna().to_numpy())[0])
            raise EiferError(f"{file}: row {i + 1}: {task} estimate is missing or not a number")
        df[task] = est.astype(float)
    return df


def validate_groups(groups: pd.DataFrame, file: str = "groups.csv") -> dict[str, str]:
    """Return ``{participant_id: "High"|"Low"}`` from a ``groups.csv`` table."""
    require_columns(groups, ("participant_id", "group"), file)
    out: dict[str, str] = {}
    for i, (pid, grp) in enumerate(zip(groups["participant_id"].astype(str), groups["group"]), start=2):
        if grp not in ("High", "Low"):
            raise EiferError(f"{file}: line {i}: group must be High or Low, got {grp!r}")
        if pid in out:
            raise EiferError(f"{file}: line {i}: participant {pid!r} listed twice")
        out[pid] = grp
    return out


def choose_testset(group_of: dict[str, str], participants: list[str], n_high: int = DEFAULTS.split.n_test_high,
                   n_low: int = DEFAULTS.split.n_test_low, seed: int = 0, listed: list[str] | None = None) -> list[str]:
    """Pick the fixed test participants: ``n_high`` High + ``n_low`` Low, seeded.

    Parameters
    ----------
    group_of : dict
        participant -> "High"/"Low" (from groups.csv).
    participants : list of str
        Participants that have selected frames.
    n_high, n_low : int
        How many of each group; at least 2 more of each must remain (train and
        validation of that group's own composition).
    seed : int
        Seed of the draw (the same seed gives the same test set for every experiment).
    listed : list of str, optional
        Use these participants instead of drawing (config ``split.test_participants``).

    Returns
    -------
    list of str
        Sorted participant ids.

    Examples
    --------
    >>> g = {"a": "High", "b": "High", "c": "High", "d": "Low", "e": "Low", "f": "Low"}
    >>> len(choose_testset(g, list(g), 1, 1, seed=1))  # each group keeps 2 for train and validation
    2
    """
    known = set(participants)
    if listed:
        unknown = [p for p in listed if p not in known or p not in group_of]
        if unknown:
            raise EiferError(f"config split.test_participants: {unknown} have no selected frames "
                             "or no EI group (groups.csv)")
        return sorted(str(p) for p in listed)
    rng = np.random.default_rng(seed)
    chosen: list[str] = []
    for grp, n in (("High", n_high), ("Low", n_low)):
        pool = sorted(p for p in known if group_of.get(p) == grp)
        if len(pool) < n + 2:  # leave one for training and one for validation (eifer.plan.minimum_study)
            key = f"split.n_test_{grp.lower()}"
            fix = (f"lower {key} to {len(pool) - 2}" if len(pool) - 2 >= 1 else
                   f"the {grp} group needs at least 3 participants: change the cutoff (cutoff.cutoff, "
                   f"cutoff.min_group_size) or add participants")
            raise EiferError(f"groups.csv: only {len(pool)} {grp}-EI participant(s) with selected frames; "
                             f"need {key} = {n} for the test set plus 2 for training and validation; {fix}")
        chosen += list(rng.choice(pool, size=n, replace=False))
    return sorted(chosen)


choose_testset.__test__ = False  # type: ignore[attr-defined]  # pytest reads it: not a test, whatever its name


def max_test_resamples(group_of: dict[str, str], participants: list[str], n_high: int = DEFAULTS.split.n_test_high,
                       n_low: int = DEFAULTS.split.n_test_low) -> int:
    """The largest ``split.test_resamples``: disjoint test sets need ``n_high`` new High and ``n_low`` new Low
    participants each, so K = min(High // n_high, Low // n_low) (participants with selected frames).

    Examples
    --------
    >>> g = {**{f"h{i}": "High" for i in range(7)}, **{f"l{i}": "Low" for i in range(5)}}
    >>> max_test_resamples(g, list(g), 2, 2)
    2
    """
    known = set(participants)
    n_h = sum(1 for p in known if group_of.get(p) == "High")
    n_l = sum(1 for p in known if group_of.get(p) == "Low")
    return min(n_h // max(n_high, 1), n_l // max(n_low, 1))


def choose_testsets(group_of: dict[str, str], participants: list[str], n_high: int = DEFAULTS.split.n_test_high,
                    n_low: int = DEFAULTS.split.n_test_low, seed: int = 0, resamples: int = 1) -> list[list[str]]:
    """``resamples`` disjoint test sets of ``n_high`` High + ``n_low`` Low participants (``split.test_resamples``).

    Test set 0 is :func:`choose_testset`'s draw (the paper's fixed test set); test set k >= 1 is drawn,
    stratified by group, from the participants no earlier set holds, with ``numpy.random.default_rng([seed,
    k])``. So the sets are disjoint (each resample tests other people), deterministic, and the first K of
    K + 1 sets are the K sets.

    Parameters
    ----------
    group_of, participants, n_high, n_low, seed :
        As for :func:`choose_testset`.
    resamples : int
        K, at most :func:`max_test_resamples`.

    Returns
    -------
    list of list of str
        K sorted lists of participant ids.

    Examples
    --------
    >>> g = {**{f"h{i}": "High" for i in range(5)}, **{f"l{i}": "Low" for i in range(4)}}
    >>> sets = choose_testsets(g, list(g), 2, 2, seed=0, resamples=2)
    >>> sets[0] == choose_testset(g, list(g), 2, 2, seed=0), set(sets[0]) & set(sets[1])
    (True, set())
    """
    first = choose_testset(group_of, participants, n_high, n_low, seed)
    k_max = max_test_resamples(group_of, participants, n_high, n_low)
    if resamples > k_max:
        raise EiferError(f"config split.test_resamples = {resamples}: disjoint test sets of {n_high} High + {n_low} "
                         f"Low participants allow at most {k_max} here (High // split.n_test_high, Low // "
                         f"split.n_test_low); lower split.test_resamples to {k_max} or the test set sizes")
    sets, used = [first], set(first)
    known = set(participants)
    for k in range(1, resamples):
        rng = np.random.default_rng([int(seed), k])
        chosen: list[str] = []
        for grp, n in (("High", n_high), ("Low", n_low)):
            pool = sorted(p for p in known - used if group_of.get(p) == grp)
            chosen += list(rng.choice(pool, size=n, replace=False))
        sets.append(sorted(chosen))
        used |= set(chosen)
    return sets


def resample_count(splits: dict[str, Any]) -> int:
    """K: the test sets ``splits.json`` holds (1 when it has no ``resamples``: the paper's one fixed test set)."""
    return len(splits.get("resamples") or []) or 1


def run_test(splits: dict[str, Any], key: str) -> list[str]:
    """The test participants of run ``key`` of ``splits.json`` (its resample's, else the fixed ``test``)."""
    return list(splits["runs"][key].get("test", splits["test"]))


def train_val_split(frames: pd.DataFrame, label: str, val_fraction: float = DEFAULTS.split.val_fraction, rep: int = 0,
                    seed: int = 0) -> tuple[list[str], list[str]]:
    """Stratified group split of participants into train and validation.

    Repetition ``rep`` takes fold ``rep % k`` of a ``StratifiedGroupKFold`` with
    ``k = round(1 / val_fraction)`` (capped at the number of participants),
    shuffled with ``seed + rep // k``.

    Parameters
    ----------
    frames : DataFrame
        Frames of the composition's participants (participant_id and ``label``).
    label : str
        Column to stratify on (e.g. ``"arousal_label"``).
    val_fraction : float
        Share of participants for validation (0.2 = the paper's 8:2).
    rep, seed : int
        Repetition index and base seed.

    Returns
    -------
    (train, val) : lists of participant ids, disjoint.

    Examples
    --------
    >>> df = pd.DataFrame({"participant_id": [str(i // 4) for i in range(40)], "y": [i % 2 for i in range(40)]})
    >>> tr, va = train_val_split(df, "y", 0.2, rep=0, seed=0)
    >>> len(tr), len(va), set(tr) & set(va)
    (8, 2, set())
    """
    pids = frames["participant_id"].astype(str).to_numpy()
    n_part = len(np.unique(pids))
    if n_part < 2:
        raise EiferError(f"cannot split {n_part} participant(s) into train and validation")
    y = frames[label].to_numpy().astype(int)
    k0 = max(2, min(int(round(1.0 / val_fraction)), n_part))
    for train, val in _candidate_splits(y, pids, k0, rep, seed):
        # A threshold chosen on validation needs both classes there, and the
        # loss needs both in training; with few participants per group a fold
        # can hold one participant who rated every video alike, so move on to
        # the next fold (then a new shuffle, then fewer/larger folds).
        if _both_classes(y, pids, train) and _both_classes(y, pids, val):
            return train, val
    raise EiferError(f"cannot split {n_part} participant(s) on {label!r} so that train and validation "
                     "both hold both classes (too few participants with each label); "
                     "add participants or lower the number of test participants")


def _both_classes(y: np.ndarray, pids: np.ndarray, members: list[str]) -> bool:
    return np.unique(y[np.isin(pids, members)]).size == 2


def _candidate_splits(y: np.ndarray, pids: np.ndarray, k0: int, rep: int,
                      seed: int) -> Iterator[tuple[list[str], list[str]]]:
    """Splits in order of preference: fold ``rep % k`` of the paper's 8:2 k-fold
    first (the common case), then the other folds, further shuffles, and
    finally fewer folds (larger validation sets)."""
    for k in range(k0, 1, -1):
        for attempt in range(20 if k == k0 else 5):
            rs = int(seed + rep // k + 7919 * attempt) % (2**32)
            folds = list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=rs).split(
                np.zeros(len(y)), y, pids))
            for j in range(k):
                tr, va = folds[(rep + j) % k]
                yield sorted(set(pids[tr])), sorted(set(pids[va]))


def rep_seed(seed: int, rep: int, group: str | None = None) -> int:
    """Seed of repetition ``rep``: shared by all groups (``group`` None: repetitions pair up), or the
    group's own (``split.pairing: independent``)."""
    offset = 0 if group is None else 100_003 * (1 + sum(ord(c) * 31**i for i, c in enumerate(group)) % 9973)
    return int(seed) + 1009 * int(rep) + offset


def make_splits(dataset: pd.DataFrame, group_of: dict[str, str], *, seed: int, repetitions: int,
                n_test_high: int = DEFAULTS.split.n_test_high, n_test_low: int = DEFAULTS.split.n_test_low,
                test_participants: list[str] | None = DEFAULTS.split.test_participants,
                val_fraction: float = DEFAULTS.split.val_fraction,
                tasks: tuple[str, ...] | list[str] = tuple(DEFAULTS.train.tasks),
                pairing: str = DEFAULTS.split.pairing,
                test_resamples: int = DEFAULTS.split.test_resamples) -> dict[str, Any]:
    """All splits of a study: the fixed test set and per (group, task, rep) train/val lists.

    Parameters
    ----------
    dataset : DataFrame
        ``dataset.parquet`` rows.
    group_of : dict
        participant -> "High"/"Low".
    seed, repetitions : int
        Base seed and number of repetitions.
    n_test_high, n_test_low, test_participants, val_fraction :
        As in the ``split`` config section.
    tasks : sequence of str
        Tasks to split for.
    pairing : {"paired", "independent"}
        ``split.pairing``: repetition r of every group shares one seed (paired), or each group draws its own.
    test_resamples : int
        K (``split.test_resamples``): with K > 1 the whole split is repeated on K disjoint test sets
        (:func:`choose_testsets`); repetition r of resample k is ``rep`` = k × ``repetitions`` + r, and its run
        carries ``"resample": k`` and its ``"test"`` list; ``"resamples"`` lists the K test sets. ``"test"`` stays
        resample 0's set (transfer-CV uses it). K = 1 writes exactly the paper's layout.

    Returns
    -------
    dict
        ``{"seed", "test", "test_high", "test_low", "runs": {"<group>/<task>/rep<k>":
        {"group", "task", "rep", "seed", "train", "val"}}}`` (the content of splits.json).
    """
    if pairing not in ("paired", "independent"):
        raise EiferError(f"make_splits: pairing must be 'paired' or 'independent', got {pairing!r}")
    df = validate_dataset(dataset)
    participants = sorted(df["participant_id"].unique())
    no_group = [p for p in participants if p not in group_of]
    if no_group:
        raise EiferError(f"groups.csv: no EI group for participant(s) {no_group} that have selected frames")
    if test_resamples > 1 and test_participants:
        raise EiferError("make_splits: test_resamples > 1 draws its test sets; it cannot be combined with "
                         "test_participants (config split.test_participants)")
    tests = ([choose_testset(group_of, participants, n_test_high, n_test_low, seed, test_participants)]
             if test_resamples == 1 else
             choose_testsets(group_of, participants, n_test_high, n_test_low, seed, test_resamples))
    runs: dict[str, dict[str, Any]] = {}
    for k, test_k in enumerate(tests):
        rest = df[~df["participant_id"].isin(test_k)]
        for group in GROUPS:
            frames = rest if group == "Total" else rest[rest["participant_id"].map(group_of) == group]
            for task in tasks:
                for r in range(repetitions):
                    rep = k * repetitions + r  # unique over resamples: models, seeds and tables key on rep
                    s = rep_seed(seed, rep, None if pairing == "paired" else group)
                    base = seed if pairing == "paired" else s - 1009 * rep  # the group's own base seed
                    try:
                        train, val = train_val_split(frames, f"{task}_label", val_fraction, rep, base)
                    except EiferError as exc:  # name the group and the settings that leave it too small
                        raise EiferError(f"split of the {group} group, task {task}: {exc} (split.n_test_high = "
                                         f"{n_test_high}, split.n_test_low = {n_test_low}, split.val_fraction = "
                                         f"{val_fraction}; see docs/study-folder.md, 'How many participants')"
                                         ) from exc
                    runs[f"{group}/{task}/rep{rep}"] = {"group": group, "task": task, "rep": rep, "seed": s,
                                                        "train": train, "val": val}
                    if test_resamples > 1:
                        runs[f"{group}/{task}/rep{rep}"] |= {"resample": k, "test": test_k}
    test = tests[0]
    out: dict[str, Any] = {"seed": int(seed), "test": test,
                           "test_high": [p for p in test if group_of[p] == "High"],
                           "test_low": [p for p in test if group_of[p] == "Low"], "runs": runs}
    if test_resamples > 1:
        out["resamples"] = [{"resample": k, "test": t, "test_high": [p for p in t if group_of[p] == "High"],
                             "test_low": [p for p in t if group_of[p] == "Low"]} for k, t in enumerate(tests)]
    check_splits(out)
    return out


def check_splits(splits: dict[str, Any]) -> None:
    """Assert participant-disjointness of test, train and validation in every run."""
    for key, r in splits["runs"].items():
        test = set(r.get("test", splits["test"]))  # a resample's own test set, else the fixed one
        tr, va = set(r["train"]), set(r["val"])
        for a, b, what in ((tr, va, "train/val"), (tr, test, "train/test"), (va, test, "val/test")):
            if a & b:
                raise EiferError(f"splits.json: run {key}: {what} share participant(s) {sorted(a & b)}")
        if not tr or not va:
            raise EiferError(f"splits.json: run {key}: empty train or validation set")


def load_splits(path: str | Path) -> dict[str, Any]:
    """Read and check ``splits.json``."""
    import json

    path = Path(path)
    if not path.is_file():
        raise EiferError(f"{path}: not found; run `eifer split` first")
    splits = json.loads(path.read_text())
    check_splits(splits)
    return splits
