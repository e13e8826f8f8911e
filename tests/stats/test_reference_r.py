"""eifer.stats against values produced by R (tests/fixtures/make_reference.R).

pROC 1.18 (DeLong), geepack 1.3.9 (GEE), car 3.1 (Type III ANOVA), stats::p.adjust (BH).
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eifer.stats import bh_fdr, delong_auc_ci, delong_test, gee_group_effects, type3_anova

REF = Path(__file__).resolve().parents[1] / "fixtures" / "r_reference"
DELONG = pd.read_csv(REF / "delong_reference.csv").set_index("case")


@pytest.mark.parametrize("case", list(DELONG.index))
def test_delong_matches_proc(case):
    d = pd.read_csv(REF / f"delong_{case}.csv")
    ref = DELONG.loc[case]
    r = delong_test(d.y, d.a, d.b)
    for ours, theirs in [(r.auc_a, "auc_a"), (r.auc_b, "auc_b"), (r.z, "z"), (r.var_a, "var_a"),
                         (r.var_b, "var_b"), (r.cov_ab, "cov_ab")]:
        assert ours == pytest.approx(ref[theirs], rel=1e-9, abs=1e-15), theirs
    assert r.p == pytest.approx(ref.p, rel=1e-9)
    for col, score in (("a", d.a), ("b", d.b)):
        ci = delong_auc_ci(d.y, score)
        assert ci.ci_low == pytest.approx(ref[f"ci_{col}_low"], rel=1e-9)
        assert ci.ci_high == pytest.approx(ref[f"ci_{col}_high"], rel=1e-9)


def test_below_chance_is_not_flipped():
    assert DELONG.loc["below_chance", "auc_a"] < 0.5
    d = pd.read_csv(REF / "delong_below_chance.csv")
    assert delong_test(d.y, d.a, d.b).auc_a == pytest.approx(DELONG.loc["below_chance", "auc_a"], rel=1e-12)


@pytest.mark.parametrize("case", ["effect", "no_effect"])
def test_gee_matches_geepack(case):
    d = pd.read_csv(REF / f"gee_{case}.csv")
    ref = pd.read_csv(REF / "gee_reference.csv")
    ref = ref[ref.case == case].set_index("term")
    got = gee_group_effects(d, outcome="correct", group="group", reference="High", repetition="rep",
                            cluster="item").set_index("level")
    for lv in ("Low", "Total"):
        row = ref.loc[f"group{lv}"]
        assert got.loc[lv, "log_or"] == pytest.approx(row.estimate, rel=1e-6)
        assert got.loc[lv, "se"] == pytest.approx(row.se, rel=1e-6)
        assert got.loc[lv, "p"] == pytest.approx(row.p, rel=1e-6)
    assert got["alpha"].iloc[0] == pytest.approx(ref.alpha.iloc[0], rel=1e-6)
    # the planted effect is found, and nothing is found where nothing was planted
    if case == "effect":
        assert got.loc["Low", "p"] < 0.001 and got.loc["Low", "or_"] < 1
    else:
        assert (got["p"] > 0.05).all()


@pytest.mark.parametrize("case", ["unbalanced", "empty_cell"])
def test_anova_matches_car(case):
    d = pd.read_csv(REF / f"anova_{case}.csv")
    ref = pd.read_csv(REF / "anova_reference.csv")
    ref = ref[ref.case == case].set_index("term")
    got = type3_anova(d, "y", "g", "e")
    for ours, theirs in (("g", "g"), ("e", "e"), ("a:b", "g:e"), ("Residual", "Residuals")):
        assert got.loc[ours, "sum_sq"] == pytest.approx(ref.loc[theirs, "sum_sq"], rel=1e-9)
        assert got.loc[ours, "df"] == ref.loc[theirs, "df"]
        if ours != "Residual":
            assert got.loc[ours, "F"] == pytest.approx(ref.loc[theirs, "F"], rel=1e-9)
            assert got.loc[ours, "p"] == pytest.approx(ref.loc[theirs, "p"], rel=1e-9)


def test_bh_matches_p_adjust():
    ref = pd.read_csv(REF / "bh_reference.csv")
    np.testing.assert_allclose(bh_fdr(ref.p), ref.q, rtol=1e-12)


@pytest.mark.parametrize("case", ["effect", "no_effect"])
def test_gee_fast_engine_equals_statsmodels_engine(case):
    d = pd.read_csv(REF / f"gee_{case}.csv")
    fast = gee_group_effects(d, engine="fast")
    sm = gee_group_effects(d, engine="statsmodels")
    for col in ("log_or", "se", "p", "alpha"):
        np.testing.assert_allclose(fast[col], sm[col], rtol=1e-9)


def test_per_repetition_gee_matches_geepack():
    """compare_groups_by_rep's OR of one repetition = geepack's geeglm(correct ~ group, id = item) on that
    repetition's rows (tests/fixtures/make_reference.R, case effect_rep2)."""
    from eifer.stats import compare_groups_by_rep

    d = pd.read_csv(REF / "gee_effect.csv")
    ref = pd.read_csv(REF / "gee_rep_reference.csv").set_index("term")
    # predictions whose correctness is the fixture's: two classes by item, pred right where `correct` is 1
    y = (d["item"] % 2).to_numpy()
    pred = np.where(d["correct"] == 1, y, 1 - y)
    p = pd.DataFrame({"backbone": "b", "composition": "direct", "group": d["group"], "task": "arousal",
                      "condition": "baseline", "rep": d["rep"], "item": d["item"], "y_true": y,
                      "prob": 0.25 + 0.5 * pred + 0.001 * d["item"] / 160, "pred": pred})
    got = compare_groups_by_rep(p)
    got = got[got["rep"] == 2].set_index("group_b")
    assert len(got) == 2 and got["gee_note"].eq("").all() and got["gee_n_clusters"].eq(160).all()
    for lv in ("Low", "Total"):
        row = ref.loc[f"group{lv}"]
        assert np.log(got.loc[lv, "or_"]) == pytest.approx(row.estimate, rel=1e-6)
        assert got.loc[lv, "gee_p"] == pytest.approx(row.p, rel=1e-6)
        se = (np.log(got.loc[lv, "or_ci_high"]) - np.log(got.loc[lv, "or_ci_low"])) / (2 * 1.959963984540054)
        assert se == pytest.approx(row.se, rel=1e-6)
