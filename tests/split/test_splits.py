"""Fixed test set and per-repetition stratified group train/validation splits."""
import numpy as np
import pandas as pd
import pytest

from eifer.errors import EiferError
from eifer.split import check_splits, make_splits, train_val_split, validate_dataset


def _dataset(n_part=14, frames=10, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_part):
        for vid, (a, v) in {"HAHV": (1, 1), "HALV": (1, 0), "LAHV": (0, 1), "LALV": (0, 0)}.items():
            for f in range(frames):
                rows.append({"participant_id": f"P{i:02d}", "video_id": vid, "frame": f,
                             "crop_path": f"c/{i}/{vid}/{f}.png",
                             "arousal": (2 * a - 1) * rng.uniform(.1, .9), "valence": (2 * v - 1) * rng.uniform(.1, .9),
                             "arousal_label": a, "valence_label": v})
    groups = {f"P{i:02d}": ("High" if i % 2 == 0 else "Low") for i in range(n_part)}
    return pd.DataFrame(rows), groups


def test_fixed_test_set_and_disjoint_stratified_splits():
    df, groups = _dataset()
    sp = make_splits(df, groups, seed=3, repetitions=5)
    test = set(sp["test"])
    assert len(sp["test_high"]) == 2 and len(sp["test_low"]) == 2
    assert all(groups[p] == "High" for p in sp["test_high"]) and all(groups[p] == "Low" for p in sp["test_low"])
    assert len(sp["runs"]) == 3 * 2 * 5
    rest = set(df.participant_id) - test
    val_sets = []
    for r in sp["runs"].values():
        tr, va = set(r["train"]), set(r["val"])
        assert not (tr & va) and not (tr | va) & test
        if r["group"] == "Total":
            assert tr | va == rest
        else:  # High/Low compositions hold only that group's participants
            assert {groups[p] for p in tr | va} == {r["group"]}
        # stratified on the task's labels: both classes in validation
        assert df[df.participant_id.isin(va)][f"{r['task']}_label"].nunique() == 2
        if r["group"] == "Total" and r["task"] == "arousal":
            assert len(va) == 2  # 8:2 of 10 participants
            val_sets.append(frozenset(va))
    # repetitions draw different validation participants (the first k are disjoint folds)
    assert len(set(val_sets)) == 5 and sum(len(v) for v in val_sets) == len(set().union(*val_sets))
    # reproducible, and the same test set whatever the number of repetitions
    again = make_splits(df, groups, seed=3, repetitions=2)
    assert again["test"] == sp["test"]
    assert again["runs"]["High/valence/rep1"] == sp["runs"]["High/valence/rep1"]
    tests = {tuple(make_splits(df, groups, seed=s, repetitions=1)["test"]) for s in range(6)}
    assert len(tests) > 1  # the seed drives the draw


def test_listed_test_participants_and_errors():
    df, groups = _dataset()
    sp = make_splits(df, groups, seed=0, repetitions=1, test_participants=["P00", "P02", "P01", "P03"])
    assert sp["test"] == ["P00", "P01", "P02", "P03"]
    with pytest.raises(EiferError, match="P99"):
        make_splits(df, groups, seed=0, repetitions=1, test_participants=["P99", "P00", "P01", "P02"])
    few = {p: ("High" if p in ("P00", "P02") else "Low") for p in groups}
    with pytest.raises(EiferError, match="High-EI"):
        make_splits(df, few, seed=0, repetitions=1, n_test_high=2)
    with pytest.raises(EiferError, match="no EI group"):
        make_splits(df, {k: v for k, v in groups.items() if k != "P05"}, seed=0, repetitions=1)


def test_overlap_is_detected():
    with pytest.raises(EiferError, match="train/val"):
        check_splits({"test": ["A"], "runs": {"High/arousal/rep0": {"train": ["B", "C"], "val": ["C"]}}})
    with pytest.raises(EiferError, match="val/test"):
        check_splits({"test": ["A"], "runs": {"High/arousal/rep0": {"train": ["B"], "val": ["A"]}}})


def test_train_val_split_ratio():
    df = pd.DataFrame({"participant_id": [str(i // 6) for i in range(120)], "y": [(i // 3) % 2 for i in range(120)]})
    tr, va = train_val_split(df, "y", 0.2, rep=0, seed=1)
    assert (len(tr), len(va)) == (16, 4) and not set(tr) & set(va)


def test_dataset_validation_names_row():
    df, _ = _dataset(2, 2)
    df.loc[3, "arousal_label"] = 2
    with pytest.raises(EiferError, match="row 4: arousal_label"):
        validate_dataset(df)
    with pytest.raises(EiferError, match="missing column"):
        validate_dataset(df.drop(columns="crop_path"))


def test_validation_holds_both_classes_when_single_class_participants_exist():
    # Four participants, two of whom rated every video alike (one class only):
    # with k = 4 a fold may validate on a single-class participant, which would
    # leave the validation threshold undefined. Every repetition must avoid it.
    rows = []
    for pid, labels in {"A": [1, 1, 1, 1], "B": [0, 0, 0, 0], "C": [0, 1, 0, 1], "D": [1, 0, 1, 0]}.items():
        for lab in labels:
            rows += [{"participant_id": pid, "y": lab}] * 5
    df = pd.DataFrame(rows)
    for rep in range(6):
        tr, va = train_val_split(df, "y", 0.2, rep=rep, seed=rep)
        assert not set(tr) & set(va)
        for members in (tr, va):
            assert df[df["participant_id"].isin(members)]["y"].nunique() == 2, (rep, tr, va)


def test_impossible_split_names_the_problem():
    df = pd.DataFrame({"participant_id": ["A"] * 4 + ["B"] * 4, "y": [1] * 4 + [0] * 4})
    with pytest.raises(EiferError, match="both hold both classes"):
        train_val_split(df, "y", 0.2, rep=0, seed=0)


def test_pairing_shares_or_separates_the_repetition_seeds():
    df, groups = _dataset()
    paired = make_splits(df, groups, seed=3, repetitions=3)
    indep = make_splits(df, groups, seed=3, repetitions=3, pairing="independent")
    assert paired["test"] == indep["test"]  # the test set never depends on the pairing
    for rep in range(3):
        seeds = {g: paired["runs"][f"{g}/arousal/rep{rep}"]["seed"] for g in ("High", "Low", "Total")}
        assert len(set(seeds.values())) == 1  # paired: repetition r of every group shares its seed
        own = {g: indep["runs"][f"{g}/arousal/rep{rep}"]["seed"] for g in ("High", "Low", "Total")}
        assert len(set(own.values())) == 3 and not set(own.values()) & set(seeds.values())
    all_seeds = [r["seed"] for r in indep["runs"].values() if r["task"] == "arousal"]
    assert len(set(all_seeds)) == 9  # no two models of the independent design share a seed
    with pytest.raises(EiferError, match="pairing"):
        make_splits(df, groups, seed=3, repetitions=1, pairing="shared")
def test_test_set_leaves_two_per_group_exactly_and_errors_name_the_settings():
    """n_test + 2 participants per group is enough (one to train, one to validate); n_test + 1 is refused
    with the setting and the value that would fit (eifer.plan.minimum_study's rule)."""
    df, groups = _dataset(n_part=6)  # 3 High, 3 Low
    sp = make_splits(df, groups, seed=0, repetitions=1, n_test_high=1, n_test_low=1)
    assert len(sp["test_high"]) == 1 and all(len(r["train"]) and len(r["val"]) for r in sp["runs"].values())
    with pytest.raises(EiferError, match=r"only 3 High-EI participant\(s\) with selected frames; need "
                                         r"split.n_test_high = 2 for the test set plus 2 for training and "
                                         r"validation; lower split.n_test_high to 1"):
        make_splits(df, groups, seed=0, repetitions=1, n_test_high=2, n_test_low=1)
    # a group left with participants who all rated alike cannot be split: the error names group and settings
    df.loc[df["participant_id"].isin(["P01", "P03", "P05"]), "arousal_label"] = 1
    with pytest.raises(EiferError, match=r"split of the Low group, task arousal: .*split.n_test_high = 1, "
                                         r"split.n_test_low = 1, split.val_fraction = 0.2"):
        make_splits(df, groups, seed=0, repetitions=1, n_test_high=1, n_test_low=1)
