"""Compositions x tasks x repetitions on a toy study with a planted, learnable signal."""
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from eifer.config import load_config
from eifer.errors import EiferError
from eifer.runfolder import RunFolder
from eifer.split import run_split
from eifer.train import PRED_COLUMNS, run_train
from eifer.train.toy import make_toy_run


def _auc(d):
    return roc_auc_score(d.y_true, d.prob)


def test_direct_and_transfer_runs_learn_the_planted_signal_and_resume(tmp_path):
    root = tmp_path / "run"
    make_toy_run(root, participants=12, frames_per_video=24, n_test_frames=3, size=64, seed=1)
    run = RunFolder(root, load_config(profile="demo", overrides={"train": {"repetitions": 2}})).init()
    run_split(None, run)
    run_train(None, run)
    splits = json.loads((root / "splits.json").read_text())
    p = pd.read_parquet(root / "predictions.parquet")
    assert list(p.columns) == PRED_COLUMNS
    assert set(p[p.composition == "direct"].group) == {"High", "Low", "Total"}
    assert set(p[p.composition == "transfer"].group) == {"High-Total", "Low-Total", "Total"}
    assert set(p.condition) == {"baseline", "unambiguous", "ambiguous"} and set(p.rep) == {0, 1}
    run_keys = ["composition", "group", "task", "condition", "rep"]
    assert not p.duplicated(run_keys + ["item"]).any()
    n = p.groupby(run_keys).size().unstack("condition")
    assert (n["baseline"] == 4 * 4 * 24).all() and (n["unambiguous"] == 4 * 4 * 3).all()
    assert set(p.participant_id) == set(splits["test"])
    assert p.threshold.between(0.2, 0.8).all() and (p.pred == (p.prob >= p.threshold)).all()
    # test participants never trained on or validated with
    metas = [json.loads(f.read_text()) for f in sorted((root / "models").rglob("meta.json"))]
    assert len(metas) == 2 * 2 * 5
    for m in metas:
        assert not (set(m["train"]) | set(m["val"])) & set(splits["test"])
    # the planted signal is found on unseen participants ...
    # (Total-trained runs learn from 7 participants, High/Low from 3: the small ones generalise less)
    keys = ["composition", "group", "task", "rep"]
    base = p[p.condition == "baseline"].groupby(keys).apply(_auc, include_groups=False)
    by_group = base.groupby(level=[0, 1]).mean()
    total = base[base.index.get_level_values("group").str.endswith("Total")]
    assert total.mean() >= 0.9 and by_group.min() >= 0.75, by_group
    # ... and the ambiguous frames (expression contradicting the label) are where it fails
    by_cond = p.groupby(["condition"] + keys).apply(_auc, include_groups=False).groupby(level=0).mean()
    assert by_cond["unambiguous"] > 0.85 and by_cond["ambiguous"] < by_cond["unambiguous"] - 0.2, by_cond
    # transfer runs start from the trained direct models: good after their first (heads-only) epoch
    first = {(m["composition"], m["group"]): m["history"][0]["val_roc_auc"] for m in metas}
    assert first[("transfer", "High-Total")] > 0.9 and first[("transfer", "Low-Total")] > 0.9
    # the Total reference appears under both compositions with identical predictions
    tot = p[p.group == "Total"].pivot_table(index=["task", "condition", "rep", "item"], columns="composition",
                                            values="prob")
    assert np.array_equal(tot["direct"], tot["transfer"])

    stamps = {f: f.stat().st_mtime_ns for f in (root / "models").rglob("meta.json")}
    run_train(None, run)  # every unit finished: nothing is retrained
    assert {f: f.stat().st_mtime_ns for f in stamps} == stamps
    pd.testing.assert_frame_equal(pd.read_parquet(root / "predictions.parquet"), p)


def test_no_signal_no_discrimination(tmp_path):
    root = tmp_path / "run"
    make_toy_run(root, participants=10, frames_per_video=16, n_test_frames=2, size=64, seed=2, signal=0.0)
    cfg = load_config(profile="demo", overrides={"train": {"repetitions": 1, "tasks": ["valence"],
                                                           "compositions": ["direct"], "n_jobs": 1}})
    run = RunFolder(root, cfg).init()
    run_split(None, run)
    run_train(None, run)
    p = pd.read_parquet(root / "predictions.parquet")
    aucs = p[p.condition == "baseline"].groupby("group").apply(_auc, include_groups=False)
    assert aucs.between(0.3, 0.7).all() and abs(aucs.mean() - 0.5) < 0.12, aucs


def test_train_refuses_splits_lacking_a_configured_repetition_and_never_writes_them(tmp_path):
    """splits.json belongs to the split stage: train names the file and what is missing, and leaves it alone."""
    root = tmp_path / "run"
    make_toy_run(root, participants=8, frames_per_video=4, n_test_frames=1, size=32, seed=3)
    small = {"repetitions": 1, "tasks": ["arousal"], "compositions": ["direct"], "n_jobs": 1}
    run_split(None, RunFolder(root, load_config(profile="demo", overrides={"train": small})).init())
    before = (root / "splits.json").read_bytes()
    for grown, missing in (({"repetitions": 2}, "High/arousal/rep1"), ({"tasks": ["arousal", "valence"]},
                                                                       "High/valence/rep0")):
        run = RunFolder(root, load_config(profile="demo", overrides={"train": {**small, **grown}}))
        with pytest.raises(EiferError, match=rf"(?s)splits\.json: no split for {missing}.*the split stage"):
            run_train(None, run)
        assert (root / "splits.json").read_bytes() == before  # not extended, not rewritten
        assert not (root / "models").exists() and not (root / "predictions.parquet").exists()
    # exactly at what the file holds: no error (1 repetition of arousal, as split wrote it)
    run_train(None, RunFolder(root, load_config(profile="demo", overrides={"train": small})))
    assert (root / "splits.json").read_bytes() == before
    assert set(pd.read_parquet(root / "predictions.parquet").rep) == {0}
