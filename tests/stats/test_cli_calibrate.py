"""`eifer calibrate` writes the calibration table for a user's design."""
import pandas as pd
from typer.testing import CliRunner

from eifer.cli import app


def test_calibrate_command_writes_table(tmp_path, monkeypatch):
    monkeypatch.setenv("EIFER_NO_PROGRESS", "1")
    res = CliRunner().invoke(app, ["calibrate", "--items", "32", "--participants", "2", "--videos", "2",
                                   "--reps", "3", "--n-sim", "3", "-j", "1", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(tmp_path / "calibration.csv")
    assert set(t["n_items"]) == {32} and (t["n_sim"] == 3).all()
    assert "cannot reach" in (tmp_path / "calibration.md").read_text()  # 3 reps: permutation warning
    bad = CliRunner().invoke(app, ["calibrate", "--items", "2", "--n-sim", "1", "--out", str(tmp_path)])
    assert bad.exit_code == 1 and "need" in bad.output


def test_calibrate_run_simulates_the_runs_design(tmp_path, monkeypatch):
    """--run takes repetitions and pairing from RUN/config.yaml, the test set and class balance from
    RUN/predictions.parquet, prints every test's type-I rate and writes RUN/calibration (+ design.json)."""
    import json

    from eifer.config import load_config
    from eifer.runfolder import RunFolder
    from eifer.stats.calibration import simulate_predictions

    monkeypatch.setenv("EIFER_NO_PROGRESS", "1")
    run = RunFolder(tmp_path / "run", load_config(profile="demo", overrides={"train": {"repetitions": 2}})).init()
    pred = simulate_predictions(n_items=48, reps=2, seed=3, participants=3, videos=4, prevalence=0.25)
    pred = pd.concat([pred, pred[pred["frame"] < 1].assign(condition="unambiguous")], ignore_index=True)
    pred.to_parquet(run.path("predictions.parquet"))
    res = CliRunner().invoke(app, ["calibrate", "--run", str(run.root), "--n-sim", "2", "-j", "1"])
    assert res.exit_code == 0, res.output
    design = json.loads(run.path("calibration", "design.json").read_text())
    assert design["reps"] == 2 and design["paired"] is True and design["participants"] == 3
    assert design["videos"] == 4 and design["prevalence"] == 0.25 and design["n_items"] == [12, 48]
    t = pd.read_csv(run.path("calibration", "calibration.csv"))
    assert {"delong_fisher", "pooled_ci", "gee", "re_ci", "stouffer", "perm_auc", "perm_acc"} <= set(t["test"])
    for description in t["description"].unique():
        assert description in res.output  # every test's type-I rate printed
    assert "sign-flip" in res.output and "smallest p = 0.5" in res.output  # 2 pairs: 2 / 2^2


def test_run_design_counts_every_model_table4_pools(tmp_path):
    """With K test sets Table 4 pools K x R models per group, so the simulated design has K x R repetitions."""
    from eifer.config import load_config
    from eifer.runfolder import RunFolder
    from eifer.stats.calibration import read_run_design, simulate_predictions

    for k, want in ((1, 2), (3, 6)):
        cfg = load_config(profile="demo", overrides={"train": {"repetitions": 2}, "split": {"test_resamples": k}})
        run = RunFolder(tmp_path / f"run{k}", cfg).init()
        simulate_predictions(n_items=24, reps=2, seed=1, participants=2, videos=2).to_parquet(
            run.path("predictions.parquet"))
        design, _ = read_run_design(run.root)
        assert design.reps == want
