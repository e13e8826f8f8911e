"""Tables 4 and 6 of the paper from :func:`eifer.stats.compare_groups` results, and the stats stage runner."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from eifer._tables import format_p, markdown_table
from eifer._validation import require_columns
from eifer.config import DEFAULTS
from eifer.io import write_csv, write_text

_TITLES = {
    4: "Table 4. Group comparisons: discrimination (paired DeLong per repetition, Fisher-combined; "
       "inverse-variance pooled ΔAUC) and classification correctness (binomial GEE, OR vs the first group); "
       "permutation tests over trained models (dependence-aware); q = BH within each family.",
    6: "Table 6. Group comparisons for the additional backbones (same procedures as Table 4).",
}


def _ci(est: float, lo: float, hi: float) -> str:
    if est is None or not np.isfinite(est):
        return "–"
    return f"{est:.4f} [{lo:.4f}, {hi:.4f}]"


def stats_table(results: pd.DataFrame) -> pd.DataFrame:
    """Lay out :func:`compare_groups` results like the paper's Table 4 / Table 6.

    Parameters
    ----------
    results : DataFrame
        Output of :func:`eifer.stats.compare_groups`.

    Returns
    -------
    DataFrame of str
        Columns: Backbone, Composition (always, so the schema does not change with the run), Task,
        Condition, Comparison, ΔAUC [95% CI], Fisher p, q (DeLong), OR [95% CI], p (GEE), q (GEE),
        Perm. p (ΔAUC), q (perm. AUC), Perm. p (Δacc), q (perm. acc).

    Examples
    --------
    >>> from eifer.stats import compare_groups
    >>> from eifer.stats.calibration import simulate_predictions
    >>> t = stats_table(compare_groups(simulate_predictions(n_items=96, reps=3, seed=1)))
    >>> list(t.columns)[:5]
    ['Backbone', 'Composition', 'Task', 'Condition', 'Comparison']
    """
    need = ["backbone", "composition", "task", "condition", "comparison", "delta_auc", "fisher_p", "delong_q",
            "or_", "gee_p", "gee_q", "perm_p_auc", "perm_q_auc", "perm_p_acc", "perm_q_acc"]
    require_columns(results, need, "stats_table", "; pass compare_groups() output")
    order = {"baseline": 0, "unambiguous": 1, "ambiguous": 2}
    r = results.assign(_c=results["condition"].map(order).fillna(9)).sort_values(
        ["backbone", "composition", "task", "_c", "comparison"], kind="mergesort")
    out = pd.DataFrame(index=r.index)
    out["Backbone"] = r["backbone"]
    out["Composition"] = r["composition"]
    out["Task"] = r["task"].str.capitalize()
    out["Condition"] = r["condition"].str.capitalize()
    out["Comparison"] = r["comparison"]
    out["ΔAUC [95% CI]"] = [_ci(*v) for v in zip(r["delta_auc"], r["delta_ci_low"], r["delta_ci_high"])]
    out["Fisher p"] = r["fisher_p"].map(format_p)
    out["q (DeLong)"] = r["delong_q"].map(format_p)
    out["OR [95% CI]"] = [_ci(*v) for v in zip(r["or_"], r["or_ci_low"], r["or_ci_high"])]
    out["p (GEE)"] = r["gee_p"].map(format_p)
    out["q (GEE)"] = r["gee_q"].map(format_p)
    out["Perm. p (ΔAUC)"] = r["perm_p_auc"].map(format_p)
    out["q (perm. AUC)"] = r["perm_q_auc"].map(format_p)
    out["Perm. p (Δacc)"] = r["perm_p_acc"].map(format_p)
    out["q (perm. acc)"] = r["perm_q_acc"].map(format_p)
    return out.reset_index(drop=True)


def select_table_numbers(results: pd.DataFrame) -> pd.DataFrame:
    """The tidy, numeric schema of ``tables/table4.csv`` / ``table6.csv`` (docs/interfaces.md): the
    :func:`compare_groups` columns in a fixed order, one row per backbone × composition × task ×
    condition × comparison, every p-value a number (never "< 0.001"); formatting happens only where a
    table is shown. Columns the results lack are left out; any further ones follow in their order.

    Examples
    --------
    >>> from eifer.stats import compare_groups
    >>> from eifer.stats.calibration import simulate_predictions
    >>> t = select_table_numbers(compare_groups(simulate_predictions(n_items=96, reps=3, seed=1)))
    >>> list(t.columns)[:6], t["fisher_p"].dtype.kind
    (['backbone', 'composition', 'task', 'condition', 'comparison', 'group_a'], 'f')
    """
    first = [c for c in _TIDY_FIRST if c in results.columns]
    order = {"baseline": 0, "unambiguous": 1, "ambiguous": 2}
    r = results.assign(_c=results["condition"].map(order).fillna(9)).sort_values(
        ["backbone", "composition", "task", "_c", "comparison"], kind="mergesort").drop(columns="_c")
    return r[first + [c for c in r.columns if c not in first]].reset_index(drop=True)


_TIDY_FIRST = ("backbone", "composition", "task", "condition", "comparison", "group_a", "group_b", "delta_auc",
               "delta_ci_low", "delta_ci_high", "fisher_p", "delong_q", "or_", "or_ci_low", "or_ci_high", "gee_p",
               "gee_q", "perm_delta_auc", "perm_p_auc", "perm_q_auc", "perm_delta_acc", "perm_p_acc", "perm_q_acc")


def stats_markdown(table: pd.DataFrame, number: int = 4) -> str:
    """Markdown of a :func:`stats_table` with the table's title and a note on the tests."""
    note = ("ΔAUC = AUC(first group) − AUC(second); OR = odds of a correct classification for the second "
            "group relative to the first. Fisher's method and the GEE treat the repetitions' shared test "
            "items as the only randomness; the permutation p-values permute the trained models and hold "
            "their level under that dependence (docs/statistics.md).")
    return f"{_TITLES.get(number, f'Table {number}.')}\n\n{markdown_table(table)}\n\n{note}\n"


def write_stats_tables(results: pd.DataFrame, folder: str | Path, number: int = 4,
                       by_rep: pd.DataFrame | None = None) -> list[Path]:
    """Write ``table<number>.csv`` (numbers, :func:`select_table_numbers`), ``.md`` (formatted),
    ``table<number>_full.csv`` (every column of the results) and ``table<number>_reps.csv`` (every
    repetition's DeLong ΔAUC, SE, CI, p; when ``by_rep`` is given).

    Parameters
    ----------
    results : DataFrame
        :func:`eifer.stats.compare_groups` output.
    folder : path-like
        Usually ``RUN/tables``.
    number : int
        4 (main backbone) or 6 (additional backbones).
    by_rep : DataFrame, optional
        :func:`eifer.stats.compare_groups_by_rep` output.

    Returns
    -------
    list of Path
        The files written (atomically).
    """
    folder = Path(folder)
    table = stats_table(results)
    files = [write_csv(folder / f"table{number}.csv", select_table_numbers(results)),
             write_text(folder / f"table{number}.md", stats_markdown(table, number)),
             write_csv(folder / f"table{number}_full.csv", results)]
    if by_rep is not None:
        files.append(write_csv(folder / f"table{number}_reps.csv", by_rep))
    return files


def compare_groups_for_run(pred: pd.DataFrame, seed: int,
                           comparisons: Mapping[str, Sequence[tuple[str, str]]] = DEFAULTS.stats.comparisons,
                           n_permutations: int = DEFAULTS.stats.n_permutations,
                           max_exact: int = DEFAULTS.stats.max_exact,
                           paired: bool | Mapping[str, bool] = True) -> pd.DataFrame:
    """:func:`compare_groups` with a progress note per backbone (used by the stage runners).

    The stage runners pass the ``stats`` section (``comparisons``, ``n_permutations``, ``max_exact``) and
    ``paired`` per composition (:func:`eifer.stats.compare.paired_by_composition` of ``split.pairing``).
    """
    from eifer.stats.compare import compare_groups
    from eifer.utils import progress

    parts = []
    backbones = sorted(pred["backbone"].unique())
    with progress() as bar:
        task = bar.add_task("group comparisons", total=len(backbones))
        for b in backbones:
            parts.append(compare_groups(pred, comparisons, backbone=b, seed=seed, n_permutations=n_permutations,
                                        max_exact=max_exact, paired=paired))
            bar.advance(task)
    return pd.concat(parts, ignore_index=True)
