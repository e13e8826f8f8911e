"""Random-effects pooling, Stouffer and Fisher against R metafor (tests/fixtures/make_reference_metafor.R),
and the paired sign-flip test against brute-force enumeration."""
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from eifer.errors import EiferError
from eifer.stats import (
    fisher_combine,
    paired_signflip_test,
    pool_inverse_variance,
    pool_random_effects,
    stouffer_combine,
)

REF = Path(__file__).resolve().parents[1] / "fixtures" / "r_reference"
META = pd.read_csv(REF / "meta_reference.csv")
CASES = sorted(META["case"].unique())
TOL = {"rel": 1e-6, "abs": 1e-12}


def _case(case):
    d = pd.read_csv(REF / f"meta_{case}.csv")
    return d["yi"].to_numpy(), d["sei"].to_numpy()


def _ref(case, model):
    return META[(META["case"] == case) & (META["model"] == model)].iloc[0]


def test_fixtures_cover_the_required_cases():
    assert {"k2", "homogeneous", "tiny_se", "disagree"} <= set(CASES)
    assert len(_case("k2")[0]) == 2
    assert _ref("homogeneous", "REML").tau2 == 0 and _ref("homogeneous", "DL").tau2 == 0
    y, s = _case("tiny_se")
    assert s.min() / s.max() < 0.1


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("model", ["DL", "REML", "DL_knha", "REML_knha"])
def test_random_effects_match_metafor(case, model):
    y, s = _case(case)
    method, _, knha = model.partition("_")
    r = pool_random_effects(y, s, method=method, knha=bool(knha))
    ref = _ref(case, model)
    for field in ("estimate", "se", "ci_low", "ci_high", "p", "tau2", "i2", "q", "q_p"):
        assert getattr(r, field) == pytest.approx(ref[field], **TOL), field
    assert r.q_df == ref.q_df == len(y) - 1


@pytest.mark.parametrize("case", CASES)
def test_fixed_effect_matches_metafor(case):
    y, s = _case(case)
    ref = _ref(case, "FE")
    est, se, lo, hi = pool_inverse_variance(y, s)
    for ours, field in ((est, "estimate"), (se, "se"), (lo, "ci_low"), (hi, "ci_high")):
        assert ours == pytest.approx(ref[field], **TOL), field
    assert 2 * sps.norm.sf(abs(est / se)) == pytest.approx(ref.p, **TOL)


@pytest.mark.parametrize("case", CASES)
def test_stouffer_and_fisher_match_r(case):
    y, s = _case(case)
    z = y / s
    big_z, p = stouffer_combine(z)
    assert big_z == pytest.approx(_ref(case, "stouffer").estimate, **TOL)
    assert p == pytest.approx(_ref(case, "stouffer").p, **TOL)
    assert fisher_combine(2 * sps.norm.sf(np.abs(z))) == pytest.approx(_ref(case, "fisher").p, **TOL)


def test_dl_agrees_with_statsmodels():
    from statsmodels.stats.meta_analysis import combine_effects

    y, s = _case("random10")
    res = combine_effects(y, s**2, method_re="dl")
    r = pool_random_effects(y, s, method="DL")
    assert r.tau2 == pytest.approx(res.tau2, rel=1e-9)
    assert r.estimate == pytest.approx(res.mean_effect_re, rel=1e-9)
    assert r.q == pytest.approx(res.q, rel=1e-9)


def test_disagreeing_repetitions_give_no_confident_pool():
    # the pattern: two repetitions one way, one the other, each p < 1e-4
    y, s = _case("disagree")
    fe_lo, fe_hi = pool_inverse_variance(y, s)[2:]
    r = pool_random_effects(y, s)
    assert r.ci_low < 0 < r.ci_high and r.i2 > 90 and r.q_p < 1e-10
    assert fisher_combine(2 * sps.norm.sf(np.abs(y / s))) < 1e-20  # Fisher is direction-blind
    assert stouffer_combine(y / s)[1] > 0.05                      # Stouffer is not


def test_random_effects_boundaries():
    # DL: τ² = (Q − (k − 1)) / (Σw − Σw²/Σw), truncated at 0; here Σw − Σw²/Σw = 1 and Q = 2 y²
    y, s = np.array([-1.0, 1.0]), np.array([1.0, 1.0])  # Q = 2 > k − 1 = 1
    assert pool_random_effects(y, s, method="DL").tau2 == pytest.approx(1.0)
    y = np.array([-0.5, 0.5])                              # Q = 0.5 < 1: truncated
    assert pool_random_effects(y, s, method="DL").tau2 == 0
    y = np.array([-1, 1]) / np.sqrt(2)                     # Q exactly k − 1: τ² 0, I² 0
    r = pool_random_effects(y, s, method="DL")
    assert r.q == pytest.approx(1.0) and r.tau2 == pytest.approx(0.0, abs=1e-15) and r.i2 == pytest.approx(0, abs=1e-12)
    one = pool_random_effects([0.1], [0.02], knha=True)
    assert one.tau2 == 0 and one.q_df == 0 and np.isnan(one.ci_low) and np.isnan(one.q_p)
    with pytest.raises(EiferError, match="SE"):
        pool_random_effects([0.1, 0.2], [0.1, 0.0])
    with pytest.raises(EiferError, match="method"):
        pool_random_effects([0.1, 0.2], [0.1, 0.1], method="PM")
    with pytest.raises(EiferError, match="finite"):
        stouffer_combine([1.0, np.inf])


def _brute_force(a, b):
    d = np.asarray(a) - np.asarray(b)
    obs = abs(d.mean())
    hits = [abs((np.array(sg) * d).mean()) >= obs - 1e-12 for sg in product([1, -1], repeat=len(d))]
    return sum(hits) / len(hits)


@pytest.mark.parametrize("seed", range(6))
def test_signflip_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    r = 2 + seed  # R = 2 … 7
    a = rng.normal(0.8, 0.05, r)
    b = a - rng.normal(0.01 * (seed - 2), 0.03, r)
    if seed == 3:
        b[1] = a[1]  # a tied pair: its sign cannot matter
    res = paired_signflip_test(a, b)
    assert res.p == _brute_force(a, b)
    assert res.n_relabelings == 2**r and res.exact
    assert res.delta == pytest.approx(float(np.mean(a - b)))


def test_signflip_smallest_p_and_the_005_boundary():
    for r, expected in ((5, 0.0625), (6, 0.03125)):
        a = np.linspace(0.9, 0.95, r)
        res = paired_signflip_test(a, a - 0.1 - np.arange(r) * 1e-3)  # every pair the same way
        assert res.p == res.min_p == expected
    assert paired_signflip_test(np.ones(5), np.zeros(5)).min_p >= 0.05   # R = 5 cannot reach 0.05
    assert paired_signflip_test(np.ones(6), np.zeros(6)).min_p < 0.05    # R = 6 can
    # one pair the other way: the observed pattern and 2 more of 2^5 are as extreme
    a = np.full(5, 0.9)
    assert paired_signflip_test(a, a - np.array([0.1, 0.1, 0.1, 0.1, -0.01])).p == 4 / 32


def test_signflip_random_beyond_max_exact_counts_the_observed_pattern():
    a, b = np.arange(12.0), np.zeros(12)
    res = paired_signflip_test(a, b, max_exact=1000, n_perm=500, seed=1)
    assert not res.exact and res.n_relabelings == 501 and res.p >= 1 / 501
    with pytest.raises(EiferError, match="equally many"):
        paired_signflip_test([1.0, 2.0], [1.0])
