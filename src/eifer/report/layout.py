"""The paper's table layouts, the calibration caveat and compact summaries for the report.

Tables 2, 3 and 5 are re-shaped from the stage CSVs (``tables/table<k>.csv``)
into the paper's layout: one table per backbone × composition, rows grouped by
condition × task × metric, the training groups as columns, cells "mean (SD)".
Tables 4 and 6 are laid out from ``tables/table<k>_full.csv`` (every number)
with each test's calibrated type-I error beside it.
"""
from __future__ import annotations

from math import comb
from pathlib import Path

import numpy as np
import pandas as pd

from eifer._tables import format_p
from eifer.config import DEFAULTS

NOT_TESTED = "not tested"  # a sweep cutoff without an ANOVA (blank n_significant in cutoff_sweep.csv)
CONDITION_ORDER = ("baseline", "unambiguous", "ambiguous")
TASK_ORDER = ("arousal", "valence")
GROUP_ORDER = ("High", "Low", "High-Total", "Low-Total", "Total")
METRIC_NAMES = ("Precision", "Recall", "F1-score", "Accuracy", "ROC-AUC", "PR-AUC")
# the numeric columns of tables/table2.csv, 3 and 5 behind each shown metric (<key>_mean, <key>_sd)
METRIC_KEYS = {"Precision": "precision", "Recall": "recall", "F1-score": "f1", "Accuracy": "accuracy",
               "ROC-AUC": "roc_auc", "PR-AUC": "pr_auc"}


def format_metric_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Add the shown "mean (SD)" column of every metric whose numbers (``<key>_mean``, ``<key>_sd``) the
    table holds; a table that already shows it is left as it is.

    Examples
    --------
    >>> t = pd.DataFrame({"Group": ["High"], "roc_auc_mean": ["0.91049"], "roc_auc_sd": [""]})
    >>> format_metric_columns(t)["ROC-AUC"].tolist()
    ['0.9105 (—)']
    """
    from eifer.evaluate import fmt_mean_sd

    out = table.copy()
    for name, key in METRIC_KEYS.items():
        if name not in out.columns and f"{key}_mean" in out.columns:
            mean = pd.to_numeric(out[f"{key}_mean"], errors="coerce")
            sd = pd.to_numeric(out.get(f"{key}_sd", pd.Series(np.nan, index=out.index)), errors="coerce")
            out[name] = [fmt_mean_sd(float(m), float(v)) for m, v in zip(mean, sd)]
    return out

COMPOSITIONS = {
    "direct": "High, Low and Total each trained from the initial weights — the first step of the paper's "
              "§3.3 / Figure 5 design (its \u201cEI-specific pretrained models\u201d); the paper does not say "
              "whether its Tables 2–4 report these models or the transfer ones",
    "transfer": "the direct High and Low models fine-tuned on Total (High-Total, Low-Total) and compared with "
                "Total — the second step of the paper's §3.3 / Figure 5 design (models \u201cinitialized from the "
                "High-EI and Low-EI pretrained weights were further trained on the Total-EI dataset\u201d)",
    "cv": "the additional backbones trained by stratified group k-fold cross-validation (transfer_cv.folds; the "
          "paper uses 5; folds play the part of repetitions) — the paper's Tables 5–6",
}

# Type-I error at α = 0.05 documented in docs/statistics.md §5 (400 simulated null studies per size,
# seed 20240917; 4 test participants × 4 videos, 5 repetitions): (N = 96, N = 3200).
DOCUMENTED_TYPE1 = {
    "delong_fisher": (0.198, 0.993),
    "pooled_ci": (0.098, 0.665),
    "gee": (0.068, 0.555),
    "perm_auc": (0.058, 0.045),
    "perm_acc": (0.035, 0.033),
}
TEST_NAMES = {
    "delong_fisher": "paired DeLong per repetition + Fisher (paper)",
    "pooled_ci": "pooled ΔAUC 95 % CI excludes 0 (paper)",
    "gee": "binomial GEE, OR (paper)",
    "re_ci": "random-effects ΔAUC (REML, HKSJ) 95 % CI excludes 0 (eifer)",
    "stouffer": "Stouffer's signed z over repetitions (eifer)",
    "perm_auc": "permutation over trained models, ΔAUC (eifer)",
    "perm_acc": "permutation over trained models, Δaccuracy (eifer)",
}


def _rank(values: pd.Series, order: tuple[str, ...]) -> pd.Series:
    low = [o.lower() for o in order]
    return values.astype(str).str.lower().map(lambda v: low.index(v) if v in low else len(low))


def group_label(group: str) -> str:
    """Column header of a training group: ``High`` → ``High EI``; ``High-Total`` unchanged."""
    return f"{group} EI" if group in ("High", "Low", "Total") else str(group)


def metrics_paper_layout(table: pd.DataFrame) -> list[tuple[str, str, int, pd.DataFrame]]:
    """Tables 2, 3 and 5 in the paper's layout, one per backbone × composition.

    Parameters
    ----------
    table : DataFrame
        ``tables/table2.csv`` (or 3, 5) as written by :func:`eifer.evaluate.tables.summary_table`:
        Backbone, Composition, Condition, Task, Group, Repetitions, one "mean (SD)" column per metric.

    Returns
    -------
    list of (backbone, composition, repetitions, DataFrame)
        Each frame: Condition, Task, Metric, then one column per training group.

    Examples
    --------
    >>> t = pd.DataFrame({"Backbone": "b", "Composition": "direct", "Condition": "baseline", "Task": "arousal",
    ...                   "Group": ["Low", "High"], "Repetitions": 3, "ROC-AUC": ["0.80 (0.01)", "0.90 (0.02)"]})
    >>> (bb, comp, reps, wide), = metrics_paper_layout(t)
    >>> list(wide.columns), wide.iloc[0].tolist()
    (['Condition', 'Task', 'Metric', 'High EI', 'Low EI'],
     ['Baseline', 'Arousal', 'ROC-AUC', '0.90 (0.02)', '0.80 (0.01)'])
    """
    need = {"Backbone", "Composition", "Condition", "Task", "Group"}
    if not need <= set(table.columns):
        return []
    metrics = [m for m in METRIC_NAMES if m in table.columns]
    out = []
    comps = sorted(table["Composition"].unique(), key=lambda c: (list(COMPOSITIONS).index(c)
                                                                 if c in COMPOSITIONS else 9, c))
    for bb in sorted(table["Backbone"].unique()):
        for comp in comps:
            d = table[(table["Backbone"] == bb) & (table["Composition"] == comp)]
            if d.empty:
                continue
            long = d.melt(id_vars=["Condition", "Task", "Group"], value_vars=metrics, var_name="Metric")
            wide = long.pivot_table(index=["Condition", "Task", "Metric"], columns="Group", values="value",
                                    aggfunc="first").reset_index()
            wide = wide.assign(_c=_rank(wide["Condition"], CONDITION_ORDER), _t=_rank(wide["Task"], TASK_ORDER),
                               _m=wide["Metric"].map(metrics.index))
            wide = wide.sort_values(["_c", "Condition", "_t", "Task", "_m"]).drop(columns=["_c", "_t", "_m"])
            groups = sorted([c for c in wide.columns if c not in ("Condition", "Task", "Metric")],
                            key=lambda g: (GROUP_ORDER.index(g) if g in GROUP_ORDER else 9, g))
            wide = wide[["Condition", "Task", "Metric", *groups]].fillna("")
            wide["Condition"] = wide["Condition"].astype(str).str.capitalize()
            wide["Task"] = wide["Task"].astype(str).str.capitalize()
            wide.columns.name = None
            wide = wide.rename(columns={g: group_label(g) for g in groups}).reset_index(drop=True)
            reps = int(pd.to_numeric(d.get("Repetitions", pd.Series([0])), errors="coerce").max())
            out.append((bb, comp, reps, wide))
    return out


def min_permutation_p(reps_a: int, reps_b: int) -> float:
    """Smallest two-sided p the permutation test over ``reps_a + reps_b`` models can reach.

    Examples
    --------
    >>> min_permutation_p(3, 3), round(min_permutation_p(5, 5), 4), round(min_permutation_p(4, 5), 4)
    (0.1, 0.0079, 0.0079)
    """
    if reps_a < 1 or reps_b < 1:
        return 1.0
    return min(1.0, (2 if reps_a == reps_b else 1) / comb(reps_a + reps_b, reps_a))


def _est_ci(est: float, lo: float, hi: float) -> str:
    if est is None or not np.isfinite(est):
        return "–"
    return f"{est:+.4f} [{lo:+.4f}, {hi:+.4f}]"


def _or_ci(est: float, lo: float, hi: float) -> str:
    if est is None or not np.isfinite(est):
        return "–"
    return f"{est:.3f} [{lo:.3f}, {hi:.3f}]"


def stats_paper_layout(full: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame, pd.DataFrame]]:
    """Tables 4 and 6 from ``table<k>_full.csv``: per backbone × composition the paper's tests and,
    separately, the permutation tests over trained models.

    Parameters
    ----------
    full : DataFrame
        :func:`eifer.stats.compare_groups` output (``tables/table4_full.csv``).

    Returns
    -------
    list of (backbone, composition, paper_tests, permutation_tests)

    Examples
    --------
    >>> from eifer.stats import compare_groups
    >>> from eifer.stats.calibration import simulate_predictions
    >>> (bb, comp, paper, perm), = stats_paper_layout(compare_groups(simulate_predictions(n_items=96, reps=3)))
    >>> list(paper.columns)[:4], list(perm.columns)[4:6]
    (['Condition', 'Task', 'Comparison', 'ΔAUC [95% CI]'], ['ΔAUC (models)', 'p (ΔAUC)'])
    """
    r = full.assign(_c=_rank(full["condition"], CONDITION_ORDER), _t=_rank(full["task"], TASK_ORDER))
    out = []
    for (bb, comp), d in r.groupby(["backbone", "composition"], sort=True):
        d = d.sort_values(["_c", "condition", "_t", "task", "comparison"], kind="mergesort")
        keys = pd.DataFrame({"Condition": d["condition"].astype(str).str.capitalize(),
                             "Task": d["task"].astype(str).str.capitalize(), "Comparison": d["comparison"]})
        paper = keys.assign(**{
            "ΔAUC [95% CI]": [_est_ci(*v) for v in zip(d["delta_auc"], d["delta_ci_low"], d["delta_ci_high"])],
            "Fisher p": d["fisher_p"].map(format_p), "q (DeLong)": d["delong_q"].map(format_p),
            "OR [95% CI]": [_or_ci(*v) for v in zip(d["or_"], d["or_ci_low"], d["or_ci_high"])],
            "p (GEE)": d["gee_p"].map(format_p), "q (GEE)": d["gee_q"].map(format_p)})
        ra = pd.to_numeric(d.get("perm_n_models_a", pd.Series(np.nan, index=d.index)), errors="coerce")
        rb = pd.to_numeric(d.get("perm_n_models_b", pd.Series(np.nan, index=d.index)), errors="coerce")
        perm = keys.assign(**{
            "Models": [f"{int(a)} + {int(b)}" if np.isfinite(a) and np.isfinite(b) else "–" for a, b in zip(ra, rb)],
            "ΔAUC (models)": [f"{v:+.4f}" if np.isfinite(v) else "–" for v in d["perm_delta_auc"]],
            "p (ΔAUC)": d["perm_p_auc"].map(format_p), "q (ΔAUC)": d["perm_q_auc"].map(format_p),
            "Δaccuracy (models)": [f"{v:+.4f}" if np.isfinite(v) else "–" for v in d["perm_delta_acc"]],
            "p (Δacc.)": d["perm_p_acc"].map(format_p), "q (Δacc.)": d["perm_q_acc"].map(format_p),
            "smallest attainable p": [format_p(min_permutation_p(int(a), int(b))) if np.isfinite(a) and np.isfinite(b)
                                      else "–" for a, b in zip(ra, rb)]})
        if "perm_min_p" in d.columns:  # the run's own test (paired sign-flip: 2 / 2^R)
            perm["smallest attainable p"] = [format_p(v) if pd.notna(v) else "–" for v in d["perm_min_p"]]
        out.append((str(bb), str(comp), paper.reset_index(drop=True), perm.reset_index(drop=True)))
    return out


def type1_table(calibration: pd.DataFrame | None, alpha: float = DEFAULTS.stats.alpha) -> tuple[pd.DataFrame, str]:
    """Each test's type-I error at α: measured (``eifer calibrate`` output) or the documented figures.

    Parameters
    ----------
    calibration : DataFrame or None
        ``calibration.csv`` of ``eifer calibrate`` (rows with ``effect`` = 0 are used), or None.
    alpha : float
        The significance level.

    Returns
    -------
    (DataFrame, str)
        One row per test with its rejection rate per test-set size, and where the figures come from.

    Examples
    --------
    >>> t, source = type1_table(None)
    >>> t.iloc[0].tolist()
    ['paired DeLong per repetition + Fisher (paper)', '19.8 %', '99.3 %']
    """
    if calibration is not None and {"test", "n_items", "effect", "rate"} <= set(calibration.columns):
        null = calibration[pd.to_numeric(calibration["effect"], errors="coerce") == 0]
        null = null[null["test"].isin(TEST_NAMES)]
        if len(null):
            def cell(r: pd.Series) -> str:
                ci = (f" [{100 * r['ci_low']:.1f}, {100 * r['ci_high']:.1f}]"
                      if {"ci_low", "ci_high"} <= set(r.index) else "")
                n = pd.to_numeric(r.get("n_sim", np.nan), errors="coerce")
                mc = (f" ± {100 * 1.96 * np.sqrt(r['rate'] * (1 - r['rate']) / n):.1f}"
                      if pd.notna(n) and n > 0 else "")  # Monte-Carlo error of the simulated rate
                return f"{100 * r['rate']:.1f} %{mc}{ci}"
            null = null.assign(cell=null.apply(cell, axis=1))
            wide = null.pivot_table(index="test", columns="n_items", values="cell", aggfunc="first")
            wide = wide.reindex([t for t in TEST_NAMES if t in wide.index])
            wide.columns = [f"type-I error, N = {int(n)} items" for n in wide.columns]
            wide.insert(0, "test", [TEST_NAMES[t] for t in wide.index])
            n_sim = int(pd.to_numeric(null.get("n_sim", pd.Series([0])), errors="coerce").max())
            return (wide.reset_index(drop=True),
                    f"measured by `eifer calibrate` for this run ({n_sim} simulated null studies per size; "
                    f"rate ± 1.96·√(p(1−p)/{n_sim}) (Monte-Carlo error) [Clopper–Pearson 95 % CI, exact also "
                    f"at 0 %])")
    rows = [(TEST_NAMES[t], f"{100 * a:.1f} %", f"{100 * b:.1f} %") for t, (a, b) in DOCUMENTED_TYPE1.items()]
    return (pd.DataFrame(rows, columns=["test", "type-I error, N = 96 items", "type-I error, N = 3200 items"]),
            ("eifer's own calibration documented in docs/statistics.md §5 (400 simulated null studies per size: "
             "4 test participants × 4 videos, 5 repetitions; no calibration was run for this run folder)"))


def type1_range(calibration: pd.DataFrame | None, test: str) -> str:
    """A short ``"20–99 %"`` of a test's type-I error over the calibrated test-set sizes.

    Examples
    --------
    >>> type1_range(None, "delong_fisher"), type1_range(None, "perm_auc")
    ('20–99\xa0%', '5–6\xa0%')
    """
    rates: list[float] = []
    if calibration is not None and {"test", "effect", "rate"} <= set(calibration.columns):
        sel = calibration[(calibration["test"] == test) & (pd.to_numeric(calibration["effect"]) == 0)]
        rates = [float(v) for v in sel["rate"]]
    if not rates:
        rates = list(DOCUMENTED_TYPE1.get(test, ()))
    if not rates:
        return "?"
    lo, hi = int(100 * min(rates) + 0.5), int(100 * max(rates) + 0.5)  # half up: 4.5 % → 5 %
    return f"{lo}\u00a0%" if lo == hi else f"{lo}–{hi}\u00a0%"  # non-breaking: a header wraps before, not inside


def read_calibration(run_root: str | Path) -> pd.DataFrame | None:
    """``calibration.csv`` of ``eifer calibrate --out RUN/calibration`` if the run has one."""
    for f in (Path(run_root, "calibration", "calibration.csv"), Path(run_root, "calibration.csv")):
        if f.is_file():
            try:
                return pd.read_csv(f)
            except (ValueError, OSError):  # unreadable: fall back to the documented figures
                return None
    return None


def cutoff_runs(sweep: pd.DataFrame) -> pd.DataFrame:
    """The sweep compressed: consecutive cutoffs with the same count and eligibility share one row.

    Examples
    --------
    >>> s = pd.DataFrame({"cutoff": [10, 20, 30, 40], "n_significant": [0, 0, 2, 2],
    ...                   "eligible": [True, True, True, False], "chosen": [False, False, True, False]})
    >>> cutoff_runs(s).values.tolist()
    [['10–20', 2, '0', 'yes', ''], ['30', 1, '2', 'yes', '30'], ['40', 1, '2', 'no', '']]

    A cutoff the sweep did not test (blank count: a group too small for the ANOVA) says so, never 0:

    >>> s["n_significant"] = [None, 0, 2, 2]
    >>> cutoff_runs(s).values.tolist()[:2]
    [['10', 1, 'not tested', 'yes', ''], ['20', 1, '0', 'yes', '']]
    """
    s = sweep.copy()
    s["cutoff"] = pd.to_numeric(s["cutoff"], errors="coerce")
    count = pd.to_numeric(s["n_significant"], errors="coerce")
    s["n_significant"] = [NOT_TESTED if pd.isna(v) else str(int(v)) for v in count]
    elig = s["eligible"].astype(str).str.lower().isin(["true", "1", "yes"]) if "eligible" in s else True
    chosen = s["chosen"].astype(str).str.lower().isin(["true", "1", "yes"]) if "chosen" in s else False
    s = s.assign(_e=elig, _ch=chosen).sort_values("cutoff").reset_index(drop=True)
    key = (s["n_significant"].astype(str) + "|" + s["_e"].astype(str) + "|" + s["_ch"].astype(str))
    block = (key != key.shift()).cumsum()
    rows = []
    for _, d in s.groupby(block, sort=True):
        lo, hi = d["cutoff"].iloc[0], d["cutoff"].iloc[-1]
        rows.append([f"{lo:g}" if lo == hi else f"{lo:g}–{hi:g}", len(d), d["n_significant"].iloc[0],
                     "yes" if d["_e"].iloc[0] else "no", f"{lo:g}" if d["_ch"].iloc[0] else ""])
    return pd.DataFrame(rows, columns=["cutoffs", "n cutoffs", "significant HRV variables", "eligible",
                                       "chosen"])


def cutoff_neighbours(sweep: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The chosen cutoff and its ``k`` neighbours on each side, numbers formatted.

    Examples
    --------
    >>> s = pd.DataFrame({"cutoff": [10.0, 20.0, 30.0], "n_high": [3.0, 2.0, 1.0], "n_low": [1, 2, 3],
    ...                   "imbalance": [2.0, 0.0, 2.0], "n_significant": [1.0, 4.0, 0.0],
    ...                   "eligible": [True, True, False], "chosen": [False, True, False]})
    >>> cutoff_neighbours(s, 1).values.tolist()
    [['10', '3', '1', '2', '1', 'yes', ''], ['20', '2', '2', '0', '4', 'yes', '◀ chosen'],
     ['30', '1', '3', '2', '0', 'no', '']]
    """
    s = sweep.copy()
    s["cutoff"] = pd.to_numeric(s["cutoff"], errors="coerce")
    s = s.sort_values("cutoff").reset_index(drop=True)
    chosen = s["chosen"].astype(str).str.lower().isin(["true", "1", "yes"]) if "chosen" in s else \
        pd.Series(False, index=s.index)
    at = int(np.flatnonzero(chosen)[0]) if chosen.any() else int(len(s) // 2)
    d = s.iloc[max(0, at - k): at + k + 1]

    def num(v: object, blank: str = "") -> str:
        x = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
        return blank if pd.isna(x) else f"{x:g}"
    out = pd.DataFrame({"cutoff": d["cutoff"].map(num)})
    for c, name in (("n_high", "n High"), ("n_low", "n Low"), ("imbalance", "imbalance"),
                    ("n_significant", "significant HRV variables")):
        blank = NOT_TESTED if c == "n_significant" else ""
        out[name] = d[c].map(lambda v, b=blank: num(v, b)) if c in d else ""
    out["eligible"] = (d["eligible"].astype(str).str.lower().isin(["true", "1", "yes"]).map({True: "yes",
                                                                                             False: "no"})
                       if "eligible" in d else "")
    out[""] = ["◀ chosen" if c else "" for c in chosen.iloc[d.index]]
    return out.reset_index(drop=True)
