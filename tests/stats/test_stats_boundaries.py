"""Statistics at their edges: NaN p-values in BH, a reference group that is not alphabetically
first, ties in the model permutation test."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eifer.stats import bh_fdr, gee_group_effects, model_permutation_test, paired_signflip_test


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=12), st.lists(st.booleans(), min_size=12, max_size=12))
def test_bh_nan_p_values_stay_nan_and_do_not_count_as_tests(p, nan_at):
    p = np.asarray(p)
    with_nan = p.copy()
    with_nan[np.asarray(nan_at[:len(p)])] = np.nan
    ok = ~np.isnan(with_nan)
    q = bh_fdr(with_nan)
    assert np.isnan(q[~ok]).all()
    np.testing.assert_array_equal(q[ok], bh_fdr(with_nan[ok]))  # as if the NaN tests did not exist


def test_bh_with_nan_against_p_adjust():
    # R: p.adjust(c(0.01, 0.04, 0.03, 1.0), "BH") = 0.04, 0.05333, 0.05333, 1.0
    q = bh_fdr([0.01, np.nan, 0.04, 0.03, np.nan, 1.0])
    np.testing.assert_allclose(q, [0.04, np.nan, 0.16 / 3, 0.16 / 3, np.nan, 1.0], rtol=1e-12)
    assert np.isnan(bh_fdr([np.nan, np.nan])).all()


def _gee_data(seed=0):
    rng = np.random.default_rng(seed)
    groups, rows = {"High": 0.8, "Low": 0.6, "Total": 0.7}, []
    for g, acc in groups.items():
        for rep in range(2):
            for item in range(120):
                rows.append({"group": g, "rep": rep, "item": item,
                             "correct": int(rng.random() < acc + 0.1 * (item % 3 == 0))})
    return pd.DataFrame(rows)


def test_gee_reference_that_is_not_alphabetically_first():
    d = _gee_data()
    by_high = gee_group_effects(d, reference="High").set_index("level")
    by_low = gee_group_effects(d, reference="Low").set_index("level")
    by_total = gee_group_effects(d, reference="Total").set_index("level")
    assert by_low.index.tolist() == ["High", "Total"] and by_total.index.tolist() == ["High", "Low"]
    # the same model, another reference: the High-vs-Low contrast changes sign only
    assert by_low.loc["High", "log_or"] == pytest.approx(-by_high.loc["Low", "log_or"], rel=1e-6)
    assert by_low.loc["High", "p"] == pytest.approx(by_high.loc["Low", "p"], rel=1e-5)
    assert by_total.loc["Low", "log_or"] == pytest.approx(
        by_high.loc["Low", "log_or"] - by_high.loc["Total", "log_or"], rel=1e-6)
    assert by_low.loc["High", "or_"] > 1   # High is more often right than Low


def test_permutation_test_counts_relabelings_tied_with_the_observed_difference():
    # a = [1, 0], b = [0, 1]: observed 0.0; every relabeling has |difference| >= 0 -> p = 1
    assert model_permutation_test([1.0, 0.0], [0.0, 1.0])[1] == 1.0
    # 2 + 2 models, 6 relabelings: |d| = 1 for the observed one and its mirror -> p = 2/6 exactly
    d, p, n = model_permutation_test([1.0, 1.0], [0.0, 0.0])
    assert (d, n) == (1.0, 6) and p == pytest.approx(2 / 6)
    # float noise does not break a tie: 0.1 + 0.2 vs 0.3
    _, p, _ = model_permutation_test([0.1, 0.2], [0.3, 0.0])
    assert p == 1.0


def test_signflip_test_counts_sign_patterns_tied_with_the_observed_mean():
    # d = a - b = [0.5, 0.5, 1.0, 0.0]: |mean| = 0.5 only for all-plus and all-minus, whatever the sign
    # on the zero -> 4 of 16 patterns tie with the observed one, and none exceeds it: p = 0.25 exactly
    r = paired_signflip_test([0.5, 0.5, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0])
    assert (r.delta, r.n_relabelings, r.exact) == (0.5, 16, True) and r.p == 0.25
    # every difference 0: every pattern ties -> p = 1; float noise (0.1 + 0.2 vs 0.3) does not break it
    assert paired_signflip_test([0.1 + 0.2, 0.5], [0.3, 0.5]).p == 1.0
