"""The comparison over people (split.test_resamples = K): one estimate per test set, pooled and sign-flipped
over the K test sets; a planted effect consistent over people is found, one that flips between test sets is not."""
import numpy as np
import pandas as pd
import pytest

from eifer import load_run
from eifer.config import load_config
from eifer.errors import EiferError
from eifer.runfolder import RunFolder
from eifer.stats import (
    compare_groups_by_rep,
    compare_over_resamples,
    paired_signflip_test,
    pool_random_effects,
    resample_estimates,
    run_stats,
)
from eifer.stats.calibration import simulate_predictions
from eifer.stats.resamples import add_resample

R = 2


def _resampled(effects, seed=0):
    """K test sets of other people (items prefixed by the resample), R repetitions each (rep = k * R + r)."""
    parts = []
    for k, e in enumerate(effects):
        p = simulate_predictions(n_items=240, reps=R, effect=e, seed=seed + 100 * k)
        parts.append(p.assign(rep=k * R + p["rep"], resample=k, item=f"k{k}/" + p["item"].astype(str),
                              participant_id=f"k{k}/" + p["participant_id"].astype(str)))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def consistent():
    return _resampled([1.0] * 6)


@pytest.fixture(scope="module")
def flipping():
    return _resampled([1.0, -1.0] * 3)


def _over(pred):
    return compare_over_resamples(add_resample(compare_groups_by_rep(pred), pred)).set_index("comparison")


def test_an_effect_consistent_over_people_is_found(consistent):
    r = _over(consistent).loc["High vs Low"]
    assert r["k_resamples"] == 6 and r["k_pooled"] == 6 and r["n_positive"] == 6
    assert r["re_ci_low"] > 0 and r["favoured"] == "High"
    # every test set favours High: the observed sign pattern is the most extreme of 2^6
    assert r["signflip_p"] == pytest.approx(2 / 2**6) and r["signflip_min_p"] == pytest.approx(2 / 2**6)
    assert r["signflip_n"] == 64


def test_an_effect_that_flips_between_test_sets_names_no_winner(flipping):
    over = _over(flipping)
    r = over.loc["High vs Low"]
    assert r["n_positive"] == 3 and r["favoured"] == ""
    assert r["re_ci_low"] < 0 < r["re_ci_high"] and r["signflip_p"] > 0.05
    assert r["i2"] > 50  # the spread is between test sets (people), not chance
    # each test set on its own is clear: the per-repetition evidence would name a group in every one
    est = resample_estimates(add_resample(compare_groups_by_rep(flipping), flipping))
    hl = est[est["comparison"] == "High vs Low"].set_index("resample")
    assert (hl["ci_low"] > 0).sum() == 3 and (hl["ci_high"] < 0).sum() == 3


def test_the_pools_are_the_public_functions_on_the_per_resample_values(consistent):
    by_rep = add_resample(compare_groups_by_rep(consistent), consistent)
    est = resample_estimates(by_rep)
    one = by_rep[(by_rep["comparison"] == "High vs Total") & (by_rep["resample"] == 4)]
    inner = pool_random_effects(one["delta"], one["se"], method="REML")
    row = est[(est["comparison"] == "High vs Total") & (est["resample"] == 4)].iloc[0]
    assert row["n_reps"] == R and row["delta"] == pytest.approx(inner.estimate) and row["se"] == pytest.approx(inner.se)
    assert row["auc_a"] == pytest.approx(one["auc_a"].mean())
    hv = est[est["comparison"] == "High vs Total"].sort_values("resample")
    outer = pool_random_effects(hv["delta"], hv["se"], method="REML", knha=True)
    sf = paired_signflip_test(hv["auc_a"], hv["auc_b"])
    r = compare_over_resamples(by_rep).set_index("comparison").loc["High vs Total"]
    assert (r["re_delta_auc"], r["re_ci_low"], r["re_ci_high"], r["tau2"]) == pytest.approx(
        (outer.estimate, outer.ci_low, outer.ci_high, outer.tau2))
    assert r["signflip_p"] == pytest.approx(sf.p)


def test_one_repetition_per_resample_is_its_own_estimate():
    rows = [{"backbone": "b", "composition": "direct", "task": "arousal", "condition": "baseline", "group_a": "High",
             "group_b": "Low", "comparison": "High vs Low", "resample": k, "rep": k, "n_items": 40,
             "auc_a": .8, "auc_b": .8 - d, "delta": d, "se": s} for k, (d, s) in enumerate([(.05, .02), (-.01, .03)])]
    est = resample_estimates(pd.DataFrame(rows))
    assert est["delta"].tolist() == [.05, -.01] and est["se"].tolist() == pytest.approx([.02, .03])
    r = compare_over_resamples(pd.DataFrame(rows)).iloc[0]
    assert r["k_resamples"] == 2 and r["n_positive"] == 1 and r["signflip_min_p"] == 0.5 and r["favoured"] == ""
    # a resample whose repetitions all have SE 0 has no estimate and is left out of the pool
    zero = pd.DataFrame(rows).assign(se=[.02, 0.0])
    assert np.isnan(resample_estimates(zero)["delta"].iloc[1])
    z = compare_over_resamples(zero).iloc[0]
    assert z["k_resamples"] == 2 and z["k_pooled"] == 1 and z["re_delta_auc"] == pytest.approx(.05)
    assert np.isnan(z["re_ci_low"])  # HKSJ needs K >= 2: no interval, so no winner
    assert z["favoured"] == ""


def test_stats_stage_writes_the_over_people_tables_and_load_run_reads_them(tmp_path, consistent):
    run = RunFolder(tmp_path / "run", load_config(profile="demo")).init()
    consistent.to_parquet(run.path("predictions.parquet"))
    outs = run_stats(None, run)
    assert outs[-2:] == ["tables/table4_resamples.csv", "tables/table4_people.csv"]
    res = load_run(run.root)
    assert len(res.tables["table4_resamples"]) == 2 * 6  # 2 comparisons x 6 test sets
    people = res.tables["table4_people"].set_index("comparison")
    assert people.loc["High vs Low", "favoured"] == "High"
    # one test set (no resample column, or only one resample): no over-people tables
    one = RunFolder(tmp_path / "one", load_config(profile="demo")).init()
    consistent[consistent["resample"] == 0].drop(columns="resample").to_parquet(one.path("predictions.parquet"))
    assert not any("people" in o or "resamples" in o for o in run_stats(None, one))
    with pytest.raises(EiferError, match="no resample column"):
        add_resample(compare_groups_by_rep(consistent), consistent.drop(columns="resample"))
