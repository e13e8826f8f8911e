"""compare_groups on simulated predictions: planted differences found, none found where none planted."""
import numpy as np
import pandas as pd
import pytest

from eifer.config import load_config
from eifer.errors import EiferError
from eifer.runfolder import RunFolder
from eifer.stats import compare_groups, delong_by_rep, run_stats, stats_table
from eifer.stats.calibration import simulate_predictions


@pytest.fixture(scope="module")
def planted():
    # High's models separate the classes clearly better (+1 logit) on 800 test items
    return simulate_predictions(n_items=800, reps=5, effect=1.0, seed=11)


@pytest.fixture(scope="module")
def null():
    # no group difference and hardly any training-run variation: every test should stay quiet
    return simulate_predictions(n_items=800, reps=5, effect=0.0, seed=12, sd_model=0.0, sd_model_video=0.0)


def test_planted_difference_is_found_by_every_test(planted):
    r = compare_groups(planted).set_index("comparison")
    for comp in ("High vs Low", "High vs Total"):
        row = r.loc[comp]
        assert row.n_reps == 5 and row.n_items == 800
        assert row.delta_auc > 0 and row.delta_ci_low > 0
        assert row.delong_q < 0.001
        assert row.or_ < 1 and row.or_ci_high < 1 and row.gee_q < 0.01  # Low/Total less often right
        # paired repetitions (default): all 5 pairs the same way = the smallest sign-flip p, 2 / 2^5
        assert row.perm_delta_auc > 0 and row.perm_p_auc == row.perm_min_p == 2 / 32
        assert row.perm_method == "paired sign-flip"
        assert row.re_ci_low > 0 and row.favoured == "High" and row.stouffer_z > 0 and row.stouffer_p < 0.001
        assert row.q_df == 4 and 0 <= row.i2 < 100
    unpaired = compare_groups(planted, paired=False).set_index("comparison")
    assert unpaired["perm_p_auc"].tolist() == pytest.approx([2 / 252, 2 / 252])
    assert (unpaired["perm_method"] == "unpaired relabelling").all()


def test_favoured_only_when_the_random_effects_interval_excludes_zero():
    from eifer.stats.compare import _favoured

    row = {"group_a": "High", "group_b": "Low"}
    assert _favoured(row | {"re_ci_low": 1e-9, "re_ci_high": 0.1}) == "High"
    assert _favoured(row | {"re_ci_low": 0.0, "re_ci_high": 0.1}) == ""     # touching 0 is spanning it
    assert _favoured(row | {"re_ci_low": -0.1, "re_ci_high": 0.0}) == ""
    assert _favoured(row | {"re_ci_low": -0.1, "re_ci_high": -1e-9}) == "Low"
    assert _favoured(row) == ""                                             # no pool: no winner


def test_by_rep_rows_are_the_pooled_evidence(planted):
    from eifer.stats import compare_groups_by_rep, pool_inverse_variance, pool_random_effects

    reps = compare_groups_by_rep(planted)
    r = compare_groups(planted).set_index("comparison")
    for comp, d in reps.groupby("comparison"):
        assert sorted(d["rep"]) == [0, 1, 2, 3, 4]
        assert (d["ci_low"] < d["delta"]).all() and (d["delta"] < d["ci_high"]).all()
        assert pool_inverse_variance(d["delta"], d["se"])[0] == pytest.approx(r.loc[comp, "delta_auc"])
        assert pool_random_effects(d["delta"], d["se"], knha=True).ci_low == pytest.approx(r.loc[comp, "re_ci_low"])
        assert (d["delta"] == d["auc_a"] - d["auc_b"]).all()


def test_nothing_found_where_nothing_planted(null):
    r = compare_groups(null)
    assert (r["delong_q"] > 0.05).all()
    assert (r["gee_q"] > 0.05).all()
    assert (r["perm_q_auc"] > 0.05).all()
    assert (r["delta_ci_low"] < 0).all() and (r["delta_ci_high"] > 0).all()
    assert (r["favoured"].fillna("") == "").all() and (r["stouffer_p"] > 0.05).all()


def test_delong_by_rep_matches_items_across_groups(planted):
    cell = planted.sample(frac=1.0, random_state=0)  # order must not matter
    cell = cell[~((cell.group == "Low") & (cell.rep == 0) & (cell.frame == 0))]  # Low misses some items
    reps = delong_by_rep(cell, "High", "Low").set_index("rep")
    assert reps.loc[0, "n_items"] == 800 - 16 and reps.loc[1, "n_items"] == 800


def test_bh_families_are_per_backbone_and_analysis(planted, null):
    both = pd.concat([planted, null.assign(backbone="other")], ignore_index=True)
    r = compare_groups(both)
    alone = compare_groups(planted)
    # the planted backbone's q-values do not change when another backbone is added
    np.testing.assert_allclose(r[r.backbone == "sim"]["delong_q"], alone["delong_q"])
    np.testing.assert_allclose(r[r.backbone == "sim"]["gee_q"], alone["gee_q"])


def test_transfer_default_comparisons_and_table_layout(planted):
    tr = planted.replace({"group": {"High": "High-Total", "Low": "Low-Total"}}).assign(composition="transfer")
    r = compare_groups(pd.concat([planted, tr], ignore_index=True))
    assert set(r["comparison"]) == {"High vs Low", "High vs Total", "High-Total vs Low-Total",
                                    "High-Total vs Total"}
    t = stats_table(r)
    assert list(t.columns[:5]) == ["Backbone", "Composition", "Task", "Condition", "Comparison"]
    assert t["Fisher p"].str.contains("< 0.001").all()


def test_bad_predictions_are_named(planted):
    with pytest.raises(EiferError, match="missing column"):
        compare_groups(planted.drop(columns=["prob"]))
    bad = planted.copy()
    bad.loc[5, "prob"] = np.nan
    with pytest.raises(EiferError, match="row 5"):
        compare_groups(bad)
    with pytest.raises(EiferError, match="repeats an item"):
        compare_groups(pd.concat([planted, planted.iloc[:1]]))


def test_run_stats_writes_table4(tmp_path, planted):
    run = RunFolder(tmp_path / "run", load_config(profile="demo")).init()
    planted.to_parquet(run.path("predictions.parquet"))
    outs = run_stats(None, run)
    assert outs == ["tables/table4.csv", "tables/table4.md", "tables/table4_full.csv", "tables/table4_reps.csv"]
    reps = pd.read_csv(run.path("tables", "table4_reps.csv"))
    assert len(reps) == 2 * 5 and set(reps["comparison"]) == {"High vs Low", "High vs Total"}
    md = run.path("tables", "table4.md").read_text()
    assert md.startswith("Table 4.") and "| High vs Low |" in md


def test_run_stats_takes_comparisons_and_permutations_from_the_config(tmp_path):
    # 3 + 3 models: C(6, 3) = 20 relabelings
    pred = simulate_predictions(n_items=96, reps=3, effect=1.0, seed=2)
    both = pd.concat([pred, pred.assign(condition="ambiguous")], ignore_index=True)

    def table(stats, pairing="independent"):
        run = RunFolder(tmp_path / str(len(list(tmp_path.iterdir()))),
                        load_config(profile="demo", overrides={"stats": stats, "split": {"pairing": pairing}})).init()
        both.to_parquet(run.path("predictions.parquet"))
        run_stats(None, run)
        return pd.read_csv(run.path("tables", "table4_full.csv"))

    default = table({})
    assert sorted(default["comparison"]) == ["High vs Low", "High vs Low", "High vs Total", "High vs Total"]
    assert default["perm_n"].eq(20).all()  # all relabelings enumerated
    one = table({"comparisons": {"direct": [["High", "Low"]]}})
    assert one["comparison"].tolist() == ["High vs Low"] * 2  # one row per cell (task × condition)
    assert one.groupby(["task", "condition"]).size().eq(1).all()
    with pytest.raises(EiferError, match="no group comparison to make: stats.comparisons"):
        table({"comparisons": {"direct": []}})
    # exact enumeration up to and including max_exact; one fewer: n_permutations random draws + the observed one
    assert table({"max_exact": 20, "n_permutations": 7})["perm_n"].eq(20).all()
    assert table({"max_exact": 19, "n_permutations": 7})["perm_n"].eq(8).all()
    # split.pairing: paired → the sign-flip test over the 3 pairs: 2^3 = 8 patterns, smallest p 0.25
    paired = table({}, "paired")
    assert paired["perm_n"].eq(8).all() and paired["perm_min_p"].eq(0.25).all()
    assert paired["perm_method"].eq("paired sign-flip").all()
    assert table({"max_exact": 8, "n_permutations": 5}, "paired")["perm_n"].eq(8).all()
    assert table({"max_exact": 7, "n_permutations": 5}, "paired")["perm_n"].eq(6).all()


def test_unknown_comparison_groups_are_refused_by_name():
    from eifer.errors import ConfigError

    with pytest.raises(ConfigError, match=r"stats\.comparisons.*unknown group 'Hgh'; did you mean 'High'"):
        load_config(overrides={"stats": {"comparisons": {"direct": [["Hgh", "Low"]]}}})
    with pytest.raises(ConfigError, match=r"stats\.comparisons.*transfer: unknown group 'High'"):
        load_config(overrides={"stats": {"comparisons": {"transfer": [["High", "Total"]]}}})
    with pytest.raises(ConfigError, match=r"stats\.comparisons.*'Low' compared with itself"):
        load_config(overrides={"stats": {"comparisons": {"cv": [["Low", "Low"]]}}})
    with pytest.raises(ConfigError, match=r"stats\.comparisons.*unknown composition 'drect'; did you mean 'direct'"):
        load_config(overrides={"stats": {"comparisons": {"drect": [["High", "Low"]]}}})


def test_gee_on_a_cell_every_group_gets_right_is_one_clear_error_not_runtime_warnings():
    """Zero residuals make the solver divide by zero: one EiferError (kept as gee_note by
    compare_groups), no bare numpy RuntimeWarning lines."""
    import warnings

    from eifer.stats.gee import gee_group_effects

    df = pd.DataFrame([{"group": g, "rep": r, "item": i, "correct": 1}
                       for g in ("High", "Low") for r in range(3) for i in range(40)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(EiferError, match="did not converge"):
            gee_group_effects(df)
    # one item wrong for Low: estimable again, same solver
    df.loc[(df["group"] == "Low") & (df["item"] < 5), "correct"] = 0
    df.loc[(df["group"] == "High") & (df["item"] == 7), "correct"] = 0
    assert gee_group_effects(df)["or_"].iloc[0] < 1


def test_per_rep_gee_is_the_pooled_model_on_that_repetition(planted):
    from eifer.stats import compare_groups_by_rep, gee_group_effects

    reps = compare_groups_by_rep(planted)
    cell = planted[(planted.task == planted.task.iloc[0]) & (planted.condition == planted.condition.iloc[0])]
    one = cell[cell.rep == 3].assign(correct=lambda d: (d.pred == d.y_true).astype(int))
    ref = gee_group_effects(one, reference="High", repetition=None).set_index("level")
    got = reps[(reps.rep == 3) & (reps.task == one.task.iloc[0]) & (reps.condition == one.condition.iloc[0])]
    got = got.set_index("group_b")
    for lv in ("Low", "Total"):  # High with both groups it is compared with, as the pooled model
        assert got.loc[lv, "or_"] == pytest.approx(ref.loc[lv, "or_"], rel=1e-12)
        assert got.loc[lv, "or_ci_low"] < got.loc[lv, "or_"] < got.loc[lv, "or_ci_high"]
        assert got.loc[lv, "gee_p"] == pytest.approx(ref.loc[lv, "p"], rel=1e-12)
        assert got.loc[lv, "gee_note"] == "" and got.loc[lv, "gee_n_clusters"] == 800
    # High is planted better: most repetitions' OR of the other group is < 1
    assert (reps.loc[reps.comparison == "High vs Low", "or_"] < 1).mean() >= 0.8


@pytest.mark.parametrize("n_items, fitted", [(40, True), (39, False)])
def test_per_rep_gee_needs_min_clusters(n_items, fitted):
    from eifer.stats import compare_groups_by_rep
    from eifer.stats.compare import MIN_GEE_CLUSTERS

    assert MIN_GEE_CLUSTERS == 40
    pred = simulate_predictions(n_items=n_items, reps=2, seed=3)
    pred = pred[pred.condition == pred.condition.iloc[0]]
    r = compare_groups_by_rep(pred)
    assert len(r) and r["or_"].notna().all() == fitted and r["or_"].isna().all() != fitted
    assert (r["gee_n_clusters"] == n_items).all()
    if not fitted:
        assert r["gee_note"].str.contains(f"{n_items} test items").all()


def test_per_rep_gee_separation_is_nan_with_reason_only_in_that_repetition():
    from eifer.stats import compare_groups_by_rep

    pred = simulate_predictions(n_items=96, reps=3, seed=4)
    pred = pred[pred.condition == pred.condition.iloc[0]].copy()
    always = (pred.group == "Low") & (pred.rep == 1)
    pred.loc[always, "pred"] = pred.loc[always, "y_true"]  # Low always right in repetition 1
    r = compare_groups_by_rep(pred).set_index(["task", "comparison", "rep"])
    for task in pred.task.unique():
        row = r.loc[(task, "High vs Low", 1)]
        assert np.isnan(row["or_"]) and "Low is always right" in row["gee_note"] and "separation" in row["gee_note"]
        assert np.isfinite(r.loc[(task, "High vs Total", 1), "or_"])  # High vs Total in that rep still fitted
        assert np.isfinite(r.loc[(task, "High vs Low", 0), "or_"])


def test_transfer_models_pair_up_under_either_pairing(tmp_path):
    """Under split.pairing independent the direct groups draw their own seeds, but High-Total and Low-Total of
    repetition r are fine-tuned with the Total group's seed and split of repetition r (plan_units), the same as
    the Total model of repetition r: the transfer rows keep the paired sign-flip test, the direct rows relabel."""
    from eifer.split.core import rep_seed
    from eifer.stats.compare import paired_by_composition
    from eifer.train.core import plan_units

    sp = {"runs": {f"{g}/{t}/rep{r}": {"seed": rep_seed(0, r, g)} for g in ("High", "Low", "Total")
                   for t in ("arousal",) for r in range(3)}}
    direct, transfer = plan_units(sp, tasks=["arousal"], repetitions=3)
    seed = {(u["group"], u["rep"]): u["seed"] for u in direct}
    assert len({seed[("High", 0)], seed[("Low", 0)], seed[("Total", 0)]}) == 3  # independent direct seeds
    for u in transfer:
        assert u["seed"] == seed[("Total", u["rep"])] and u["split"] == f"Total/arousal/rep{u['rep']}"
    assert paired_by_composition("independent") == {"direct": False, "transfer": True, "cv": True}
    assert paired_by_composition("paired") == {"direct": True, "transfer": True, "cv": True}
    pred = simulate_predictions(n_items=96, reps=3, effect=1.0, seed=2)
    t = pred[pred["group"].isin(["High", "Low", "Total"])].assign(composition="transfer")
    t["group"] = t["group"].map({"High": "High-Total", "Low": "Low-Total", "Total": "Total"})
    run = RunFolder(tmp_path / "run", load_config(profile="demo", overrides={"split": {"pairing": "independent"}}))
    pd.concat([pred, t], ignore_index=True).to_parquet(run.init().path("predictions.parquet"))
    run_stats(None, run)
    full = pd.read_csv(run.path("tables", "table4_full.csv")).set_index("composition")
    assert full.loc["direct", "perm_method"].eq("unpaired relabelling").all()
    assert full.loc["direct", "perm_min_p"].eq(0.1).all()  # 2 / C(6, 3)
    assert full.loc["transfer", "perm_method"].eq("paired sign-flip").all()
    assert full.loc["transfer", "perm_min_p"].eq(0.25).all()  # 2 / 2^3
