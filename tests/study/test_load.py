"""A valid study loads into typed tables and validates without problems."""
from pathlib import Path

from typer.testing import CliRunner

from eifer.cli import app
from eifer.study import load_study, read_ecg, validate_study


def test_tiny_study_is_valid_and_typed(tiny_template):
    assert validate_study(tiny_template) == []
    study = load_study(tiny_template)
    assert study.participant_ids == ["P01", "P02", "P03"]
    assert study.ratings["arousal"].dtype == "int64" and study.ratings["participant_id"].dtype == object
    assert study.ei_responses["stimulus"].dtype == "int64" and set(study.ei_responses["correct"]) <= {0, 1}
    assert study.segments["onset_s"].dtype == "float64"
    assert study.ei_scores is None and study.hrv_precomputed is None
    vids = study.videos()
    assert list(vids.columns) == ["participant_id", "video_id", "domain", "path"] and len(vids) == 12
    assert all(Path(p).is_file() for p in vids["path"])
    assert study.ecg_path("P02") == tiny_template / "ecg" / "P02.csv"
    ecg, fs = read_ecg(study, "P02")
    assert fs == 100 and list(ecg.columns) == ["time_s", "ecg"] and ecg["time_s"].iloc[-1] == 100.0


def test_synthetic_study_without_video_is_valid(synth_novideo):
    res = CliRunner().invoke(app, ["validate", str(synth_novideo)])
    assert res.exit_code == 0, res.output
    assert "participants      12" in res.stdout and "OK: no problems found." in res.stdout
    study = load_study(synth_novideo, validate_media=False)
    assert not study.has_videos and study.videos().empty
    assert len(study.participants) == 12 and len(study.ratings) == 48
