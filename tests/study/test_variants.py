"""Study variants users bring: renamed columns, EI scores instead of responses, precomputed HRV."""
from __future__ import annotations

import shutil

import pandas as pd
import yaml
from test_validate import assert_exactly, edit, set_cell
from typer.testing import CliRunner

from eifer.cli import app
from eifer.study import load_study, validate_study


def _yaml(study, **changes):
    meta = yaml.safe_load((study / "study.yaml").read_text())
    meta.update(changes)
    (study / "study.yaml").write_text(yaml.safe_dump(meta))


def test_column_renames_in_either_direction(tiny):
    for rel in ["participants.csv", "ratings.csv", "ei_responses.csv", "ecg/segments.csv"]:
        edit(tiny, rel, lambda df: df.rename(columns={"participant_id": "subject", "arousal": "AR"}))
    for pid in ["P01", "P02", "P03"]:
        edit(tiny, f"ecg/{pid}.csv", lambda df: df.rename(columns={"time_s": "t", "ecg": "mV"}))
    assert len(validate_study(tiny)) > 0  # without renames the headers are wrong
    _yaml(tiny, columns={"participant_id": "subject", "AR": "arousal", "time_s": "t", "mV": "ecg"})
    assert validate_study(tiny) == []
    study = load_study(tiny)
    assert list(study.ratings.columns) == ["participant_id", "video_id", "domain", "arousal", "valence"]
    assert study.participant_ids == ["P01", "P02", "P03"]


def test_ei_scores_and_precomputed_hrv_replace_responses_and_ecg(tiny):
    (tiny / "ei_responses.csv").unlink()
    pd.DataFrame({"participant_id": ["P01", "P02", "P03"], "ei_score": [850, 610.5, 990]}).to_csv(
        tiny / "ei_scores.csv", index=False)
    seg = pd.read_csv(tiny / "ecg/segments.csv", dtype=str)
    shutil.rmtree(tiny / "ecg")
    hrv = seg[["participant_id", "segment"]].assign(emotion_label="neutral", HRV_RMSSD=42.0, HRV_SDNN="")
    hrv.to_csv(tiny / "hrv.csv", index=False)
    assert validate_study(tiny) == []
    study = load_study(tiny)
    assert study.ei_responses is None and study.segments is None and study.ecg_path("P01") is None
    assert study.ei_scores["ei_score"].tolist() == [850.0, 610.5, 990.0] and study.hrv_file == "hrv.csv"
    assert study.hrv_precomputed["HRV_RMSSD"].dtype == "float64" and study.hrv_precomputed["HRV_SDNN"].isna().all()
    set_cell(tiny, "ei_scores.csv", 3, "ei_score", "high")
    set_cell(tiny, "hrv.csv", 5, "HRV_RMSSD", "n/a")
    assert_exactly(tiny, [
        "ei_scores.csv, line 3, column 'ei_score': 'high' is not a finite number",
        "hrv.csv, line 5, column 'HRV_RMSSD': 'n/a' is not a finite number",
    ])


def test_no_ei_and_no_ecg_at_all(tiny):
    (tiny / "ei_responses.csv").unlink()
    shutil.rmtree(tiny / "ecg")
    assert_exactly(tiny, ["ei_responses.csv: file not found (nor ei_scores.csv)",
                          "ecg/: no ECG recordings (ecg/<participant_id>.csv) and no precomputed hrv.csv"])


def test_synthetic_video_study_is_valid(synth_video_small):
    res = CliRunner().invoke(app, ["validate", str(synth_video_small)])
    assert res.exit_code == 0, res.output
    assert "24 of 24 rated" in res.stdout
    assert len(load_study(synth_video_small).videos()) == 24
