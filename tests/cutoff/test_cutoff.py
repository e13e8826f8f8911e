"""Cutoff sweep on 44-participant synthetic studies: recovers a planted cutoff,
finds nothing beyond chance on a null study; selection rule and outputs."""
import json

import numpy as np
import pandas as pd
import pytest

from eifer.cutoff import (
    assign_groups,
    candidate_cutoffs,
    choose_cutoff,
    cutoff_sweep,
    interaction_pvalues,
    sweep_data,
)
from eifer.errors import EiferError

SWEEP_COLUMNS = ["cutoff", "n_high", "n_low", "imbalance", "n_significant", "eligible", "chosen",
                 "significant_variables"]


def _read(run, name):
    return pd.read_csv(run.path(name), dtype={"participant_id": str}, keep_default_na=False,
                       na_values={"n_significant": [""]})


def test_planted_cutoff_is_recovered_and_beyond_chance(planted44):
    run = planted44["run"]
    truth = json.loads((planted44["study"].root / "_truth" / "truth.json").read_text())
    sweep = _read(run, "cutoff_sweep.csv")
    assert list(sweep.columns) == SWEEP_COLUMNS
    chosen = sweep.loc[sweep["chosen"]]
    assert len(chosen) == 1
    cutoff = float(chosen["cutoff"].iloc[0])
    assert abs(cutoff - truth["planted_cutoff"]) <= 60
    null = json.loads(run.path("cutoff_null.json").read_text())
    assert null["chosen_cutoff"] == cutoff
    # the best count is far above the chance level and above every shuffled sweep
    assert null["observed_max"] > 5 * null["chance_per_cutoff"]
    assert null["observed_max"] > max(null["null_max"])
    assert null["p_value"] < 0.05 and null["beyond_chance"]
    # the planted heart-rate response is among the significant variables at the chosen cutoff
    assert "HRV_MeanNN" in chosen["significant_variables"].iloc[0].split(";")


def test_null_study_shows_nothing_beyond_chance(null44):
    """Criterion: the best count over eligible cutoffs is compared with its
    distribution when scores are shuffled across participants (max-statistic
    permutation test, which accounts for the many cutoffs and the correlated
    HRV variables); p >= 0.05 means no cutoff is better than chance."""
    null = json.loads(null44["run"].path("cutoff_null.json").read_text())
    assert null["n_perm"] == 40 and len(null["null_max"]) == 40
    assert null["p_value"] >= 0.05 and not null["beyond_chance"]
    assert null["observed_max"] <= null["null_q95"]


def test_groups_table_and_eligibility_rule(planted44):
    run = planted44["run"]
    sweep = _read(run, "cutoff_sweep.csv")
    groups = _read(run, "groups.csv")
    ei = _read(run, "ei_scores.csv")
    n = len(ei)
    assert list(groups.columns) == ["participant_id", "score", "group", "cutoff"]
    cutoff = groups["cutoff"].iloc[0]
    assert ((groups["score"] > cutoff) == (groups["group"] == "High")).all()
    assert sorted(groups["participant_id"]) == sorted(ei["participant_id"])
    # n_high/n_low and imbalance follow from the scores; eligibility is the SPEC §3 rule
    s = ei["ei_score"].to_numpy()
    assert (sweep["n_high"] == [int((s > c).sum()) for c in sweep["cutoff"]]).all()
    assert (sweep["imbalance"] == (sweep["n_high"] - sweep["n_low"]).abs()).all()
    want = (sweep[["n_high", "n_low"]].min(axis=1) >= 5) & (sweep["imbalance"] <= 0.3 * n)
    assert (sweep["eligible"] == want).all()
    small = sweep[["n_high", "n_low"]].min(axis=1) < 5
    assert sweep.loc[small, "n_significant"].isna().all() and sweep.loc[~small, "n_significant"].notna().all()
    assert np.allclose(np.diff(sweep["cutoff"]), 10)
    # the chosen row has the most significant interactions among eligible cutoffs
    best = sweep.loc[sweep["eligible"], "n_significant"].max()
    assert sweep.loc[sweep["chosen"], "n_significant"].iloc[0] == best
    # the truth: most participants land in their planted group
    truth = pd.read_csv(planted44["study"].root / "_truth" / "participants.csv", dtype={"participant_id": str})
    agree = groups.merge(truth, on="participant_id").eval("group == true_group").mean()
    assert agree > 0.8


def test_figure7_and_table1_written(planted44):
    run = planted44["run"]
    png = run.path("figures", "figure7.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    t1 = pd.read_csv(run.path("tables", "table1.csv")).set_index("statistic")
    groups = _read(run, "groups.csv")
    assert int(t1.loc["n", "High"]) == (groups["group"] == "High").sum()
    assert int(t1.loc["n", "Total"]) == 44
    assert int(t1.loc["sex: F", "Total"]) + int(t1.loc["sex: M", "Total"]) == 44
    # the paper reports age per group: mean (SD) of the study's participants.csv ages
    ages = pd.read_csv(planted44["study"].root / "participants.csv")["age"]
    assert t1.loc["age, mean (SD)", "Total"] == f"{ages.mean():.2f} ({ages.std(ddof=1):.2f})"
    # planted: low EI gives more neutral ratings
    assert float(t1.loc["neutral arousal ratings, %", "Low"]) > float(t1.loc["neutral arousal ratings, %", "High"])
    md = run.path("tables", "table1.md").read_text()
    assert md.startswith("Table 1.") and "| n | " in md


def test_tie_breaks_smaller_imbalance_then_lower_cutoff():
    sw = pd.DataFrame({"cutoff": [700, 710, 720, 730, 740], "imbalance": [6, 2, 2, 2, 0],
                       "n_significant": [9, 9, 9, 9, 9], "eligible": [True, True, True, True, False]})
    assert sw.loc[choose_cutoff(sw), "cutoff"] == 710
    sw.loc[3, "n_significant"] = 10
    assert sw.loc[choose_cutoff(sw), "cutoff"] == 730
    with pytest.raises(EiferError, match="no eligible cutoff"):
        choose_cutoff(sw.assign(eligible=False))


def test_candidates_span_observed_range_and_high_is_strictly_above():
    assert candidate_cutoffs([703, 745, 790], 10).tolist() == list(np.arange(700.0, 790.0, 10))
    g = assign_groups(pd.DataFrame({"participant_id": ["a", "b", "c"], "ei_score": [820, 830, 831]}), 830)
    assert g["group"].tolist() == ["Low", "Low", "High"]


def _toy(n=24, effect=1.0, seed=0):
    """HRV with a planted group × emotion interaction for the first half of the participants."""
    rng = np.random.default_rng(seed)
    ids = [f"p{i:02d}" for i in range(n)]
    labels = ["HAHV", "HALV", "LAHV", "LALV"]
    high = np.arange(n) < n // 2
    rows = []
    for i, pid in enumerate(ids):
        base = rng.normal(0, 1)
        for k, lab in enumerate(labels):
            react = (1 if lab.startswith("HA") else -1) * effect * (1 if high[i] else -1)
            rows.append({"participant_id": pid, "segment": f"V{k}", "emotion_label": lab,
                         "HRV_X": base + react + rng.normal(0, 0.5), "HRV_N": rng.normal(0, 1)})
    return ids, high, pd.DataFrame(rows)


def test_mixed_model_variant_finds_planted_interaction_only():
    ids, high, hrv = _toy()
    data, variables = sweep_data(hrv)
    groups = pd.Series(np.where(high, "High", "Low"), index=ids)
    p_anova = interaction_pvalues(data, groups, variables, "anova")
    p_mixed = interaction_pvalues(data, groups, variables, "mixed")
    assert variables == ["HRV_X", "HRV_N"]
    assert p_anova[0] < 1e-6 and p_mixed[0] < 1e-6
    assert p_anova[1] > 0.05 and p_mixed[1] > 0.05
    with pytest.raises(EiferError, match="choose 'anova' or 'mixed'"):
        interaction_pvalues(data, groups, variables, "bayes")


def test_sweep_needs_enough_participants_with_hrv():
    ids, high, hrv = _toy(n=8)
    scores = pd.DataFrame({"participant_id": ids, "ei_score": np.linspace(600, 1000, 8)})
    with pytest.raises(EiferError, match=r"need at least 10 \(2 × cutoff.min_group_size = 5\); lower "
                                         r"cutoff.min_group_size to 4 or fix cutoff.cutoff"):
        cutoff_sweep(scores, hrv)
    # a fixed cutoff really skips the sweep's size rule (README: it skips the choice)
    sweep = cutoff_sweep(scores, hrv, fixed_cutoff=800.0)
    assert sweep.loc[sweep["chosen"], "cutoff"].tolist() == [800.0]
    assert sweep["n_significant"].isna().all()  # no cutoff leaves both groups at min_group_size


def test_hrv_quality_record_on_synthetic_ecg_excludes_nothing(planted44):
    """The hrv stage's quality record: every segment of the (clean, upright) synthetic ECG is used."""
    run = planted44["run"]
    q = pd.read_parquet(run.path("hrv_quality.parquet"))
    assert len(q) == len(pd.read_parquet(run.path("hrv.parquet"))) > 0
    assert (q["polarity"] == "upright").all() and (q["hrv_excluded"] == "").all()
    assert q["nn_removed_share"].max() < 0.05
    assert json.loads(run.path("cutoff_null.json").read_text())["hrv_excluded_segments"] == []


def test_beyond_chance_is_p_strictly_below_permutation_alpha():
    from eifer.cutoff import sweep_permutation_test

    rng = np.random.default_rng(1)
    ids = [f"p{i:02d}" for i in range(20)]
    sc = pd.DataFrame({"participant_id": ids, "ei_score": np.linspace(700, 990, 20)})
    planted = 3 * np.repeat(sc["ei_score"].to_numpy() > 850, 4) * np.tile([1, -1, 1, -1], 20)
    h = pd.DataFrame({"participant_id": np.repeat(ids, 4),
                      "emotion_label": np.tile(["HAHV", "HALV", "LAHV", "LALV"], 20),
                      **{f"HRV_{k}": rng.normal(size=80) + planted for k in range(4)}})
    kw = dict(n_perm=4, step=50, seed=2, show_progress=False)
    p = sweep_permutation_test(sc, h, **kw)["p_value"]
    assert p == pytest.approx(1 / 5)  # the planted interaction (4 variables) beats all 4 shuffles of this seed
    assert not sweep_permutation_test(sc, h, alpha_perm=p, **kw)["beyond_chance"]
    assert sweep_permutation_test(sc, h, alpha_perm=p + 1e-9, **kw)["beyond_chance"]


def test_cutoff_stage_judges_with_the_configured_permutation_alpha(planted44, tmp_path):
    import shutil

    from eifer.config import load_config
    from eifer.cutoff import run_cutoff
    from eifer.runfolder import RunFolder

    # 3 shuffles all below the planted best count: p = 1/4, beyond chance at permutation_alpha 0.26 (not at 0.05)
    cfg = load_config(profile="demo", overrides={"cutoff": {"n_permutations": 3, "permutation_alpha": 0.26}}, seed=0)
    run = RunFolder(tmp_path / "run", cfg).init()
    for name in ("ei_scores.csv", "hrv.parquet"):
        shutil.copy(planted44["run"].path(name), run.path(name))
    run_cutoff(planted44["study"], run)
    null = json.loads(run.path("cutoff_null.json").read_text())
    assert null["p_value"] == 0.25 and null["beyond_chance"]
    assert null["criterion"].endswith("beyond_chance = p_value < 0.26")
