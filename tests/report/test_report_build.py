"""The report: every section present, self-contained, no faces unless asked, honest 'not run' notes."""
import json
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


# --- the paper's layout, the Table 4 caveat, compact cutoff tables, HRV and participant pages (issue 18) ---

def _page(path):
    """The page's HTML with entities resolved (&#x27; → ', &nbsp; → space), for text checks."""
    from html import unescape

    # a header keeps a hyphenated term on one line with <span class="nw">: no part of the text
    return re.sub(r'<span class="nw">|</span>', "", unescape(path.read_text())).replace("\xa0", " ")


def _html_cells(html):
    """The cells of every table row of a page, as text."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.DOTALL)
    return [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows]


def test_tables_2_3_grouped_by_condition_and_task_with_groups_as_columns(paper_run):
    from eifer.report.layout import format_metric_columns, metrics_paper_layout
    from eifer.report.summaries import read_table

    table3 = read_table(paper_run.path("tables", "table3.csv"))
    assert "ROC-AUC" not in table3.columns  # the CSV holds numbers; the report formats them
    laid = {comp: wide for _, comp, _, wide in metrics_paper_layout(format_metric_columns(table3))}
    assert list(laid) == ["direct", "transfer"]
    direct = laid["direct"]
    assert list(direct.columns) == ["Condition", "Task", "Metric", "High EI", "Low EI", "Total EI"]
    assert list(laid["transfer"].columns)[3:] == ["High-Total", "Low-Total", "Total EI"]
    assert len(direct) == 3 * 2 * 2  # condition × task × (ROC-AUC, PR-AUC)
    row = direct[(direct["Condition"] == "Baseline") & (direct["Task"] == "Arousal")
                 & (direct["Metric"] == "ROC-AUC")].iloc[0]
    # planted: High's scores separate the classes, Low's are noise
    assert float(row["High EI"].split()[0]) > 0.95 and 0.3 < float(row["Low EI"].split()[0]) < 0.7
    html = _page(build_report(paper_run))
    # both compositions are the two steps of the paper's §3.3 / Figure 5; which one its Tables 2–4 show is open
    assert "composition “direct” (High, Low and Total each trained from the initial weights — the first step " \
           "of the paper's §3.3 / Figure 5 design" in html
    assert "composition “transfer” (the direct High and Low models fine-tuned on Total" in html
    assert "the second step of the paper's §3.3 / Figure 5 design" in html
    assert "not in the paper" not in html and "= the paper's Tables 2–4" not in html
    # the backbone is named once per table, not on every row
    assert html.count("resnet10t") < 20
    # numbers right-aligned, text left: a mean (SD) cell carries class num, a group label does not
    assert re.search(r'<td class="num">1\.0000 \((0\.0000)\)</td>', html)
    assert '<td class="grp">Baseline</td>' in html and "<td>ROC-AUC</td>" in html


def test_table4_states_caveat_calibrated_error_directions_and_min_p(paper_run):
    html = _page(build_report(paper_run))
    assert "Caveat — the paper's tests over-reject" in html
    assert "DeLong + Fisher rejected in 20–99 % of the studies" in html  # documented calibration
    assert "docs/statistics.md §5" in html and "no calibration was run for this run folder" in html
    # type-I rates in the body (a table and the footnotes), not in the column headers
    assert "Fisher p (type-I" not in html
    assert "Fisher 20–99 %, pooled CI 10–67 %, GEE 7–56 %" in html
    assert "ΔAUC = AUC(A) − AUC(B), positive favours A" in html and "below 1 favours A" in html
    full = pd.read_csv(paper_run.path("tables", "table4_full.csv"))
    rows = _html_cells(html)
    hl = [r for r in rows if "High vs Low" in r and r[4].startswith("+0.") and "[" in r[4]]  # paper's tests
    assert hl and "better (AUC" not in html  # the old column is gone
    # the direction names a group only when the random-effects CI excludes 0, else says it spans 0
    spans = int(((full["re_ci_low"] <= 0) & (full["re_ci_high"] >= 0)).sum())
    named = [r[3] for r in rows if len(r) == 10 and " vs " in r[2]]  # the paper tables' rows (10 columns)
    assert len(named) == len(full)
    assert named.count("none: RE CI spans 0") == spans
    assert sorted(v for v in named if v != "none: RE CI spans 0") == sorted(v for v in full["favoured"] if
                                                                            isinstance(v, str) and v)
    # paired repetitions (shared seeds), 3 pairs: the sign-flip test cannot reach p < 0.05
    assert "split.pairing = paired" in html and "not independent draws" in html
    assert "With 3 paired repetitions the sign-flip test's smallest attainable p is 2 / 2^3 = 0.25: " \
           "it cannot reach p < 0.05" in html
    assert "Fisher's method combines two-sided p-values and is blind to direction" in html
    assert "confounded with training-set size" in html
    md = paper_run.path("report", "report.md").read_text()
    assert "Caveat — the paper's tests over-reject" in md and "## Glossary" in md


def test_min_p_note_at_the_threshold(paper_run):
    """3 paired repetitions: smallest sign-flip p 2 / 2^3 = 0.25; with α = 0.25 the test still cannot reach
    p < α; just above α it can."""
    from eifer.config import load_config

    for alpha, blocked in ((0.25, True), (0.2501, False)):
        cfg = load_config(profile="demo", overrides={"transfer_cv": {"enabled": False}, "stats": {"alpha": alpha}})
        html = _page(build_report(RunFolder(paper_run.root, cfg)))
        assert (f"cannot reach p < {alpha:g}" in html) is blocked, alpha
        assert (f"0.25: it can reach p < {alpha:g}" in html) is not blocked
        # the caveat says what this run's test can reach, not that it "held its level" when it cannot reject
        assert (f"in this run it cannot reject at all: its smallest attainable p is 0.25 ≥ α = {alpha:g}" in html) \
            is blocked
        assert ("held its level (" in html and f"can reach p < {alpha:g} here (smallest attainable p 0.25)"
                in html) is not blocked


def test_measured_calibration_replaces_the_documented_figures(paper_run):
    from eifer.io import write_csv

    rows = [{"n_items": n, "effect": 0.0, "test": t, "description": t, "rejections": 0, "n_sim": 50,
             "rate": rate, "ci_low": rate / 2, "ci_high": min(1, rate * 2)}
            for n, rates in ((96, (0.42, 0.3, 0.2, 0.06, 0.04)), (3200, (0.5, 0.4, 0.3, 0.05, 0.03)))
            for t, rate in zip(("delong_fisher", "pooled_ci", "gee", "perm_auc", "perm_acc"), rates)]
    write_csv(paper_run.path("calibration", "calibration.csv"), pd.DataFrame(rows))
    html = _page(build_report(paper_run))
    assert "DeLong + Fisher rejected in 42–50 % of the studies" in html
    assert "measured by `eifer calibrate` for this run (50 simulated null studies per size;" in html
    assert "42.0 % ± 13.7 [21.0, 84.0]" in html  # ± 1.96·√(.42·.58/50) = 13.68
    assert "no calibration was run" not in html


def test_cutoff_sweep_is_compact():
    from eifer.report.layout import cutoff_neighbours, cutoff_runs

    cut = np.arange(500, 1010, 10).astype(float)  # 51 cutoffs, as the raw dump
    n_sig = np.where(cut < 700, 0, np.where(cut < 830, 2, np.where(cut == 830, 7, 1))).astype(float)
    sweep = pd.DataFrame({"cutoff": cut, "n_high": 60 - np.arange(51), "n_low": np.arange(51),
                          "imbalance": abs(60 - 2 * np.arange(51)), "n_significant": n_sig,
                          "eligible": [str(900 > c > 520) for c in cut], "chosen": [str(c == 830) for c in cut]})
    runs = cutoff_runs(sweep)
    assert runs.values.tolist() == [["500–520", 3, "0", "no", ""], ["530–690", 17, "0", "yes", ""],
                                    ["700–820", 13, "2", "yes", ""], ["830", 1, "7", "yes", "830"],
                                    ["840–890", 6, "1", "yes", ""], ["900–1000", 11, "1", "no", ""]]
    # cutoffs the sweep never tested (blank count in cutoff_sweep.csv) are "not tested", never 0
    untested = sweep.assign(n_significant=sweep["n_significant"].where(cut >= 520))
    runs = cutoff_runs(untested)
    assert runs.values.tolist()[:2] == [["500–510", 2, "not tested", "no", ""], ["520", 1, "0", "no", ""]]
    assert cutoff_neighbours(untested.assign(chosen=[str(c == 530) for c in cut]))[
        "significant HRV variables"].tolist() == ["not tested", "not tested", "0", "0", "0", "0", "0"]
    near = cutoff_neighbours(sweep)
    assert near["cutoff"].tolist() == ["800", "810", "820", "830", "840", "850", "860"]
    assert near.iloc[3].tolist()[-1] == "◀ chosen" and near.iloc[3]["significant HRV variables"] == "7"
    assert not near.isin(["830.0", "True", "False"]).any().any()


def test_hrv_section_plots_the_significant_variables(paper_run):
    html = _page(build_report(paper_run))
    assert paper_run.path("figures", "hrv_interactions.png").is_file()
    assert "HRV variables with a significant group × emotion interaction at the chosen cutoff:" in html
    assert "from hrv.parquet (the HRV stage wrote no per-segment quality record)" in html
    # no significant variable at the chosen cutoff: a sentence, no figure
    from eifer.io import write_csv

    sweep = pd.read_csv(paper_run.path("cutoff_sweep.csv"))
    sweep["significant_variables"] = sweep["significant_variables"].fillna("").where(~sweep["chosen"], "")
    write_csv(paper_run.path("cutoff_sweep.csv"), sweep)
    html = _page(build_report(paper_run))
    assert "No HRV variable has a significant group × emotion interaction at the chosen cutoff" in html


def test_hrv_quality_record_is_summarised_per_participant(paper_run):
    from eifer.io import write_parquet
    from eifer.report.summaries import hrv_quality_summary

    write_parquet(paper_run.path("hrv_quality.parquet"), pd.DataFrame({
        "participant_id": ["P01", "P01", "P02"], "segment": ["V1", "V2", "V1"], "beats_detected": [100, 120, 90],
        "beats_flagged": [2, 0, 9], "removed_share": [0.01, 0.03, 0.2], "polarity": ["+", "+", "-"]}))
    q, source = hrv_quality_summary(paper_run.root)
    q = q.set_index("participant_id")
    assert q.loc["P01", "beats_detected"] == 220 and q.loc["P01", "beats_flagged"] == 2
    assert q.loc["P01", "removed_share"] == 0.02 and q.loc["P02", "polarity"] == "-"
    assert q.loc["P01", "segments"] == 2 and source.startswith("hrv_quality.parquet")
    assert "beats flagged</th>" in _page(build_report(paper_run))  # shown in words, wrapping between them


def test_hrv_quality_counts_are_summed_as_integers(paper_run):
    """The hrv stage stores its counts (n_beats, n_<kind>) as floats: they are summed, not averaged,
    and print as 931, never 116.375 or "138.0"."""
    from eifer.io import write_parquet
    from eifer.report.summaries import hrv_quality_summary

    beats = [100.0, 131.0, 700.0, 90.0]
    write_parquet(paper_run.path("hrv_quality.parquet"), pd.DataFrame({
        "participant_id": ["P01", "P01", "P01", "P02"], "segment": ["V1", "V2", "V3", "V1"], "n_beats": beats,
        "n_ectopic": [1.0, 0.0, 2.0, 0.0], "nn_removed_share": [0.0, 0.1, 0.2, 0.0],
        "polarity": ["normal"] * 4, "hrv_excluded": ["", "", "", ""]}))
    q = hrv_quality_summary(paper_run.root)[0].set_index("participant_id")
    assert q.loc["P01", "n_beats"] == 931 and q.loc["P02", "n_beats"] == 90 and q.loc["P01", "n_ectopic"] == 3
    assert str(q["n_beats"].dtype) == "Int64" and q.loc["P01", "nn_removed_share"] == 0.1  # a share: averaged
    html = _page(build_report(paper_run))
    assert ">931<" in html and "931.0" not in html and "116.375" not in html


def test_participants_page_linked_with_one_figure_each_and_no_faces(paper_run):
    html = _page(build_report(paper_run))
    assert 'href="participants.html"' in html
    page = paper_run.path("report", "participants.html").read_text()
    assert page.count("<img ") == 2 and "Participant P01" in page and "Participant P02" in page
    assert 'href="index.html"' in page and "crops/" not in page
    md = paper_run.path("report", "participants.md").read_text()
    assert "../figures/participants/P01.png" in md and "(report.md)" in md
    assert "[Per-participant quality page" in paper_run.path("report", "report.md").read_text()


def test_participants_page_without_the_affect_tables_still_draws_the_outcomes(paper_run):
    import shutil

    from eifer.affect import read_estimates

    assert read_estimates(paper_run.root)["valence"].notna().any()  # the estimates are read from RUN/affect/
    shutil.rmtree(paper_run.path("affect"))  # affect not run (yet): the strips without traces, no error
    build_report(paper_run)
    assert paper_run.path("report", "participants.html").read_text().count("<img ") == 2


def test_participant_strip_draws_one_bar_per_run_of_outcomes():
    from eifer.report.figures import participant_frames_figure

    reasons = [""] * 5 + ["no_face"] * 3 + [""] * 2 + ["occluded"]  # planted runs: valid 2, no_face 1, occluded 1
    f = pd.DataFrame({"video_id": "V1", "time_s": np.arange(11) / 10, "reason": reasons,
                      "valence": 0.1, "arousal": -0.1})
    strip = participant_frames_figure(f).axes[0]
    bars = {c.get_label(): c.get_paths() for c in strip.collections}
    assert {k: len(v) for k, v in bars.items()} == {"valid": 2, "no_face": 1, "occluded": 1}
    # the no_face run covers frames 5–7: from 0.5 s for 3 frames of 0.1 s
    x = bars["no_face"][0].vertices[:, 0]
    assert np.isclose(x.min(), 0.5) and np.isclose(x.max(), 0.8)


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


def test_evidence_forest_plots_and_no_winner_when_the_random_interval_spans_zero(paper_run):
    """Per comparison family a forest plot; the evidence table's direction follows the random-effects CI."""
    from eifer.report.evidence import heterogeneity_table

    html = _page(build_report(paper_run))
    full = pd.read_csv(paper_run.path("tables", "table4_full.csv"))
    for comp, d in full.groupby("composition"):
        for comparison in d["comparison"].unique():
            name = f"forest_table4_resnet10t_{comp}_{comparison}".replace(" ", "_")
            assert paper_run.path("figures", f"{name}.png").is_file(), name
    md = paper_run.path("report", "report.md").read_text()
    families = set(re.findall(r"Forest plot \(([^)]*)\)", md))  # one per composition × comparison
    assert len(families) == full.groupby(["composition", "comparison"]).ngroups
    t = heterogeneity_table(full[full["composition"] == "direct"])
    d = full[full["composition"] == "direct"]
    spans = int(((d["re_ci_low"] <= 0) & (d["re_ci_high"] >= 0)).sum())
    assert (t["direction"] == "none: RE CI spans 0").sum() == spans
    assert "Table 4 (evidence)" in html and "blind to direction" in html
    # every repetition's GEE OR: in the report's per-repetition table and in load_run
    from eifer.results import load_run

    reps = load_run(paper_run.root).tables["table4_reps"]
    assert {"or_", "or_ci_low", "or_ci_high", "gee_p", "gee_note"} <= set(reps.columns)
    assert "Table 4 per repetition — direct" in html and "OR [95% CI] (GEE)" in html
    fitted = reps[reps["or_"].notna()].iloc[0]
    assert f"{fitted.or_:.3f} [{fitted.or_ci_low:.3f}, {fitted.or_ci_high:.3f}]" in html


def test_disagreeing_repetitions_name_no_winner(tmp_path):
    """The issue's pattern: two repetitions favour High, one favours Low strongly; Fisher is tiny, the
    fixed pool may exclude 0, but the random pool spans 0 and no group is named."""
    from eifer.config import load_config
    from eifer.report.evidence import evidence_blocks, heterogeneity_table
    from eifer.stats import compare_groups, compare_groups_by_rep
    from eifer.stats.calibration import simulate_predictions
    from eifer.stats.tables import write_stats_tables

    pred = simulate_predictions(n_items=800, reps=3, effect=1.0, seed=11, groups=("High", "Low"))
    flip = pred["rep"] == 2  # rep 2: the groups' scores swapped, so Low wins there
    hi, lo = (flip & (pred.group == "High")), (flip & (pred.group == "Low"))
    pred.loc[hi, "group"], pred.loc[lo, "group"] = "Low", "High"
    full = compare_groups(pred, comparisons={"direct": [("High", "Low")]})
    row = full.iloc[0]
    assert row.fisher_p < 1e-6 and row.i2 > 90
    assert row.re_ci_low < 0 < row.re_ci_high and row.favoured == ""
    assert heterogeneity_table(full)["direction"].tolist() == ["none: RE CI spans 0"]
    run = RunFolder(tmp_path / "run", load_config(profile="demo")).init()
    write_stats_tables(full, run.path("tables"), 4, by_rep=compare_groups_by_rep(pred, {"direct": [("High", "Low")]}))
    blocks = evidence_blocks(run, 4)
    assert any(getattr(b, "path", None) is not None and b.path.is_file() for b in blocks)
def test_interpretation_blocks_on_the_paper_run(paper_run):
    """N items and positives beside the metrics, the chosen cutoff's partition, the ANOVA behind the cutoff
    with its circularity note, and each participant's group, ratings and labels."""
    html = _page(build_report(paper_run))
    # planted predictions: 80 items per model, 40 of class 1
    assert "80 (40 = 50.0 %)" in html and "Chance: ROC-AUC 0.5" in html
    # scores 900 and 700: every swept cutoff (820–840) gives the chosen 830's partition
    assert "Every cutoff from 820 to 840 gives the same two groups as the chosen 830" in html
    assert "F (group × emotion)" in html and "partial η²" in html and "Circularity: the cutoff was chosen" in html
    assert "Units: MeanNN ms, SDNN ms." in html
    page = _page(paper_run.path("report", "participants.html"))
    assert "EI group High (score 900, cutoff 830)" in page and "EI group Low (score 700, cutoff 830)" in page
    assert page.count("(weak: neutral rating, from the domain)") == 1  # planted: P02's arousal rating only
    assert "<td>HAHV</td>" in page and "<td>high</td>" in page


def test_degenerate_mark_at_the_majority_share_exactly():
    """Accuracy equal to the majority-class share is marked; one step above it is not."""
    from eifer.report.interpret import annotate_metrics

    t = pd.DataFrame({"Backbone": "b", "Composition": "direct", "Condition": "baseline", "Task": "arousal",
                      "Group": ["High", "Low"], "N items": 200, "Positives": 60, "accuracy_mean": [0.705, 0.70]})
    w = pd.DataFrame({"Condition": ["Baseline"], "Task": ["Arousal"], "Metric": ["Accuracy"],
                      "High EI": ["0.7050 (0.0)"], "Low EI": ["0.7000 (0.0)"]})
    out, n = annotate_metrics(w, t, "b", "direct")
    assert n == 1 and out.loc[0, "Low EI"].endswith("†") and not out.loc[0, "High EI"].endswith("†")
    assert out.loc[0, "N items (positives)"] == "200 (60 = 30.0 %)"


def _planted_beats():
    """Two segments; P01: 2 removed + 1 kept flagged interval in baseline, 1 removed in V1."""
    beats = pd.DataFrame({"participant_id": "P01", "segment": ["baseline", "baseline", "baseline", "V1"],
                          "time_s": [10.0, 20.5, 40.0, 75.0], "rr_ms": [450.0, 1250.0, 980.0, 520.0],
                          "flag": ["ectopic", "ectopic", "longshort", "extra"],
                          "removed": [True, True, False, True]})
    segs = pd.DataFrame({"participant_id": "P01", "segment": ["baseline", "V1"], "onset_s": [0.0, 60.0],
                         "offset_s": [60.0, 120.0]})
    return beats, segs


def test_tachogram_draws_each_flagged_interval_where_it_lies_on_its_segment():
    from matplotlib.collections import LineCollection, PathCollection

    from eifer.report.figures import participant_tachogram_figure

    beats, segs = _planted_beats()
    segs = segs.assign(mean_nn_ms=[800.0, 700.0], n_removed=[2, 1])
    ax = participant_tachogram_figure(beats, segs, "P01").axes[0]
    pts = {c.get_label(): c.get_offsets().data.tolist() for c in ax.collections if isinstance(c, PathCollection)}
    assert pts == {"flagged, removed (3)": [[10.0, 450.0], [20.5, 1250.0], [75.0, 520.0]],
                   "flagged, kept as sinus swing (1)": [[40.0, 980.0]]}
    shaded = sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches)
    assert shaded == [(0.0, 60.0), (60.0, 120.0)]
    assert sorted(t.get_text() for t in ax.texts) == ["V1\n1 removed", "baseline\n2 removed"]
    means = [seg.tolist() for c in ax.collections if isinstance(c, LineCollection) for seg in c.get_segments()]
    assert means == [[[0.0, 800.0], [60.0, 800.0]], [[60.0, 700.0], [120.0, 700.0]]]
    # nothing flagged, segments known: spans and means, no points
    ax = participant_tachogram_figure(beats.iloc[:0], segs).axes[0]
    assert not [c for c in ax.collections if isinstance(c, PathCollection)] and len(ax.patches) == 2


def test_participant_page_has_tachogram_and_removed_beat_counts(paper_run, tmp_path):
    import json

    from eifer.io import write_parquet

    beats, segs = _planted_beats()
    (tmp_path / "ecg").mkdir()
    # P02 has segments but no flagged interval: its tachogram shows the segments and no points
    pd.concat([segs, segs.assign(participant_id="P02")]).to_csv(tmp_path / "ecg" / "segments.csv", index=False)
    info = json.loads(paper_run.path("study.json").read_text())
    paper_run.path("study.json").write_text(json.dumps({**info, "path": str(tmp_path)}))
    hrv = pd.read_parquet(paper_run.path("hrv.parquet"))
    planted = {("P01", "baseline"): (2, 1), ("P02", "baseline"): (0, 0)}  # (removed, kept), P02 clean
    hrv["n_removed"] = [planted.get((p, s), (0, 0))[0] for p, s in zip(hrv["participant_id"], hrv["segment"])]
    hrv["n_unconfirmed"] = [planted.get((p, s), (0, 0))[1] for p, s in zip(hrv["participant_id"], hrv["segment"])]
    hrv["n_ectopic"] = hrv["n_removed"] + hrv["n_unconfirmed"]
    write_parquet(paper_run.path("hrv.parquet"), hrv)
    write_parquet(paper_run.path("hrv_beats.parquet"), beats)
    build_report(paper_run)
    page = _page(paper_run.path("report", "participants.html"))
    assert page.count("<img ") == 4  # frames + tachogram, each
    assert all(f"<figcaption>Participant {p}: HRV tachogram —" in page for p in ("P01", "P02"))
    assert all(paper_run.path("figures", "participants", "hrv", f"{p}.png").is_file() for p in ("P01", "P02"))
    assert "removed</th>" in page and "kept (sinus swing)</th>" in page
    md = paper_run.path("report", "participants.md").read_text()
    p01 = md.split("## Participant P01")[1].split("## Participant P02")[0]
    # the baseline row: 3 flagged (not 3 + 2 removed + 1 kept), 2 removed, 1 kept
    assert re.search(r"\| baseline \| baseline \|[^|]*\| 3 \| 2 \| 1 \|", p01), p01
    assert "of every frame with a face crop, valid or dropped" in page and "of the valid frames" not in page
    # without hrv_beats.parquet: no tachogram, the rest unchanged
    paper_run.path("hrv_beats.parquet").unlink()
    build_report(paper_run)
    assert paper_run.path("report", "participants.html").read_text().count("<img ") == 2


def test_table1_states_the_rating_scales_from_study_yaml(handmade_run, tmp_path):
    import json

    from eifer.report.build import _rating_scales

    assert _rating_scales(handmade_run) == []  # the study folder is not reachable: nothing claimed
    (tmp_path / "study.yaml").write_text("likert: {min: 0, max: 10, neutral: 5}\n"
                                         "ei: {tasks: [a, b], emotions: [joy, calm], stimuli: 3}\n")
    info = json.loads(handmade_run.path("study.json").read_text())
    handmade_run.path("study.json").write_text(json.dumps({**info, "path": str(tmp_path)}))
    (text,) = [b.text for b in _rating_scales(handmade_run)]
    # planted: 2 tasks × 2 emotions × 3 stimuli = 12 items, 10 points each (the config's default)
    assert text == ("Scales: video ratings on a 0–10 Likert scale, neutral 5 (study.yaml); EI score 0–120 "
                    "(12 items × 10 points per correct answer).")
    (tmp_path / "study.yaml").write_text("likert: {min: 1, max: 6, neutral: null}\n")
    assert "1–6 Likert scale, no neutral point" in _rating_scales(handmade_run)[0].text


def test_calibrate_stage_simulates_the_runs_design_and_the_report_shows_it(paper_run):
    """The pipeline's calibrate stage (on in the demo profile) writes RUN/calibration for this run's pairing,
    repetitions and test sizes; the report then shows those rates with their Monte-Carlo error, not the
    documented figures."""
    from eifer.calibrate.stage import run_calibrate
    from eifer.config import load_config
    from eifer.io import write_parquet
    from eifer.pipeline.stages import STAGES, config_payload
    from eifer.stats.calibration import simulate_predictions

    stage = next(s for s in STAGES if s.name == "calibrate")
    assert stage.enabled(load_config(profile="demo")) and not stage.enabled(load_config(profile="paper"))
    assert load_config(profile="demo").report.calibrate_sims == 100
    assert {"split.pairing", "train.repetitions", "report.calibrate_sims"} <= set(
        config_payload(load_config(profile="demo"), stage.sections(load_config(profile="demo"))))
    assert "calibrate" in next(s for s in STAGES if s.name == "report").upstream(load_config(profile="demo"))
    cfg = load_config(profile="demo", overrides={"transfer_cv": {"enabled": False}, "report": {"calibrate_sims": 2}})
    run = RunFolder(paper_run.root, cfg)
    pred = simulate_predictions(n_items=48, reps=cfg.train.repetitions, seed=5, participants=4, videos=3)
    pred = pd.concat([pred, pred[pred["frame"] < 1].assign(condition="unambiguous")], ignore_index=True)
    write_parquet(run.path("predictions.parquet"), pred)
    outs = run_calibrate(None, run)
    assert outs == ["calibration/calibration.csv", "calibration/design.json", "calibration/calibration.md"]
    design = json.loads(run.path("calibration", "design.json").read_text())
    assert design["paired"] is True and design["reps"] == cfg.train.repetitions == 3
    assert design["n_items"] == [12, 48] and design["n_sim"] == 2 and design["participants"] == 4
    html = _page(build_report(run))
    assert "measured by `eifer calibrate` for this run (2 simulated null studies per size;" in html
    assert "simulated for this run's design" in html and "N = 12, 48" in html
    assert "no calibration was run" not in html and "simulated for another design" not in html
    t = pd.read_csv(run.path("calibration", "calibration.csv"))
    gee = t[(t.test == "gee") & (t.n_items == 48)].iloc[0]
    half = 100 * 1.96 * np.sqrt(gee.rate * (1 - gee.rate) / 2)
    assert f"{100 * gee.rate:.1f} % ± {half:.1f} [" in html  # the run's rate, with its Monte-Carlo error
    # a calibration of another design is named as such
    other = RunFolder(run.root, load_config(profile="demo", overrides={
        "transfer_cv": {"enabled": False}, "train": {"repetitions": 5}}))
    assert "simulated for another design than this run's — repetitions 3 (the run: 5)" in _page(build_report(other))


def test_pairing_paragraph_under_independent_pairing_says_transfer_is_paired(tmp_path):
    from eifer.config import load_config
    from eifer.report.evidence import pairing_blocks

    for pairing in ("paired", "independent"):
        run = RunFolder(tmp_path / pairing, load_config(profile="demo", overrides={"split": {"pairing": pairing}}))
        text = " ".join(getattr(b, "text", "") for b in pairing_blocks(run))
        assert "High-Total and Low-Total of repetition r are fine-tuned with the Total group's seed" in text
        assert ("“transfer” rows use the exact paired sign-flip test over the 3 repetition pairs" in text) \
            is (pairing == "independent")
        assert ("unpaired relabelling" in text) is (pairing == "independent")
