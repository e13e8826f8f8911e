"""Cutoff sweep rules at their exact edges, on small planted tables (no stage run, fast).

12 participants with scores 700, 710, ..., 810 and candidate cutoffs 700, ..., 800: every
score sits exactly on a candidate, the group-size and imbalance limits are attainable
(N = 12: imbalance 6 = 0.5 N), and each rule is checked where it alone decides.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eifer.cutoff import cutoff_sweep, interaction_pvalues, sweep_data, sweep_permutation_test

LABELS = ["HAHV", "HALV", "LAHV", "LALV"]
IDS = [f"p{i:02d}" for i in range(12)]
SCORES = pd.DataFrame({"participant_id": IDS, "ei_score": 700.0 + 10 * np.arange(12)})


def _hrv(planted_high=(), n_vars=2, effect=3.0, seed=0):
    """HRV_V0.. with a group x emotion interaction for the participants in ``planted_high``; HRV_N noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, pid in enumerate(IDS):
        base = rng.normal(0, 1)
        for lab in LABELS:
            react = (1 if lab.startswith("HA") else -1) * effect * (1 if i in planted_high else -1)
            rows.append({"participant_id": pid, "segment": lab, "emotion_label": lab,
                         **{f"HRV_V{k}": base + (react if planted_high else 0) + rng.normal(0, 0.5)
                            for k in range(n_vars)}, "HRV_N": rng.normal(0, 1)})
    return pd.DataFrame(rows)


def _sweep(min_group_size, frac, **kw):
    return cutoff_sweep(SCORES, _hrv(), step=10, min_group_size=min_group_size, max_imbalance_frac=frac,
                        **kw).set_index("cutoff")


def test_a_score_equal_to_the_cutoff_is_low():
    sw = _sweep(2, 0.5)
    assert sw.index.tolist() == [700.0 + 10 * k for k in range(11)]
    assert sw["n_high"].tolist() == [11 - k for k in range(11)]          # strictly above the cutoff
    assert (sw["n_low"] == 12 - sw["n_high"]).all()
    assert sw["imbalance"].tolist() == [abs(2 * (11 - k) - 12) for k in range(11)]


def test_imbalance_limit_alone_decides_exactly_at_the_limit():
    sw = _sweep(2, 0.5)   # limit 6; every group >= 2 from 710 to 790
    assert sw.loc[720, "imbalance"] == 6 and sw.loc[720, "eligible"]       # at the limit: eligible
    assert sw.loc[710, "imbalance"] == 8 and not sw.loc[710, "eligible"]   # above it: not
    assert sw.loc[780, "eligible"] and not sw.loc[790, "eligible"]
    # the ANOVA runs wherever both groups are large enough, eligible or not
    assert sw.loc[[710, 790], "n_significant"].notna().all() and np.isnan(sw.loc[700, "n_significant"])


def test_min_group_size_alone_decides_exactly_at_the_size():
    sw = _sweep(4, 0.5)   # groups >= 4: n_high 4 (770) eligible, 3 (780) not, although imbalance 6 is allowed
    assert sw.loc[770, "n_high"] == 4 and sw.loc[770, "eligible"]
    assert sw.loc[780, "n_high"] == 3 and not sw.loc[780, "eligible"]
    assert np.isnan(sw.loc[780, "n_significant"]) and not np.isnan(sw.loc[770, "n_significant"])
    assert sw.loc[sw["eligible"]].index.tolist() == [730.0, 740.0, 750.0, 760.0, 770.0]


def test_study_of_exactly_twice_the_min_group_size_is_swept():
    sw = _sweep(6, 0.5)
    assert sw.loc[sw["eligible"]].index.tolist() == [750.0]   # the 6/6 split only
    with pytest.raises(Exception, match="need at least 14"):
        _sweep(7, 0.5)


def test_alpha_is_a_strict_bound_on_the_interaction_p_value():
    hrv = _hrv(planted_high=range(6, 12), n_vars=1, effect=0.3, seed=3)
    data, _ = sweep_data(hrv)
    groups = pd.Series(np.where(np.arange(12) >= 6, "High", "Low"), index=IDS)
    p = interaction_pvalues(data, groups, ["HRV_V0"])[0]
    assert 0 < p < 1
    kw = dict(step=10, min_group_size=2, max_imbalance_frac=0.5, variables=["HRV_V0"])
    at = cutoff_sweep(SCORES, hrv, alpha=p, **kw).set_index("cutoff")
    above = cutoff_sweep(SCORES, hrv, alpha=np.nextafter(p, 1), **kw).set_index("cutoff")
    assert at.loc[750, "n_significant"] == 0 and above.loc[750, "n_significant"] == 1
    assert above.loc[750, "significant_variables"] == "HRV_V0"


def test_chosen_cutoff_and_observed_max_come_from_eligible_cutoffs_only():
    # the strongest split (top 2 vs the rest, cutoff 790) is too imbalanced to be chosen
    hrv = _hrv(planted_high=(10, 11), n_vars=4, effect=0.6, seed=1)
    kw = dict(step=10, min_group_size=2, max_imbalance_frac=0.5)
    sw = cutoff_sweep(SCORES, hrv, **kw).set_index("cutoff")
    best_el = sw.loc[sw["eligible"], "n_significant"].max()
    assert sw.loc[790, "n_significant"] > best_el and not sw.loc[790, "eligible"]
    assert sw["chosen"].sum() == 1 and sw.loc[sw["chosen"], "n_significant"].iloc[0] == best_el
    res = sweep_permutation_test(SCORES, hrv, n_perm=1, seed=0, show_progress=False, **kw)
    assert res["observed_max"] == best_el


def test_permutation_p_counts_shuffles_equal_to_the_observed_max():
    hrv = _hrv(n_vars=2, seed=4)   # no planted effect: small integer counts, ties between shuffles
    res = sweep_permutation_test(SCORES, hrv, n_perm=12, seed=0, show_progress=False, step=10,
                                 min_group_size=2, max_imbalance_frac=0.5)
    null = np.asarray(res["null_max"])
    ties = int((null == res["observed_max"]).sum())
    assert ties >= 1, "the case must hold a shuffle equal to the observed maximum"
    assert res["p_value"] == pytest.approx((1 + (null > res["observed_max"]).sum() + ties) / 13)


def test_segments_excluded_for_quality_are_left_out_with_a_warning():
    hrv = _hrv().assign(hrv_excluded="")
    hrv.loc[[0, 5], "hrv_excluded"] = ["31% removed", np.nan]    # NaN: no verdict, kept
    with pytest.warns(UserWarning, match=r"1 HRV segment\(s\) left out for quality: p00/HAHV: 31% removed"):
        data, _ = sweep_data(hrv)
    assert len(data) == len(hrv) - 1
    assert not ((data.participant_id == "p00") & (data.segment == "HAHV")).any()
    assert ((data.participant_id == "p01") & (data.segment == "HALV")).any()
