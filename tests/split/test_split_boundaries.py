"""Split rules at their edges: unequal test counts per group, the last training participant, a vanished class."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eifer.errors import EiferError
from eifer.split import make_splits, train_val_split


def _dataset(n_high, n_low, frames=4):
    rows = []
    pids = [f"H{i}" for i in range(n_high)] + [f"L{i}" for i in range(n_low)]
    for pid in pids:
        for vid, (a, v) in {"HAHV": (1, 1), "HALV": (1, 0), "LAHV": (0, 1), "LALV": (0, 0)}.items():
            for f in range(frames):
                rows.append({"participant_id": pid, "video_id": vid, "frame": f, "crop_path": f"{pid}/{vid}/{f}.png",
                             "arousal": 2 * a - 1.0, "valence": 2 * v - 1.0, "arousal_label": a, "valence_label": v})
    return pd.DataFrame(rows), {p: ("High" if p[0] == "H" else "Low") for p in pids}


def test_unequal_test_counts_per_group():
    df, groups = _dataset(6, 6)
    for n_high, n_low in ((3, 1), (1, 3)):
        sp = make_splits(df, groups, seed=0, repetitions=1, n_test_high=n_high, n_test_low=n_low)
        assert len(sp["test_high"]) == n_high and len(sp["test_low"]) == n_low
        assert all(groups[p] == "High" for p in sp["test_high"])
        assert all(groups[p] == "Low" for p in sp["test_low"])


def test_test_set_leaves_exactly_two_participants_per_group_for_train_and_validation():
    df, groups = _dataset(4, 5)
    sp = make_splits(df, groups, seed=0, repetitions=1, n_test_high=2, n_test_low=3, tasks=("arousal",))
    assert len(sp["test_high"]) == 2 and len(sp["test_low"]) == 3      # 2 + 2 of each group remain
    assert all(len(sp["runs"][f"{g}/arousal/rep0"]["train"]) == 1 for g in ("High", "Low"))
    # one fewer and the group's own composition could not be split into train and validation
    with pytest.raises(EiferError, match=r"only 4 High-EI participant\(s\).*need split.n_test_high = 3 for the "
                                         r"test set plus 2 for training and validation; lower split.n_test_high to 2"):
        make_splits(df, groups, seed=0, repetitions=1, n_test_high=3, n_test_low=2)
    with pytest.raises(EiferError, match=r"only 5 Low-EI participant\(s\).*need split.n_test_low = 4 for the test set"):
        make_splits(df, groups, seed=0, repetitions=1, n_test_high=1, n_test_low=4)


def test_a_class_that_vanishes_from_a_composition_is_an_error_not_a_one_class_fit():
    # Low participants rated every video as high arousal: no class 0 to train or validate on
    df, groups = _dataset(5, 5)
    low = df["participant_id"].str.startswith("L")
    df.loc[low, "arousal_label"] = 1
    with pytest.raises(EiferError, match="both hold both classes"):
        make_splits(df, groups, seed=0, repetitions=1, n_test_high=1, n_test_low=1, tasks=("arousal",))
    # valence keeps both classes in every composition
    sp = make_splits(df, groups, seed=0, repetitions=2, n_test_high=1, n_test_low=1, tasks=("valence",))
    for r in sp["runs"].values():
        for members in (r["train"], r["val"]):
            assert df[df.participant_id.isin(members)]["valence_label"].nunique() == 2


def test_validation_never_holds_a_single_class_even_when_a_fold_would():
    rows = []
    for pid, labs in {"A": [1] * 4, "B": [0] * 4, "C": [1] * 4, "D": [0, 1, 0, 1], "E": [1, 0, 1, 0]}.items():
        rows += [{"participant_id": pid, "y": v} for v in labs]
    df = pd.DataFrame(rows)
    for rep in range(5):
        tr, va = train_val_split(df, "y", 0.2, rep=rep, seed=0)
        assert np.unique(df[df.participant_id.isin(va)].y).size == 2
        assert np.unique(df[df.participant_id.isin(tr)].y).size == 2


def test_training_that_would_lose_a_class_is_refused_even_when_validation_holds_both():
    # only participant A ever has class 0: with A in validation the training set has class 1 only,
    # with A in training validation has class 1 only; no split is usable
    rows = [{"participant_id": "A", "y": v} for v in (0, 1, 0, 1)]
    rows += [{"participant_id": p, "y": 1} for p in "BCDE" for _ in range(4)]
    with pytest.raises(EiferError, match="both hold both classes"):
        train_val_split(pd.DataFrame(rows), "y", 0.2, rep=0, seed=0)
