"""`eifer ei` / `eifer labels` write into a run folder; bad input exits 1 with a clear message."""
import shutil

import pandas as pd
from typer.testing import CliRunner

from eifer.cli import app


def test_ei_and_labels_commands(synth_novideo, tmp_path):
    runner = CliRunner()
    out = tmp_path / "run"
    res = runner.invoke(app, ["ei", str(synth_novideo), "--out", str(out), "-p", "demo"])
    assert res.exit_code == 0, res.output
    scores = pd.read_csv(out / "ei_scores.csv", dtype={"participant_id": str})
    assert len(scores) == 12 and scores["ei_score"].between(0, 1200).all()
    res = runner.invoke(app, ["labels", str(synth_novideo), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "labels.csv" in res.output and (out / "labels.csv").is_file()
    res = runner.invoke(app, ["ei", str(synth_novideo), "--out", str(out)])
    assert res.exit_code == 0 and "skipped" in res.output  # unchanged inputs and config


def test_ei_command_reports_missing_trial(synth_novideo, tmp_path):
    root = tmp_path / "study"
    shutil.copytree(synth_novideo, root, ignore=shutil.ignore_patterns("ecg"))
    (root / "ecg").mkdir()
    shutil.copy(synth_novideo / "ecg" / "segments.csv", root / "ecg")
    for f in (synth_novideo / "ecg").glob("P*.csv"):
        (root / "ecg" / f.name).write_text("time_s,ecg\n0,0\n0.004,0\n")  # present; not read by `eifer ei`
    r = pd.read_csv(root / "ei_responses.csv")
    r.drop(index=7).to_csv(root / "ei_responses.csv", index=False)
    res = CliRunner().invoke(app, ["ei", str(root), "--out", str(tmp_path / "run")])
    assert res.exit_code == 1
    assert "ei_responses.csv" in res.output and "P01" in res.output
