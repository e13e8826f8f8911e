"""The group comparison over people: K resamples of the test participants (``split.test_resamples``).

Beyond the paper. With ``split.test_resamples`` = K > 1 the split is repeated
on K disjoint test sets (:func:`eifer.split.choose_testsets`) and the R
repetitions are trained in each. Table 4 stays the paper's comparison, pooled
over all K × R repetitions; this module adds the comparison whose unit is the
test set, i.e. a group of people:

1. per resample k, the random-effects pool (REML τ², z interval) of its
   repetitions' paired DeLong ΔAUC (:func:`eifer.stats.compare_groups_by_rep`):
   one estimate per test set, with the training noise of its repetitions in its SE;
2. over the K resamples, the random-effects pool (REML τ², Hartung–Knapp–
   Sidik–Jonkman t interval with K − 1 df) of those estimates: the spread
   between test sets (τ²) is the variation between people;
3. the exact paired sign-flip test over resamples of the groups' mean AUC on
   each test set (every group is scored on the same people within a resample,
   so resample k of group A and of group B pair up): 2^K patterns, smallest
   p = 2 / 2^K (0.0625 with K = 5; it cannot reach 0.05 below K = 6).

``favoured`` names a group only when the over-resamples random-effects
interval excludes 0 (the rule of Table 4's ``favoured``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from eifer._validation import require_columns
from eifer.config import DEFAULTS
from eifer.errors import EiferError
from eifer.stats.meta import pool_random_effects
from eifer.stats.permutation import paired_signflip_test

_KEY = ["backbone", "composition", "task", "condition", "group_a", "group_b", "comparison"]
RESAMPLE_COLUMNS = _KEY + ["resample", "n_reps", "n_reps_pooled", "n_items", "auc_a", "auc_b", "delta", "se",
                           "ci_low", "ci_high", "p", "tau2"]
OVER_PEOPLE_COLUMNS = _KEY + ["k_resamples", "k_pooled", "n_positive", "re_delta_auc", "re_se", "re_ci_low",
                              "re_ci_high", "re_p", "tau2", "i2", "q", "q_df", "q_p", "signflip_delta_auc",
                              "signflip_p", "signflip_min_p", "signflip_n", "favoured"]


def resample_estimates(by_rep: pd.DataFrame) -> pd.DataFrame:
    """One ΔAUC per test resample: the random-effects pool of that resample's repetitions.

    Parameters
    ----------
    by_rep : DataFrame
        :func:`eifer.stats.compare_groups_by_rep` rows with a ``resample`` column (the stats stage adds it
        from ``predictions.parquet``).

    Returns
    -------
    DataFrame
        :data:`RESAMPLE_COLUMNS`: per backbone × composition × task × condition × comparison × resample the
        repetitions (``n_reps``; ``n_reps_pooled`` with SE > 0), test items, mean AUCs, and ``delta, se, ci_low,
        ci_high, p, tau2`` of the REML pool (z interval) of the repetitions' ΔAUC; NaN when no repetition has
        SE > 0.

    Examples
    --------
    >>> r = pd.DataFrame({"backbone": "b", "composition": "direct", "task": "arousal", "condition": "baseline",
    ...     "group_a": "High", "group_b": "Low", "comparison": "High vs Low", "resample": [0, 0, 1, 1],
    ...     "rep": [0, 1, 2, 3], "n_items": 40, "auc_a": [.8, .8, .7, .7], "auc_b": [.7, .7, .7, .6],
    ...     "delta": [.1, .1, 0., .1], "se": [.05, .05, .05, .05]})
    >>> e = resample_estimates(r)
    >>> e["resample"].tolist(), e["n_reps"].tolist(), e["delta"].round(3).tolist()
    ([0, 1], [2, 2], [0.1, 0.05])
    """
    require_columns(by_rep, _KEY + ["resample", "rep", "n_items", "auc_a", "auc_b", "delta", "se"],
                    "resample_estimates", "; pass compare_groups_by_rep() output with a resample column")
    rows = []
    for key, d in by_rep.groupby(_KEY + ["resample"], sort=True):
        row = dict(zip(_KEY + ["resample"], key)) | {
            "n_reps": int(d["rep"].nunique()), "n_items": int(d["n_items"].max()),
            "auc_a": float(d["auc_a"].mean()), "auc_b": float(d["auc_b"].mean())}
        informative = d[d["se"] > 0]  # SE 0: no information on the uncertainty (as in compare_groups)
        row["n_reps_pooled"] = len(informative)
        if len(informative):
            re = pool_random_effects(informative["delta"], informative["se"], method="REML", knha=False)
            row |= {"delta": re.estimate, "se": re.se, "ci_low": re.ci_low, "ci_high": re.ci_high, "p": re.p,
                    "tau2": re.tau2}
        rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=RESAMPLE_COLUMNS)
    out["resample"] = out["resample"].astype(int)
    return out


def compare_over_resamples(by_rep: pd.DataFrame, max_exact: int = DEFAULTS.stats.max_exact,
                           n_permutations: int = DEFAULTS.stats.n_permutations, seed: int = 0) -> pd.DataFrame:
    """The group comparison over test people: random-effects pool and paired sign-flip over K resamples.

    Parameters
    ----------
    by_rep : DataFrame
        :func:`eifer.stats.compare_groups_by_rep` rows with a ``resample`` column.
    max_exact, n_permutations, seed : int
        The sign-flip test (:func:`eifer.stats.paired_signflip_test`): all 2^K patterns up to ``max_exact``.

    Returns
    -------
    DataFrame
        :data:`OVER_PEOPLE_COLUMNS`, one row per backbone × composition × task × condition × comparison:
        ``k_resamples`` (test sets), ``k_pooled`` (those with an estimate), ``n_positive`` (resamples whose
        ΔAUC > 0); REML + HKSJ pool of the per-resample ΔAUC (:func:`resample_estimates`): ``re_delta_auc,
        re_se, re_ci_low, re_ci_high, re_p, tau2, i2, q, q_df, q_p`` (NaN interval below K = 2); the paired
        sign-flip test of the groups' mean AUC per resample: ``signflip_delta_auc, signflip_p, signflip_min_p,
        signflip_n``; ``favoured``: the group the pooled interval favours, "" when it spans or touches 0.

    Examples
    --------
    >>> rows = [{"backbone": "b", "composition": "direct", "task": "arousal", "condition": "baseline",
    ...          "group_a": "High", "group_b": "Low", "comparison": "High vs Low", "resample": k, "rep": k,
    ...          "n_items": 40, "auc_a": .8 + d, "auc_b": .8, "delta": d, "se": .01}
    ...         for k, d in enumerate([.05, .06, .04, .05, .07, .05])]
    >>> r = compare_over_resamples(pd.DataFrame(rows)).iloc[0]
    >>> r["k_resamples"], r["favoured"], r["signflip_p"]
    (6, 'High', 0.03125)
    """
    est = resample_estimates(by_rep)
    rows = []
    for key, d in est.groupby(_KEY, sort=True):
        row = dict(zip(_KEY, key)) | {"k_resamples": int(d["resample"].nunique())}
        ok = d[np.isfinite(d["delta"]) & (d["se"] > 0)]
        row |= {"k_pooled": len(ok), "n_positive": int((ok["delta"] > 0).sum())}
        if len(ok):
            re = pool_random_effects(ok["delta"], ok["se"], method="REML", knha=True)
            row |= {"re_delta_auc": re.estimate, "re_se": re.se, "re_ci_low": re.ci_low, "re_ci_high": re.ci_high,
                    "re_p": re.p, "tau2": re.tau2, "i2": re.i2, "q": re.q, "q_df": re.q_df, "q_p": re.q_p}
        pairs = d[np.isfinite(d["auc_a"]) & np.isfinite(d["auc_b"])].sort_values("resample")
        if len(pairs):
            sf = paired_signflip_test(pairs["auc_a"], pairs["auc_b"], max_exact=max_exact, n_perm=n_permutations,
                                      seed=seed)
            row |= {"signflip_delta_auc": sf.delta, "signflip_p": sf.p, "signflip_min_p": sf.min_p,
                    "signflip_n": sf.n_relabelings}
        lo, hi = row.get("re_ci_low", np.nan), row.get("re_ci_high", np.nan)
        row["favoured"] = (str(row["group_a"]) if pd.notna(lo) and lo > 0 else
                           str(row["group_b"]) if pd.notna(hi) and hi < 0 else "")
        rows.append(row)
    return pd.DataFrame(rows).reindex(columns=OVER_PEOPLE_COLUMNS)


def add_resample(by_rep: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """``by_rep`` with each repetition's ``resample`` from ``predictions.parquet`` (its ``resample`` column).

    Raises
    ------
    EiferError
        When the predictions have no ``resample`` column (a run with ``split.test_resamples`` = 1).
    """
    if "resample" not in predictions.columns:
        raise EiferError("predictions: no resample column (the run has one test set: split.test_resamples = 1)")
    of = predictions.drop_duplicates("rep").set_index("rep")["resample"].astype(int)
    return by_rep.assign(resample=by_rep["rep"].map(of))
