"""EI cutoff sweep (paper §3.1, §4.1; SPEC §3).

For every candidate cutoff (fixed step over the observed score range) the
participants are split into High (score > cutoff) and Low; for every HRV
variable a two-way ANOVA HRV ~ group × emotion label (Type III SS,
sum-to-zero contrasts, :func:`eifer.stats.type3_anova_many`) gives the
interaction p-value; the number of variables with p < α and the group-size
imbalance |n_high − n_low| are recorded. The chosen cutoff has the most
significant interactions among the *eligible* ones (both groups ≥
``min_group_size``, imbalance ≤ ``max_imbalance_frac`` × N); ties go to the
smaller imbalance, then to the lower cutoff.

The plain ANOVA treats the segments of one participant as independent. The
``method="mixed"`` variant fits a linear mixed model with a random intercept
per participant (statsmodels MixedLM) and Wald-tests the interaction instead.

Whether the winning count is more than chance is judged by
:func:`sweep_permutation_test`: scores are shuffled across participants (so
any score–HRV link is broken while group sizes stay the same) and the whole
sweep is redone; the observed maximum count over eligible cutoffs is
compared with the distribution of that maximum under shuffling. This
accounts for both the many cutoffs tried and the strong correlation between
HRV variables, which a binomial count (α × n_variables) would ignore.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from eifer._validation import require_columns
from eifer.config import DEFAULTS
from eifer.errors import EiferError
from eifer.stats import type3_anova_many
from eifer.utils import progress

SWEEP_COLUMNS = ["cutoff", "n_high", "n_low", "imbalance", "n_significant", "eligible", "chosen",
                 "significant_variables"]


def candidate_cutoffs(scores: Sequence[float], step: float) -> np.ndarray:
    """Cutoffs at multiples of ``step`` from just below the lowest score to below the highest.

    Parameters
    ----------
    scores : sequence of float
    step : float

    Returns
    -------
    ndarray

    Examples
    --------
    >>> candidate_cutoffs([703, 745, 790], 10).tolist()[:3]
    [700.0, 710.0, 720.0]
    """
    s = np.asarray(scores, dtype=float)
    if s.size == 0 or step <= 0:
        raise EiferError("cutoff sweep: need at least one score and a positive step")
    lo = np.floor(s.min() / step) * step
    n = int(np.ceil((s.max() - lo) / step))
    return lo + step * np.arange(max(n, 0))


def sweep_data(hrv: pd.DataFrame, include_baseline: bool = DEFAULTS.cutoff.include_baseline,
               labels: Sequence[str] = ("HAHV", "HALV", "LAHV", "LALV"),
               variables: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Rows of ``hrv`` that enter the ANOVA and the HRV variables to test.

    Parameters
    ----------
    hrv : DataFrame
        ``participant_id, segment, emotion_label, HRV_*``.
    include_baseline : bool
        Also use the baseline segment as a fifth emotion level.
    labels : sequence of str
        The stimulus domains.
    variables : sequence of str, optional
        HRV columns to test (default: every ``HRV_*`` column that varies).

    Returns
    -------
    (DataFrame, list of str)
        Rows with a reason in ``hrv_excluded`` (set by the hrv stage when NN
        cleaning removed too much, ``hrv.max_removed``) are left out, with a warning.

    Examples
    --------
    >>> h = pd.DataFrame({"participant_id": ["a", "a", "a"], "segment": ["baseline", "v1", "v2"],
    ...                   "emotion_label": ["baseline", "HAHV", "LALV"], "HRV_X": [1.0, 2.0, 3.0]})
    >>> len(sweep_data(h)[0]), len(sweep_data(h, include_baseline=True)[0])
    (2, 3)
    """
    require_columns(hrv, ("participant_id", "emotion_label"), "hrv table")
    keep = list(labels) + (["baseline"] if include_baseline else [])
    data = hrv.loc[hrv["emotion_label"].isin(keep)].copy()
    if "hrv_excluded" in data.columns:  # the hrv stage's quality verdict (hrv.max_removed), never silent
        out = data["hrv_excluded"].fillna("").astype(str) != ""
        if out.any():
            seg = data["segment"].astype(str) if "segment" in data.columns else data["emotion_label"]
            warnings.warn(f"cutoff sweep: {int(out.sum())} HRV segment(s) left out for quality: " + "; ".join(
                f"{p}/{s}: {r}" for p, s, r in zip(data.loc[out, "participant_id"], seg[out],
                                                   data.loc[out, "hrv_excluded"])), stacklevel=2)
        data = data.loc[~out]
    data["participant_id"] = data["participant_id"].astype(str)
    if variables is None:
        variables = [c for c in data.columns if c.startswith("HRV_")
                     and pd.api.types.is_numeric_dtype(data[c]) and data[c].nunique(dropna=True) > 1]
    else:
        missing = [v for v in variables if v not in data.columns]
        if missing:
            raise EiferError(f"hrv table: variable(s) {missing} not present")
    if not variables:
        raise EiferError("hrv table: no HRV_* variable with any variation to test")
    return data.reset_index(drop=True), list(variables)


def _mixed_pvalues(data: pd.DataFrame, variables: list[str]) -> np.ndarray:
    """Wald test of group × emotion in a random-intercept mixed model, per variable."""
    import statsmodels.formula.api as smf

    out = np.full(len(variables), np.nan)
    for j, v in enumerate(variables):
        d = data[["participant_id", "group", "emotion_label", v]].dropna().rename(columns={v: "y"})
        # Standardise so the optimiser sees the same scale for every index.
        sd = d["y"].std()
        if not sd > 0:
            continue
        d["y"] = (d["y"] - d["y"].mean()) / sd
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = smf.mixedlm("y ~ C(group, Sum) * C(emotion_label, Sum)", d,
                                  groups=d["participant_id"]).fit(reml=True)
            except (np.linalg.LinAlgError, ValueError):
                continue
        names = [n for n in res.fe_params.index if ":" in n]
        b = res.fe_params[names].to_numpy()
        cov = res.cov_params().loc[names, names].to_numpy()
        try:
            w = float(b @ np.linalg.solve(cov, b))
        except np.linalg.LinAlgError:
            continue
        out[j] = sps.chi2.sf(w, len(names))
    return out


def interaction_pvalues(data: pd.DataFrame, groups: pd.Series, variables: list[str],
                        method: str = DEFAULTS.cutoff.method) -> np.ndarray:
    """p-value of the group × emotion interaction for each HRV variable.

    Parameters
    ----------
    data : DataFrame
        From :func:`sweep_data`.
    groups : Series
        participant_id → "High"/"Low".
    variables : list of str
    method : {"anova", "mixed"}
        Type III two-way ANOVA (paper) or random-intercept mixed model.

    Returns
    -------
    ndarray of p-values (NaN where not estimable)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"participant_id": np.repeat([f"p{i}" for i in range(10)], 4),
    ...                   "emotion_label": np.tile(["HAHV", "HALV", "LAHV", "LALV"], 10),
    ...                   "HRV_X": rng.normal(size=40)})
    >>> g = pd.Series(["High"] * 5 + ["Low"] * 5, index=[f"p{i}" for i in range(10)])
    >>> interaction_pvalues(d, g, ["HRV_X"]).shape
    (1,)
    """
    d = data.assign(group=data["participant_id"].map(groups))
    d = d.loc[d["group"].notna()]
    if method == "anova":
        return type3_anova_many(d, variables, "group", "emotion_label")["p_ab"].to_numpy(dtype=float)
    if method == "mixed":
        return _mixed_pvalues(d, variables)
    raise EiferError(f"cutoff.method {method!r}: choose 'anova' or 'mixed'")


def cutoff_sweep(
    scores: pd.DataFrame,
    hrv: pd.DataFrame,
    score_col: str = "ei_score",
    step: float = DEFAULTS.cutoff.step,
    min_group_size: int = DEFAULTS.cutoff.min_group_size,
    alpha: float = DEFAULTS.cutoff.alpha,
    max_imbalance_frac: float = DEFAULTS.cutoff.max_imbalance_frac,
    include_baseline: bool = DEFAULTS.cutoff.include_baseline,
    method: str = DEFAULTS.cutoff.method,
    variables: Sequence[str] | None = None,
    fixed_cutoff: float | None = DEFAULTS.cutoff.cutoff,
    only_eligible: bool = False,
    show_progress: bool | None = None,
) -> pd.DataFrame:
    """Sweep EI (or alignment) cutoffs and choose one (SPEC §3).

    Parameters
    ----------
    scores : DataFrame
        ``participant_id`` and ``score_col``.
    hrv : DataFrame
        ``participant_id, emotion_label, HRV_*`` (``hrv.parquet``).
    score_col : str
        ``ei_score`` or ``alignment``.
    step : float
        Distance between candidate cutoffs.
    min_group_size : int
        Both groups need at least this many participants for the ANOVA.
    alpha : float
        Significance level of the interaction test.
    max_imbalance_frac : float
        Largest |n_high − n_low| allowed for the choice, as a share of N.
    include_baseline : bool
        Add the baseline segment as an emotion level.
    method : {"anova", "mixed"}
    variables : sequence of str, optional
        HRV variables to test (default: all that vary).
    fixed_cutoff : float, optional
        Use this cutoff instead of choosing one (the sweep is still computed,
        and the ``2 × min_group_size`` rule does not apply).
    only_eligible : bool
        Run the ANOVAs only at eligible cutoffs (others get NaN); the
        permutation test needs no more.
    show_progress : bool, optional
        Default: only for the (slow) mixed model.

    Returns
    -------
    DataFrame
        ``cutoff_sweep.csv``: cutoff, n_high, n_low, imbalance, n_significant
        (NaN where a group is too small), eligible, chosen, significant_variables.
        ``attrs["n_variables"]`` holds the number of variables tested.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> ids = [f"p{i:02d}" for i in range(20)]
    >>> sc = pd.DataFrame({"participant_id": ids, "ei_score": np.linspace(700, 990, 20)})
    >>> h = pd.DataFrame({"participant_id": np.repeat(ids, 4),
    ...                   "emotion_label": np.tile(["HAHV", "HALV", "LAHV", "LALV"], 20),
    ...                   "HRV_X": rng.normal(size=80)})
    >>> sw = cutoff_sweep(sc, h, step=50)
    >>> int(sw["chosen"].sum())
    1
    """
    require_columns(scores, ("participant_id", score_col), "cutoff_sweep scores")
    data, variables = sweep_data(hrv, include_baseline, variables=variables)
    sc = scores[["participant_id", score_col]].copy()
    sc["participant_id"] = sc["participant_id"].astype(str)
    sc = sc.loc[sc["participant_id"].isin(set(data["participant_id"])) & sc[score_col].notna()]
    lacking = sorted(set(scores["participant_id"].astype(str)) - set(sc["participant_id"]))
    if lacking:
        warnings.warn(f"cutoff sweep: {len(lacking)} participant(s) without HRV or score left out: "
                      f"{', '.join(lacking[:10])}", stacklevel=2)
    if len(sc) < 2 * min_group_size and fixed_cutoff is None:  # a fixed cutoff needs no eligible sweep row
        raise EiferError(f"cutoff sweep: {len(sc)} participants with both a score and HRV; "
                         f"need at least {2 * min_group_size} (2 × cutoff.min_group_size = {min_group_size}); "
                         f"lower cutoff.min_group_size to {max(len(sc) // 2, 1)} or fix cutoff.cutoff "
                         f"(see docs/study-folder.md, 'How many participants')")
    s = sc.set_index("participant_id")[score_col].astype(float)
    data = data.loc[data["participant_id"].isin(s.index)]
    n = len(s)
    if s.nunique() < 2:
        raise EiferError(f"cutoff sweep: all {n} participants have the same {score_col} ({s.iloc[0]:g}), so no "
                         f"cutoff can split them into High and Low groups; check the study's EI "
                         f"responses or scores")
    rows: list[dict[str, Any]] = []
    cache: dict[Any, Any] = {}
    cutoffs = candidate_cutoffs(s.to_numpy(), step)
    bar = progress()
    bar.disable = bar.disable or not (method == "mixed" if show_progress is None else show_progress)
    with bar:
        task = bar.add_task(f"cutoff sweep ({method})", total=len(cutoffs))
        for c in cutoffs:
            rows.append(_sweep_row(c, s, n, data, variables, method, alpha, min_group_size, max_imbalance_frac,
                                   only_eligible, cache))
            bar.advance(task)
    sweep = pd.DataFrame(rows)
    sweep["n_significant"] = sweep["n_significant"].astype(float)
    sweep["chosen"] = False
    if fixed_cutoff is not None:
        sweep.loc[np.isclose(sweep["cutoff"], fixed_cutoff), "chosen"] = True
    else:
        sweep.loc[choose_cutoff(sweep), "chosen"] = True
    sweep.attrs["n_variables"] = len(variables)
    sweep.attrs["n_participants"] = n
    return sweep[SWEEP_COLUMNS]


def _sweep_row(c: float, s: pd.Series, n: int, data: pd.DataFrame, variables: list[str], method: str,
               alpha: float, min_group_size: int, max_imbalance_frac: float, only_eligible: bool,
               cache: dict) -> dict:
    """One row of the sweep; ``cache`` maps a High/Low split to its result."""
    high = s > c
    n_high = int(high.sum())
    n_low = n - n_high
    rec = {"cutoff": float(c), "n_high": n_high, "n_low": n_low, "imbalance": abs(n_high - n_low),
           "n_significant": np.nan, "significant_variables": ""}
    rec["eligible"] = bool(min(n_high, n_low) >= min_group_size and abs(n_high - n_low) <= max_imbalance_frac * n)
    if min(n_high, n_low) >= min_group_size and (rec["eligible"] or not only_eligible):
        key = high.to_numpy().tobytes()  # neighbouring cutoffs often give the same split
        if key not in cache:
            groups = pd.Series(np.where(high, "High", "Low"), index=s.index)
            p = interaction_pvalues(data, groups, variables, method)
            sig = [v for v, pv in zip(variables, p) if pv < alpha]
            cache[key] = (len(sig), ";".join(sig))
        rec["n_significant"], rec["significant_variables"] = cache[key]
    return rec


def choose_cutoff(sweep: pd.DataFrame) -> int:
    """Index of the chosen row: most significant interactions among eligible
    cutoffs; ties → smaller imbalance → lower cutoff.

    Parameters
    ----------
    sweep : DataFrame
        With ``cutoff, imbalance, n_significant, eligible``.

    Returns
    -------
    int
        Row label in ``sweep``.

    Examples
    --------
    >>> sw = pd.DataFrame({"cutoff": [10, 20, 30], "imbalance": [4, 2, 2],
    ...                    "n_significant": [5, 5, 5], "eligible": [True, True, True]})
    >>> choose_cutoff(sw)
    1
    """
    el = sweep.loc[sweep["eligible"].astype(bool) & sweep["n_significant"].notna()]
    if el.empty:
        raise EiferError("cutoff sweep: no eligible cutoff (every candidate leaves a group below "
                         "cutoff.min_group_size or exceeds cutoff.max_imbalance_frac)")
    order = el.assign(_neg=-el["n_significant"]).sort_values(["_neg", "imbalance", "cutoff"], kind="mergesort")
    return order.index[0]


def assign_groups(scores: pd.DataFrame, cutoff: float, score_col: str = "ei_score") -> pd.DataFrame:
    """High (score > cutoff) / Low groups — ``groups.csv``.

    Parameters
    ----------
    scores : DataFrame
        ``participant_id`` and ``score_col``.
    cutoff : float
    score_col : str

    Returns
    -------
    DataFrame
        ``participant_id, score, group, cutoff``.

    Examples
    --------
    >>> assign_groups(pd.DataFrame({"participant_id": ["a", "b"], "ei_score": [830, 840]}), 830).group.tolist()
    ['Low', 'High']
    """
    require_columns(scores, ("participant_id", score_col), "assign_groups scores")
    s = scores[score_col].astype(float)
    return pd.DataFrame({"participant_id": scores["participant_id"].astype(str).to_numpy(),
                         "score": s.to_numpy(), "group": np.where(s > cutoff, "High", "Low"),
                         "cutoff": float(cutoff)})


def sweep_permutation_test(scores: pd.DataFrame, hrv: pd.DataFrame, n_perm: int = DEFAULTS.cutoff.n_permutations,
                           seed: int = 0, alpha_perm: float = DEFAULTS.cutoff.permutation_alpha,
                           show_progress: bool = True, **sweep_kwargs: Any) -> dict:
    """Is the best cutoff's interaction count more than chance? (max-statistic permutation test)

    Parameters
    ----------
    scores, hrv : DataFrame
        As for :func:`cutoff_sweep`.
    n_perm : int
        Number of shuffles of the scores across participants (config ``cutoff.n_permutations``).
    seed : int
    alpha_perm : float
        Level for the verdict ``beyond_chance`` = p < ``alpha_perm`` (config ``cutoff.permutation_alpha``).
    show_progress : bool
    **sweep_kwargs
        Passed to :func:`cutoff_sweep` (step, alpha, method, ...).

    Returns
    -------
    dict
        ``observed_max`` (max n_significant over eligible cutoffs),
        ``null_max`` (list), ``null_q95``, ``p_value`` ((1 + #null ≥ observed) / (1 + n_perm)),
        ``chance_per_cutoff`` (α × n_variables), ``n_variables``, ``n_perm``, ``beyond_chance``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> ids = [f"p{i:02d}" for i in range(20)]
    >>> sc = pd.DataFrame({"participant_id": ids, "ei_score": np.linspace(700, 990, 20)})
    >>> h = pd.DataFrame({"participant_id": np.repeat(ids, 4),
    ...                   "emotion_label": np.tile(["HAHV", "HALV", "LAHV", "LALV"], 20),
    ...                   "HRV_X": rng.normal(size=80)})
    >>> sweep_permutation_test(sc, h, n_perm=5, step=50, show_progress=False)["n_perm"]
    5
    """
    kw = dict(sweep_kwargs)
    kw.pop("fixed_cutoff", None)
    score_col = kw.get("score_col", "ei_score")
    obs = cutoff_sweep(scores, hrv, show_progress=False, **kw)
    obs_max = _eligible_max(obs)
    rng = np.random.default_rng(seed)
    null = []
    bar = progress()
    bar.disable = bar.disable or not show_progress
    with warnings.catch_warnings(), bar:
        warnings.simplefilter("ignore")
        task = bar.add_task("cutoff permutations", total=n_perm)
        for _ in range(n_perm):
            shuffled = scores.assign(**{score_col: rng.permutation(scores[score_col].to_numpy())})
            null.append(_eligible_max(cutoff_sweep(shuffled, hrv, only_eligible=True, show_progress=False, **kw)))
            bar.advance(task)
    null_arr = np.asarray(null, dtype=float)
    p = (1 + np.sum(null_arr >= obs_max)) / (1 + n_perm)
    alpha = kw.get("alpha", DEFAULTS.cutoff.alpha)
    return {
        "observed_max": obs_max, "null_max": null_arr.tolist(),
        "null_q95": float(np.quantile(null_arr, 0.95)) if n_perm else float("nan"),
        "p_value": float(p), "n_perm": int(n_perm), "n_variables": int(obs.attrs["n_variables"]),
        "chance_per_cutoff": float(alpha * obs.attrs["n_variables"]),
        "beyond_chance": bool(p < alpha_perm), "seed": int(seed),
    }


def _eligible_max(sweep: pd.DataFrame) -> float:
    el = sweep.loc[sweep["eligible"], "n_significant"]
    return float(el.max()) if el.notna().any() else float("nan")
