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
