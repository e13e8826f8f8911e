"""`eifer stats` is wired to the pipeline's stats stage."""
from typer.testing import CliRunner

from eifer.cli import app


def test_stats_command_reports_why_it_cannot_run_without_videos(synth_novideo, tmp_path):
    # A study without videos has no frames, so no trained models: the stats stage
    # must be reported as not run (exit 1, naming the stage), never crash.
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["stats", str(synth_novideo), "--out", str(out), "--profile", "demo"])
    assert res.exit_code == 1, res.output
    assert "stage 'stats' did not run" in res.output
    # what could run before it did, and was kept
    assert (out / "ei_scores.csv").is_file() and (out / "labels.csv").is_file()
