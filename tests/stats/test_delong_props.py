"""DeLong, pooling and BH: properties (hypothesis) and input errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from eifer.errors import EiferError
from eifer.stats import bh_fdr, delong_auc_ci, delong_test, fisher_combine, pool_inverse_variance

FAST = settings(max_examples=40, deadline=None)
# grid values: distinct scores stay distinct under the transforms below, in floating point too
floats = st.integers(-8000, 8000).map(lambda k: k / 8)


@st.composite
def scored(draw, min_n=4, max_n=60):
    n = draw(st.integers(min_n, max_n))
    y = draw(arrays(np.int8, n, elements=st.integers(0, 1)))
    y[0], y[1] = 0, 1  # both classes present
    # few distinct values → plenty of ties
    a = draw(arrays(np.float64, n, elements=st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]) | floats))
    b = draw(arrays(np.float64, n, elements=floats))
    return y, a, b


def naive_auc(y, s):
    x, z = s[y == 1], s[y == 0]
    return ((x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])).mean()


@FAST
@given(scored())
def test_auc_equals_pairwise_definition_and_is_invariant_to_monotone_transforms(data):
    y, a, _ = data
    auc = delong_auc_ci(y, a).auc
    assert auc == pytest.approx(naive_auc(y, a), abs=1e-12)
    # strictly increasing maps keep every pairwise order, so the AUC is unchanged
    assert delong_auc_ci(y, np.arctan(a / 100) * 7 + 3).auc == pytest.approx(auc, abs=1e-12)
    assert delong_auc_ci(y, a**3).auc == pytest.approx(auc, abs=1e-12)


@FAST
@given(scored())
def test_delta_is_antisymmetric(data):
    y, a, b = data
    ab, ba = delong_test(y, a, b), delong_test(y, b, a)
    assert ab.delta == pytest.approx(-ba.delta, abs=1e-12)
    assert ab.se == pytest.approx(ba.se, rel=1e-9, abs=1e-15)
    assert ab.p == pytest.approx(ba.p, rel=1e-9, abs=1e-15)
    assert ab.var_a == pytest.approx(ba.var_b, rel=1e-12, abs=1e-18)


@FAST
@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(0, 1) | st.sampled_from([0.0, 0.01, 1.0])))
def test_bh_q_values_monotone_in_p_and_at_least_p(p):
    q = bh_fdr(p)
    assert q.shape == p.shape
    assert (q >= p - 1e-15).all() and (q <= 1).all()
    order = np.argsort(p, kind="mergesort")
    assert (np.diff(q[order]) >= -1e-15).all()


def test_identical_scores_give_zero_delta_and_p_one():
    y = np.array([0, 1, 0, 1, 1, 0])
    s = np.array([.1, .9, .4, .3, .8, .2])
    r = delong_test(y, s, s)
    assert r.delta == 0 and r.se == 0 and r.p == 1.0


def test_below_chance_is_reported_as_is():
    y = np.array([0, 0, 0, 1, 1, 1])
    r = delong_auc_ci(y, -np.arange(6.0))
    assert r.auc == 0.0 and r.ci_low == 0.0


@pytest.mark.parametrize("y, a, b, msg", [
    ([1, 1, 1], [.1, .2, .3], [.1, .2, .3], "single class"),
    ([0, 1, 1], [.1, np.nan, .3], [.1, .2, .3], "non-finite"),
    ([0, 1, 1], [.1, .2, .3], [.1, .2, np.inf], "non-finite"),
    ([0, 1, 1], [.1, .2], [.1, .2, .3], "has 2 values"),
    ([0, 1, 2], [.1, .2, .3], [.1, .2, .3], "0/1"),
    (["a", "b", "a"], [.1, .2, .3], [.1, .2, .3], "0/1"),
])
def test_bad_input_raises_clear_error(y, a, b, msg):
    with pytest.raises(EiferError, match=msg):
        delong_test(y, a, b)


def test_fisher_and_pooling_known_values():
        # closed form for k = 2: P (1 − ln P) with P = p1·p2
    assert fisher_combine([0.05, 0.05]) == pytest.approx(0.0025 * (1 - np.log(0.0025)), rel=1e-12)
    assert fisher_combine([1.0, 1.0, 1.0]) == pytest.approx(1.0)
    est, se, lo, hi = pool_inverse_variance([0.0, 0.3], [0.1, 0.2])
    assert est == pytest.approx(0.06) and se == pytest.approx(np.sqrt(1 / 125))
    assert lo < est < hi
    with pytest.raises(EiferError, match="not > 0"):
        pool_inverse_variance([0.1], [0.0])
    with pytest.raises(EiferError, match=r"\[0, 1\]"):
        fisher_combine([0.5, 1.2])
