"""Type III ANOVA: agreement with statsmodels (here) and with car::Anova (test_reference_r.py)."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

from eifer.errors import EiferError
from eifer.stats import type3_anova, type3_anova_many


def _data(seed=1, n=90, effect=0.0):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"g": rng.choice(["High", "Low"], n, p=[0.3, 0.7]),
                      "e": rng.choice(list("ABCD"), n)})
    # planted interaction: High reacts to emotion C, Low does not
    d["y"] = rng.normal(size=n) + effect * ((d.g == "High") & (d.e == "C"))
    return d


def test_matches_statsmodels_unbalanced():
    d = _data()
    d.loc[3, "y"] = np.nan
    ref = anova_lm(smf.ols("y ~ C(g, Sum)*C(e, Sum)", data=d).fit(), typ=3)
    got = type3_anova(d, "y", "g", "e")
    assert list(got.index) == ["g", "e", "a:b", "Residual"]
    np.testing.assert_allclose(got["sum_sq"].to_numpy(), ref["sum_sq"].to_numpy()[1:], rtol=1e-10)
    np.testing.assert_allclose(got["df"].to_numpy(), ref["df"].to_numpy()[1:])
    np.testing.assert_allclose(got["p"].to_numpy()[:3], ref["PR(>F)"].to_numpy()[1:4], rtol=1e-9)


def test_many_equals_single_and_finds_planted_interaction():
    d = _data(seed=2, n=200, effect=2.0)
    d["null"] = np.random.default_rng(3).normal(size=len(d))
    many = type3_anova_many(d, ["y", "null"], "g", "e").set_index("dv")
    for dv in ("y", "null"):
        single = type3_anova(d, dv, "g", "e")
        assert many.loc[dv, "F_ab"] == pytest.approx(single.loc["a:b", "F"], rel=1e-12)
    assert many.loc["y", "p_ab"] < 1e-4       # planted
    assert many.loc["null", "p_ab"] > 0.01     # not planted


def test_empty_cell_drops_aliased_interaction_column():
    d = _data(seed=4, n=120)
    d = d[~((d.g == "High") & (d.e == "D"))]
    got = type3_anova(d, "y", "g", "e")
    assert got.loc["a:b", "df"] == 2  # one empty cell → one df fewer
    assert got.loc["Residual", "df"] == len(d) - 7


def test_bad_input_is_named():
    d = _data()
    with pytest.raises(EiferError, match="missing column"):
        type3_anova(d, "zz", "g", "e")
    d["s"] = "x"
    with pytest.raises(EiferError, match="numeric"):
        type3_anova(d, "s", "g", "e")
