"""A hand-made run folder in the table formats of docs/interfaces.md, with planted facts."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from eifer.affect.stage import affect_part_path, affect_table
from eifer.config import load_config
from eifer.io import write_csv, write_json, write_parquet
from eifer.runfolder import RunFolder

# planted: per participant the number of frames with each outcome
FRAME_OUTCOMES = {
    "P01": {"": 50, "no_face": 5, "eyes_closed": 3, "occluded": 2, "low_confidence": 0},
    "P02": {"": 30, "no_face": 20, "eyes_closed": 0, "occluded": 0, "low_confidence": 4},
}


def _png(path, colour):
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, 1], color=colour)
    fig.savefig(path, format="png")
    plt.close(fig)


def _frames(run):
    for pid, outcomes in FRAME_OUTCOMES.items():
        for k, vid in enumerate(["V1", "V2"]):
            reasons = [r for r, n in outcomes.items() for _ in range(n // 2 + (k == 0) * (n % 2))]
            n = len(reasons)
            frames = pd.DataFrame({
                "participant_id": pid, "video_id": vid, "frame": np.arange(n), "time_s": np.arange(n) / 15,
                "face_found": [r != "no_face" for r in reasons], "valid": [r == "" for r in reasons],
                "reason": reasons, "affect_source": ""})
            write_parquet(run.path("frames", pid, f"{vid}.parquet"), frames)
            # the affect stage's own table beside it (eifer.affect.read_estimates joins them)
            write_parquet(affect_part_path(run.root, pid, vid), affect_table(frames, np.zeros(n), np.zeros(n), "t"))


def _predictions(rng):
    """High group's scores separate the classes (AUC ≈ 1); Low group's are noise (AUC ≈ 0.5)."""
    rows = []
    for group in ("High", "Low", "Total"):
        for task in ("arousal", "valence"):
            for cond in ("baseline", "unambiguous", "ambiguous"):
                for rep in range(3):
                    y = np.tile([0, 1], 40)
                    signal = {"High": 3.0, "Total": 1.0, "Low": 0.0}[group]
                    prob = 1 / (1 + np.exp(-(signal * (2 * y - 1) + rng.normal(0, 1, y.size))))
                    rows.append(pd.DataFrame({
                        "backbone": "resnet10t", "composition": "direct", "group": group, "task": task,
                        "condition": cond, "rep": rep, "item": [f"P9/V1/{i}" for i in range(y.size)],
                        "participant_id": "P9", "video_id": "V1", "frame": np.arange(y.size),
                        "y_true": y, "prob": prob, "pred": (prob > 0.5).astype(int), "threshold": 0.5}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def frame_outcomes():
    return FRAME_OUTCOMES


@pytest.fixture
def handmade_run(tmp_path):
    """A run folder with every table a full run writes, except transfer-CV (disabled)."""
    rng = np.random.default_rng(1)
    cfg = load_config(profile="demo", overrides={"transfer_cv": {"enabled": False}})
    run = RunFolder(tmp_path / "run", cfg).init()
    write_json(run.path("study.json"), {"name": "handmade", "path": "/data/study", "participants": 2,
                                        "videos": 4})
    write_csv(run.path("ei_scores.csv"), pd.DataFrame({"participant_id": ["P01", "P02"],
                                                       "ei_score": [900, 700]}))
    write_csv(run.path("groups.csv"), pd.DataFrame({"participant_id": ["P01", "P02"], "score": [900, 700],
                                                    "group": ["High", "Low"], "cutoff": 830}))
    write_csv(run.path("labels.csv"), pd.DataFrame({
        "participant_id": ["P01", "P02"], "video_id": ["V1", "V1"], "domain": ["HAHV", "HAHV"],
        "arousal_rating": [6, 4], "valence_rating": [6, 5], "arousal_label": [1, 1], "valence_label": [1, 1],
        "arousal_weak": [False, True], "valence_weak": [False, False]}))
    write_csv(run.path("cutoff_sweep.csv"), pd.DataFrame({
        "cutoff": [820, 830, 840], "n_high": [6, 5, 4], "n_low": [4, 5, 6], "imbalance": [2, 0, 2],
        "n_significant": [3, 7, 2], "eligible": [True, True, False], "chosen": [False, True, False],
        "significant_variables": ["HRV_MeanNN", "HRV_MeanNN;HRV_SDNN", ""]}))
    for k, text in {1: "n_high_marker", 2: "macro_f1_marker", 3: "roc_auc_marker", 4: "q_value_marker"}.items():
        write_csv(run.path("tables", f"table{k}.csv"), pd.DataFrame({"column": [text], "value": ["0.91 (0.02)"]}))
    _png(run.path("figures", "figure7.png"), "red")
    _png(run.path("figures", "figure4.png"), "blue")
    _frames(run)
    write_parquet(run.path("predictions.parquet"), _predictions(rng))
    crops = []
    for i in range(4):
        rel = f"crops/P01/V1/{i}.png"
        run.path(rel).parent.mkdir(parents=True, exist_ok=True)
        plt.imsave(run.path(rel), rng.random((16, 16, 3)))
        crops.append(rel)
    write_parquet(run.path("test_subsets.parquet"), pd.DataFrame({
        "participant_id": "P01", "video_id": "V1", "frame": range(4), "task": "arousal",
        "subset": ["unambiguous", "unambiguous", "ambiguous", "ambiguous"], "s": [0.9, 0.8, 0.05, -0.1],
        "crop_path": crops}))
    run.mark_done("cutoff", "fp-cutoff", ["groups.csv"], 1.5)
    return run


def _transfer(pred):
    """Transfer-composition rows: High-Total and Low-Total (fine-tuned) against Total, same test items."""
    t = pred[pred["group"].isin(["High", "Low", "Total"])].copy()
    t["composition"] = "transfer"
    t["group"] = t["group"].map({"High": "High-Total", "Low": "Low-Total", "Total": "Total"})
    return t


@pytest.fixture
def paper_run(handmade_run):
    """The handmade run with Tables 2–4 written by the real stage code (evaluate, stats) from its predictions,
    a direct and a transfer composition, and an HRV table with a planted group × emotion interaction."""
    from eifer.evaluate.tables import metrics_per_run, write_tables
    from eifer.stats.compare import compare_groups, compare_groups_by_rep
    from eifer.stats.tables import write_stats_tables

    run = handmade_run
    pred = pd.read_parquet(run.path("predictions.parquet"))
    pred = pd.concat([pred, _transfer(pred)], ignore_index=True)
    write_parquet(run.path("predictions.parquet"), pred)
    write_tables(metrics_per_run(pred), run.path("tables"))
    write_stats_tables(compare_groups(pred, seed=0), run.path("tables"), 4, by_rep=compare_groups_by_rep(pred))
    rng = np.random.default_rng(3)
    rows = []
    for pid, group in (("P01", "High"), ("P02", "Low")):
        for emo, bump in (("HAHV", 10.0), ("LALV", -10.0)):
            sign = 1.0 if group == "High" else -1.0  # planted: the groups react in opposite directions
            rows.append({"participant_id": pid, "segment": f"V-{emo}", "emotion_label": emo,
                         "HRV_MeanNN": 800 + sign * bump * 5 + rng.normal(0, 1), "HRV_SDNN": 50 + rng.normal(0, 1)})
        rows.append({"participant_id": pid, "segment": "baseline", "emotion_label": "baseline",
                     "HRV_MeanNN": 800.0, "HRV_SDNN": 50.0})
    write_parquet(run.path("hrv.parquet"), pd.DataFrame(rows))
    return run


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """A FULL demo run folder (`eifer demo`: synthetic study + every stage with the demo profile), made once
    per session (~2–4 min on 2 cores): the report is tested on what a user gets. ``EIFER_TEST_DEMO_RUN``
    names an existing demo run folder to copy instead (local runs; CI makes a fresh one)."""
    import os
    import shutil
    from pathlib import Path

    from eifer.pipeline.demo import run_demo
    from eifer.runfolder import read_run_config

    out = tmp_path_factory.mktemp("demo") / "run"
    given = os.environ.get("EIFER_TEST_DEMO_RUN")
    if given:
        shutil.copytree(given, out, ignore=shutil.ignore_patterns("report", "models", "cache"))
        study = json.loads((out / "study.json").read_text())
        if not Path(study.get("path", "")).is_dir():  # the study moved with the copy
            study["path"] = str(out / "study")
            (out / "study.json").write_text(json.dumps(study))
    else:
        run_demo(out, load_config(profile="demo"), show_progress=False)
    return RunFolder(out, read_run_config(out))
