"""Transfer-CV folds: participant-disjoint, covering, stratified; test participants never in a fold."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eifer.errors import EiferError
from eifer.transfer_cv.core import cv_folds, plan_cv


def _frames(n_part: int, seed: int, frames_per_video: int = 10, flip: float = 0.25) -> pd.DataFrame:
    """The study's structure: 4 videos per participant (HA/LA x HV/LV); each video's label is its
    domain's direction, flipped with probability ``flip`` (ratings that disagree), so participants'
    label shares range from 0 to 1."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_part):
        for a, v in ((1, 1), (1, 0), (0, 1), (0, 0)):
            a = a if rng.random() > flip else 1 - a
            v = v if rng.random() > flip else 1 - v
            rows += [{"participant_id": f"P{i:02d}", "arousal_label": a, "valence_label": v}] * frames_per_video
    return pd.DataFrame(rows)


@settings(max_examples=25, deadline=None)
@given(k=st.integers(2, 5), per_fold=st.integers(3, 6), seed=st.integers(0, 10_000))
def test_folds_disjoint_covering_and_stratified(k, per_fold, seed):
    df = _frames(k * per_fold, seed)
    f = cv_folds(df, "arousal_label", k, seed=seed)
    # every participant in exactly one validation fold -> train/val disjoint in every fold
    assert sorted(f["participant_id"]) == sorted(df["participant_id"].unique())
    assert f["participant_id"].is_unique
    assert sorted(f["fold"].unique()) == list(range(k))
    overall = df["arousal_label"].mean()
    share = df.merge(f, on="participant_id").groupby("fold")["arousal_label"].mean()
    # >= 3 participants per fold (the paper: ~4-9): enough for the folds to balance label shares
    assert (share - overall).abs().max() <= 0.10, (share.round(3).tolist(), round(overall, 3))


def test_stratification_beats_random_assignment():
    """Stratified folds are closer to the overall share than random participant folds (same sizes)."""
    rng = np.random.default_rng(0)
    worse = 0
    for seed in range(20):
        df = _frames(20, seed)
        f = cv_folds(df, "arousal_label", 5, seed=seed)
        overall = df["arousal_label"].mean()
        dev = (df.merge(f, on="participant_id").groupby("fold")["arousal_label"].mean() - overall).abs().max()
        rand = f.assign(fold=rng.permutation(f["fold"].to_numpy()))
        dev_r = (df.merge(rand, on="participant_id").groupby("fold")["arousal_label"].mean() - overall).abs().max()
        worse += dev > dev_r
    assert worse <= 2


def test_folds_capped_and_too_few_participants():
    df = _frames(3, 0)
    assert cv_folds(df, "arousal_label", 5, seed=0)["fold"].nunique() == 3
    with pytest.raises(EiferError, match="at least 2 participants"):
        cv_folds(_frames(1, 0), "arousal_label", 5)


def test_plan_excludes_test_and_respects_groups():
    df = _frames(16, 3)
    group_of = {f"P{i:02d}": ("High" if i < 8 else "Low") for i in range(16)}
    test = ["P00", "P01", "P08", "P09"]
    plan = plan_cv(df, group_of, test, tasks=["arousal", "valence"], n_folds=3, seed=7)
    assert set(plan) == {f"{g}/{t}" for g in ("High", "Low", "Total") for t in ("arousal", "valence")}
    for entry in plan.values():
        members = {p for f in entry["folds"] for p in f["val"]}
        for f in entry["folds"]:
            assert not set(f["train"]) & set(f["val"])
            assert set(f["train"]) | set(f["val"]) == members
            assert not (set(f["train"]) | set(f["val"])) & set(test)
        if entry["group"] != "Total":
            assert {group_of[p] for p in members} == {entry["group"]}
        else:
            assert members == set(group_of) - set(test)
    # same seed -> same folds; folds' seeds pair up across compositions
    again = plan_cv(df, group_of, test, tasks=["arousal", "valence"], n_folds=3, seed=7)
    assert again == plan
    assert [f["seed"] for f in plan["High/arousal"]["folds"]] == [f["seed"] for f in plan["Total/arousal"]["folds"]]
