"""Per-run metrics of predictions and the paper's Tables 2 and 3 (mean (SD) over repetitions)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eifer._tables import markdown_table, md_escape
from eifer._validation import require_columns
from eifer.evaluate.metrics import metrics_binary
from eifer.io import write_csv, write_text

RUN_KEYS = ["backbone", "composition", "group", "task", "condition", "rep"]
_ORDER = {
    "condition": ["baseline", "unambiguous", "ambiguous"],
    "task": ["arousal", "valence"],
    "group": ["High", "Low", "High-Total", "Low-Total", "Total"],  # the reference (Total) last
    "composition": ["direct", "transfer", "cv"],
}
_NAMES = {"precision": "Precision", "recall": "Recall", "f1": "F1-score", "accuracy": "Accuracy",
          "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC"}
TABLE2 = ("precision", "recall", "f1", "accuracy")
TABLE3 = ("roc_auc", "pr_auc")


def metrics_per_run(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row of metrics per (backbone, composition, group, task, condition, rep).

    Parameters
    ----------
    predictions : DataFrame
        ``predictions.parquet`` (docs/interfaces.md).

    Returns
    -------
    DataFrame
        :data:`RUN_KEYS`, ``n`` (test items), ``n_positive`` (items of class 1) and the columns of
        :data:`eifer.evaluate.metrics.METRICS`.

    Examples
    --------
    >>> p = pd.DataFrame({"backbone": "b", "composition": "direct", "group": "High", "task": "arousal",
    ...     "condition": "baseline", "rep": 0, "y_true": [0, 1, 1], "prob": [.1, .8, .3], "pred": [0, 1, 0]})
    >>> metrics_per_run(p)[["n", "accuracy"]].round(3).values.tolist()
    [[3.0, 0.667]]
    """
    require_columns(predictions, RUN_KEYS + ["y_true", "prob", "pred"], "predictions.parquet")
    rows = []
    for key, d in predictions.groupby(RUN_KEYS, sort=False):
        m = metrics_binary(d["y_true"].to_numpy(), d["prob"].to_numpy(), d["pred"].to_numpy())
        rows.append({**dict(zip(RUN_KEYS, key)), "n": len(d), "n_positive": int((d["y_true"] == 1).sum()), **m})
    return pd.DataFrame(rows)


def _sort(df: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("backbone", "composition", "condition", "task", "group") if c in df.columns]
    rank = {c: df[c].map({v: i for i, v in enumerate(_ORDER.get(c, []))}).fillna(99) for c in keys}
    order = pd.DataFrame(rank).assign(**{f"_{c}": df[c] for c in keys})
    idx = order.sort_values(list(rank) + [f"_{c}" for c in keys]).index
    return df.loc[idx].reset_index(drop=True)


def fmt_mean_sd(mean: float, sd: float, digits: int = 4) -> str:
    """``"0.9105 (0.0237)"``; SD shown as ``—`` with one repetition, ``n/a`` for NaN means.

    Examples
    --------
    >>> fmt_mean_sd(0.91049, 0.02371), fmt_mean_sd(0.5, float("nan"))
    ('0.9105 (0.0237)', '0.5000 (—)')
    """
    if not np.isfinite(mean):
        return "n/a"
    return f"{mean:.{digits}f} ({sd:.{digits}f})" if np.isfinite(sd) else f"{mean:.{digits}f} (—)"


def summary_table(per_run: pd.DataFrame, metrics: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """Mean and SD (ddof=1) over repetitions of the chosen metrics.

    Parameters
    ----------
    per_run : DataFrame
        From :func:`metrics_per_run`.
    metrics : sequence of str
        Metric columns.

    Returns
    -------
    DataFrame
        Backbone, Composition, Condition, Task, Group, Repetitions, N items, Positives (test items of
        one model and of class 1; with ``n`` / ``n_positive`` in ``per_run``), then per metric a display
        column ``"<Name>"`` (``mean (SD)``) and numeric ``<metric>_mean`` / ``<metric>_sd``. The CSV
        files keep only the numbers (:func:`select_numeric_columns`).
    """
    keys = ["backbone", "composition", "condition", "task", "group"]
    rows = []
    for key, d in per_run.groupby(keys, sort=False):
        rec: dict[str, Any] = dict(zip(keys, key))
        rec["reps"] = d["rep"].nunique()
        for col, name in (("n", "N items"), ("n_positive", "Positives")):
            if col in d:
                rec[name] = int(d[col].max())
        for m in metrics:
            v = d[m].to_numpy(float)
            v = v[np.isfinite(v)]
            mean = float(v.mean()) if len(v) else float("nan")
            sd = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
            rec[_NAMES[m]] = fmt_mean_sd(mean, sd)
            rec[f"{m}_mean"], rec[f"{m}_sd"] = mean, sd
        rows.append(rec)
    out = _sort(pd.DataFrame(rows))
    return out.rename(columns={k: k.capitalize() for k in keys} | {"reps": "Repetitions"})


def select_numeric_columns(table: pd.DataFrame) -> pd.DataFrame:
    """A :func:`summary_table` without its formatted ``mean (SD)`` columns: the tidy, numeric schema of
    ``tables/table2.csv``, ``table3.csv`` and ``table5.csv`` (docs/interfaces.md); formatting happens
    only where a table is shown (Markdown, the report).

    Examples
    --------
    >>> t = pd.DataFrame({"Group": ["High"], "ROC-AUC": ["0.9 (0.1)"], "roc_auc_mean": [0.9], "roc_auc_sd": [0.1]})
    >>> list(select_numeric_columns(t).columns)
    ['Group', 'roc_auc_mean', 'roc_auc_sd']
    """
    return table.drop(columns=[c for c in _NAMES.values() if c in table.columns])


def table_markdown(table: pd.DataFrame, title: str) -> str:
    """Markdown of a summary table in the paper's layout (one block per backbone and composition)."""
    shown = [c for c in table.columns if c in _NAMES.values()]
    lines = [f"# {title}", ""]
    for (bb, comp), d in table.groupby(["Backbone", "Composition"], sort=False):
        block = pd.DataFrame({"Condition": d["Condition"].str.capitalize(), "Task": d["Task"].str.capitalize(),
                              "Training group": [g + (" EI" if g in ("High", "Low", "Total") else "")
                                                 for g in d["Group"]]})
        block[shown] = d[shown].astype(str).to_numpy()
        # condition and task are row groups: a value repeated from the row above is left blank
        lines += [f"## {md_escape(bb)} — {md_escape(comp)}", "", markdown_table(block, group_cols=2, plain=True), ""]
    lines.append(f"Values are mean (SD) over {int(table['Repetitions'].max())} repetition(s) on the fixed test set.")
    return "\n".join(lines) + "\n"


def write_tables(per_run: pd.DataFrame, tables_dir: str | Path, *, composition_filter: tuple[str, ...] =
                 ("direct", "transfer")) -> list[Path]:
    """Write ``table2.csv/.md`` (precision, recall, F1, accuracy) and ``table3.csv/.md`` (ROC-AUC, PR-AUC)."""
    d = Path(tables_dir)
    sel = per_run[per_run["composition"].isin(composition_filter)]
    written = []
    for name, metrics, title in (("table2", TABLE2, "Table 2. Macro precision, recall, F1-score and accuracy"),
                                 ("table3", TABLE3, "Table 3. ROC-AUC and PR-AUC")):
        t = summary_table(sel, metrics)
        written.append(write_csv(d / f"{name}.csv", select_numeric_columns(t)))
        written.append(write_text(d / f"{name}.md", table_markdown(t, title)))
    return written
