"""The report: every section present, self-contained, no faces unless asked, honest 'not run' notes."""
import re

import numpy as np
import pandas as pd

from eifer.config import load_config
from eifer.report import build_report, frame_quality_summary, mean_roc
from eifer.runfolder import RunFolder


def test_frame_quality_summary_recovers_planted_counts(handmade_run, frame_outcomes):
    q = frame_quality_summary(handmade_run.path("frames")).set_index("participant_id")
    for pid, outcomes in frame_outcomes.items():
        assert q.loc[pid, "frames"] == sum(outcomes.values())
        assert q.loc[pid, "valid"] == outcomes[""]
        assert q.loc[pid, "videos"] == 2
        for reason in ("no_face", "eyes_closed", "occluded", "low_confidence"):
            assert q.loc[pid, reason] == outcomes[reason], (pid, reason)
    assert q.loc["P02", "pct_valid"] == round(100 * 30 / 54, 1)


def test_mean_roc_separates_planted_signal_from_noise(handmade_run):
    pred = pd.read_parquet(handmade_run.path("predictions.parquet"))
    sel = (pred["task"] == "arousal") & (pred["condition"] == "baseline")
    _, tpr_high, auc_high = mean_roc(pred[sel & (pred["group"] == "High")])
    _, _, auc_low = mean_roc(pred[sel & (pred["group"] == "Low")])
    assert len(auc_high) == 3 and min(auc_high) > 0.95
    assert 0.3 < np.mean(auc_low) < 0.7  # noise: no signal found where none was planted
    assert np.all(np.diff(tpr_high) >= -1e-12)  # a mean of ROC curves is monotone


def test_report_has_every_section_and_is_self_contained(handmade_run):
    html_path = build_report(handmade_run)
    html = html_path.read_text()
    for marker in ("n_high_marker", "macro_f1_marker", "roc_auc_marker", "q_value_marker",
                   "chosen cutoff: HRV_MeanNN, HRV_SDNN.", "handmade", "Frame quality", "Figure 4", "Figure 7",
                   "resnet10t", "config.yaml", "numpy"):
        assert marker in html, marker
    # tables 5 and 6: transfer-CV disabled → a clear note, not a crash
    assert "Table 5: not run — transfer-CV is disabled" in html
    assert "Table 6: not run" in html
    # no network and no scripts: every image is an inline PNG
    assert "<script" not in html.lower()
    assert not re.search(r'(src|href)="(https?:)?//', html)
    imgs = re.findall(r'<img src="([^"]{0,40})', html)
    assert imgs and all(s.startswith("data:image/png;base64,") for s in imgs)
    # figure7, figure4, frame quality, one ROC grid (one backbone × composition)
    assert len(imgs) == 4
    assert html.count("<table") >= 9
    md = (html_path.parent / "report.md").read_text()
    assert "![Figure 7." in md and "../figures/figure7.png" in md and "| n_high_marker |" in md
    assert (handmade_run.path("figures", "roc_resnet10t_direct.png")).is_file()


def test_faces_only_when_asked(handmade_run):
    html = build_report(handmade_run).read_text()
    assert not handmade_run.path("report", "faces.png").exists()
    n_default = html.count("<img ")
    html = build_report(handmade_run, include_faces=True).read_text()
    assert handmade_run.path("report", "faces.png").is_file()
    assert html.count("<img ") == n_default + 1
    # rebuilding without the flag removes the face figure again
    html = build_report(handmade_run).read_text()
    assert not handmade_run.path("report", "faces.png").exists()
    assert html.count("<img ") == n_default


def test_empty_run_gets_not_run_notes(tmp_path):
    run = RunFolder(tmp_path / "run", load_config(profile="demo")).init()
    html = build_report(run).read_text()
    for what in ("Table 1", "Table 2", "Table 4", "Cutoff sweep", "Frame quality", "ROC curves", "Figure 4"):
        assert f"{what}: not run" in html, what
    assert "<img " not in html


def test_report_from_path(handmade_run):
    assert build_report(str(handmade_run.root)).is_file()


def test_paper_tables_hide_raw_mean_sd_columns(handmade_run):
    import pandas as pd

    from eifer.io import write_csv

    write_csv(handmade_run.path("tables", "table3.csv"), pd.DataFrame({
        "Group": ["High"], "ROC-AUC": ["0.9100 (0.0200)"], "roc_auc_mean": [0.91], "roc_auc_sd": [0.02],
        "n_items": [40]}))
    html = build_report(handmade_run).read_text()
    assert "0.9100 (0.0200)" in html and "n_items" in html
    assert "roc_auc_mean" not in html and "roc_auc_sd" not in html


def test_report_shows_hrv_quality_per_participant_and_segment(handmade_run):
    from eifer.io import write_parquet

    run = handmade_run
    q = pd.DataFrame({"participant_id": ["P01", "P01", "P02"], "segment": ["baseline", "V1", "V1"],
                      "emotion_label": ["baseline", "HAHV", "HAHV"], "polarity": ["upright", "upright", "inverted"],
                      "n_beats": [420, 410, 398], "n_ectopic": [0, 2, 40], "n_missed": [0, 0, 3], "n_extra": [0, 0, 1],
                      "n_longshort": [0, 2, 30], "n_unconfirmed": [0, 0, 0], "n_nn": [419, 402, 250],
                      "nn_removed_share": [0.0, 0.02, 0.31], "ecg_quality": ["Excellent"] * 3,
                      "hrv_excluded": ["", "", "31.0% of the time removed by NN cleaning (zz_reason_marker)"]})
    write_parquet(run.path("hrv_quality.parquet"), q)
    try:
        html = build_report(run).read_text()
        assert "HRV quality" in html and "zz_reason_marker" in html
        assert "1 of 3 segments excluded" in html and "leads inverted: P02" in html
    finally:
        run.path("hrv_quality.parquet").unlink()  # the fixture run is shared with the other tests
