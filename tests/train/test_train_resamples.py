"""split.test_resamples through the split and train stages: each model is scored on its own resample's test
participants only, predictions carry the resample, and the over-people tables follow (tiny CNN)."""
import json

import pandas as pd
import pytest

from eifer.config import load_config
from eifer.errors import EiferError
from eifer.runfolder import RunFolder
from eifer.split import run_split
from eifer.stats import compare_groups_by_rep, compare_over_resamples
from eifer.stats.resamples import add_resample
from eifer.train import train_all
from eifer.train.stage import require_splits, train_settings
from eifer.train.toy import make_toy_run

TINY = {"backbone": "eifer_tinycnn", "allow_random_init": True, "image_size": 32, "batch_size": 16,
        "stage1_epochs": 1, "stage2_epochs": 0, "repetitions": 1, "tasks": ["arousal"],
        "compositions": ["direct", "transfer"], "num_workers": 0, "device": "cpu", "n_jobs": 1}


def test_two_test_resamples_train_score_and_compare_per_resample(tmp_path):
    root = tmp_path / "run"
    make_toy_run(root, participants=8, frames_per_video=4, size=32)
    cfg = load_config(profile="demo", overrides={
        "split": {"n_test_high": 1, "n_test_low": 1, "test_resamples": 2}, "train": TINY})
    run = RunFolder(root, cfg).init()
    run_split(None, run)
    sp = require_splits(run)  # the train stage finds every resample's repetitions
    pred = train_all(pd.read_parquet(root / "dataset.parquet"), None, sp, train_settings(cfg),
                     model_dir=root / "models", crop_root=root)
    assert sorted(pred["rep"].unique()) == [0, 1] and (pred["rep"] == pred["resample"]).all()
    for k, res in enumerate(sp["resamples"]):
        scored = pred[pred["resample"] == k]
        assert set(scored["participant_id"]) == set(res["test"])  # direct and transfer models alike
        assert set(scored["group"]) == {"High", "Low", "Total", "High-Total", "Low-Total"}
    assert sp["test"] == sp["resamples"][0]["test"]
    assert not set(sp["resamples"][0]["test"]) & set(sp["resamples"][1]["test"])
    over = compare_over_resamples(add_resample(compare_groups_by_rep(pred), pred))
    assert set(over["k_resamples"]) == {2} and set(over["composition"]) == {"direct", "transfer"}
    # a splits.json written for one test set does not serve a config asking for two
    one = RunFolder(tmp_path / "one", load_config(profile="demo", overrides={
        "split": {"n_test_high": 1, "n_test_low": 1}, "train": TINY})).init()
    make_toy_run(one.root, participants=8, frames_per_video=4, size=32)
    run_split(None, one)
    two = RunFolder(one.root, cfg)
    with pytest.raises(EiferError, match="no split for High/arousal/rep1"):
        require_splits(two)
    assert json.loads(one.path("splits.json").read_text()).get("resamples") is None
