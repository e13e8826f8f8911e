"""split.test_resamples: K disjoint, stratified, seeded test sets; resample 0 is the paper's draw; K = 1 unchanged."""
import json

import numpy as np
import pandas as pd
import pytest

from eifer.config import load_config
from eifer.errors import EiferError
from eifer.split import (
    check_splits,
    choose_testset,
    choose_testsets,
    make_splits,
    max_test_resamples,
    resample_count,
    run_test,
)
from eifer.train import plan_units


def _dataset(n_part=14, frames=4, seed=0):
    """Participants P00.. (even = High, odd = Low), four videos (one per arousal x valence class)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_part):
        for vid, (a, v) in {"HAHV": (1, 1), "HALV": (1, 0), "LAHV": (0, 1), "LALV": (0, 0)}.items():
            for f in range(frames):
                rows.append({"participant_id": f"P{i:02d}", "video_id": vid, "frame": f,
                             "crop_path": f"c/{i}/{vid}/{f}.png",
                             "arousal": (2 * a - 1) * rng.uniform(.1, .9), "valence": (2 * v - 1) * rng.uniform(.1, .9),
                             "arousal_label": a, "valence_label": v})
    return pd.DataFrame(rows), {f"P{i:02d}": ("High" if i % 2 == 0 else "Low") for i in range(n_part)}


def test_resample_draws_are_stratified_disjoint_deterministic_and_start_with_the_fixed_test_set():
    df, groups = _dataset(n_part=14)  # 7 High, 7 Low: K <= 7 // 2 = 3
    pids = sorted(groups)
    sets = choose_testsets(groups, pids, 2, 2, seed=5, resamples=3)
    assert sets[0] == choose_testset(groups, pids, 2, 2, seed=5)  # resample 0 = today's fixed test set
    for s in sets:
        assert sorted(groups[p] for p in s) == ["High", "High", "Low", "Low"]
    assert len(set().union(*map(set, sets))) == 12  # pairwise disjoint: other people in each resample
    assert sets == choose_testsets(groups, pids, 2, 2, seed=5, resamples=3)
    assert choose_testsets(groups, pids, 2, 2, seed=5, resamples=2) == sets[:2]  # prefix-stable in K
    other = choose_testsets(groups, pids, 2, 2, seed=6, resamples=3)
    assert other != sets


def test_k_is_limited_exactly_by_disjoint_draws_per_group():
    _, groups = _dataset(n_part=14)  # 7 High, 7 Low
    pids = sorted(groups)
    assert max_test_resamples(groups, pids, 2, 2) == 3
    assert max_test_resamples(groups, pids, 2, 3) == 2  # Low: 7 // 3
    assert len(choose_testsets(groups, pids, 2, 2, resamples=3)) == 3
    with pytest.raises(EiferError, match=r"test_resamples = 4.*at most 3.*lower split.test_resamples to 3"):
        choose_testsets(groups, pids, 2, 2, resamples=4)


def test_k_resamples_repeat_the_whole_split_on_each_test_set():
    df, groups = _dataset(n_part=14)
    sp = make_splits(df, groups, seed=3, repetitions=2, test_resamples=3, tasks=["arousal"])
    check_splits(sp)
    assert resample_count(sp) == 3 and len(sp["runs"]) == 3 * 2 * 3
    assert sp["test"] == sp["resamples"][0]["test"]
    for k, res in enumerate(sp["resamples"]):
        for r in range(2):
            rep = k * 2 + r
            for g in ("High", "Low", "Total"):
                run = sp["runs"][f"{g}/arousal/rep{rep}"]
                assert run["resample"] == k and run["rep"] == rep
                assert run_test(sp, f"{g}/arousal/rep{rep}") == res["test"]
                assert not (set(run["train"]) | set(run["val"])) & set(res["test"])
            # the groups of one repetition share its seed (pairing) and every rep id has its own seed
            assert len({sp["runs"][f"{g}/arousal/rep{rep}"]["seed"] for g in ("High", "Low", "Total")}) == 1
    assert len({r["seed"] for r in sp["runs"].values()}) == 6
    # the training units cover every resample's repetitions; transfer units use their own resample's Total split
    direct, transfer = plan_units(sp, tasks=["arousal"], repetitions=2)
    assert len(direct) == 18 and len(transfer) == 12
    assert {u["rep"] for u in direct} == set(range(6))
    # a run trained on another resample's test participant is refused
    bad = json.loads(json.dumps(sp))
    bad["runs"]["High/arousal/rep2"]["train"].append(sp["resamples"][1]["test"][0])
    with pytest.raises(EiferError, match="train/test"):
        check_splits(bad)


def test_one_resample_leaves_the_splits_exactly_as_before():
    df, groups = _dataset(n_part=14)
    assert (json.dumps(make_splits(df, groups, seed=3, repetitions=3, test_resamples=1))
            == json.dumps(make_splits(df, groups, seed=3, repetitions=3)))
    sp = make_splits(df, groups, seed=3, repetitions=3)
    assert "resamples" not in sp and all("resample" not in r and "test" not in r for r in sp["runs"].values())
    assert resample_count(sp) == 1 and run_test(sp, "High/arousal/rep0") == sp["test"]
    # K = 2: the first R repetitions of resample 0 are today's splits, unchanged
    two = make_splits(df, groups, seed=3, repetitions=3, test_resamples=2)
    for key, r in sp["runs"].items():
        assert {k: v for k, v in two["runs"][key].items() if k not in ("resample", "test")} == r


def test_resamples_cannot_be_combined_with_listed_test_participants():
    with pytest.raises(EiferError, match="test_resamples = 2 draws K test sets, but test_participants fixes one"):
        load_config(overrides={"split": {"test_resamples": 2, "test_participants": ["P00", "P01"]}})
    one = load_config(overrides={"split": {"test_resamples": 1, "test_participants": ["P00"]}})
    assert one.split.test_resamples == 1
    with pytest.raises(EiferError, match="test_resamples"):
        load_config(overrides={"split": {"test_resamples": 0}})
    df, groups = _dataset()
    with pytest.raises(EiferError, match="cannot be combined with test_participants"):
        make_splits(df, groups, seed=0, repetitions=1, test_resamples=2, test_participants=["P00", "P01"])
