"""What a reader needs beside a metric to interpret it: test-set size and positive share, chance level,
models no better than always predicting the larger class, the chosen thresholds, results per test
participant. Pure functions of the run's tables; :mod:`eifer.report.build` places them."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from eifer.report.layout import group_label

DEGENERATE_MARK = "†"


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def annotate_metrics(wide: pd.DataFrame, table: pd.DataFrame, backbone: str, composition: str) -> \
        tuple[pd.DataFrame, int]:
    """Add "N items (positives)" after Task and mark accuracies below the majority-class share.

    Parameters
    ----------
    wide : DataFrame
        One laid-out table of :func:`eifer.report.layout.metrics_paper_layout` (Condition, Task, Metric,
        one column per group; conditions and tasks capitalised, groups labelled "High EI" …).
    table : DataFrame
        The ``tables/table<k>.csv`` it was laid out from (``N items``, ``Positives``, ``accuracy_mean``).
    backbone, composition : str

    Returns
    -------
    (DataFrame, int)
        The table with the new column (when the CSV has ``N items``) and the number of marked cells.

    Examples
    --------
    >>> t = pd.DataFrame({"Backbone": "b", "Composition": "direct", "Condition": "baseline", "Task": "arousal",
    ...                   "Group": ["High", "Low"], "N items": 100, "Positives": 80, "accuracy_mean": [0.9, 0.8]})
    >>> w = pd.DataFrame({"Condition": "Baseline", "Task": "Arousal", "Metric": ["Accuracy"],
    ...                   "High EI": ["0.9000 (0.01)"], "Low EI": ["0.8000 (0.01)"]})
    >>> out, n = annotate_metrics(w, t, "b", "direct")

    Low's 0.80 equals the majority share (80 of 100 items positive): no better than always answering
    "high", so it is marked; High's 0.90 is not.

    >>> out.iloc[0].tolist(), n
    (['Baseline', 'Arousal', '100 (80 = 80.0 %)', 'Accuracy', '0.9000 (0.01)', '0.8000 (0.01) †'], 1)
    """
    if "N items" not in table.columns:
        return wide, 0
    d = table[(table["Backbone"].astype(str) == backbone) & (table["Composition"].astype(str) == composition)]
    key = d["Condition"].astype(str).str.capitalize() + "|" + d["Task"].astype(str).str.capitalize()
    n_items = _num(d["N items"]).groupby(key).max()
    pos = _num(d["Positives"]).groupby(key).max() if "Positives" in d else pd.Series(dtype=float)
    out = wide.copy()
    keys = out["Condition"].astype(str) + "|" + out["Task"].astype(str)
    cells = []
    for k in keys:
        n, p = n_items.get(k, np.nan), pos.get(k, np.nan)
        if not np.isfinite(n):
            cells.append("")
        elif np.isfinite(p) and n > 0:
            cells.append(f"{int(n)} ({int(p)} = {100 * p / n:.1f} %)")
        else:
            cells.append(f"{int(n)}")
    out.insert(2, "N items (positives)", cells)
    marked = 0
    if "accuracy_mean" in d.columns and len(pos):
        acc = d.assign(_k=key, _a=_num(d["accuracy_mean"]))
        for i in out.index[out["Metric"] == "Accuracy"]:
            k = keys[i]
            n, p = n_items.get(k, np.nan), pos.get(k, np.nan)
            if not (np.isfinite(n) and np.isfinite(p) and n > 0):
                continue
            majority = max(p, n - p) / n
            for _, r in acc[acc["_k"] == k].iterrows():
                col = group_label(str(r["Group"]))
                if col in out.columns and np.isfinite(r["_a"]) and r["_a"] <= majority:
                    out.loc[i, col] = f"{out.loc[i, col]} {DEGENERATE_MARK}"
                    marked += 1
    return out, marked


def summarise_thresholds(pred: pd.DataFrame) -> pd.DataFrame:
    """The decision thresholds chosen on validation, per backbone × composition × task × group:
    mean and range over repetitions.

    Examples
    --------
    >>> p = pd.DataFrame({"backbone": "b", "composition": "direct", "task": "arousal", "group": "High",
    ...                   "condition": "baseline", "rep": [0, 0, 1], "threshold": [0.4, 0.4, 0.6]})
    >>> summarise_thresholds(p).iloc[0].tolist()
    ['b', 'direct', 'arousal', 'High', 2, 0.5, 0.4, 0.6]
    """
    keys = ["backbone", "composition", "task", "group"]
    if not set(keys + ["rep", "threshold"]) <= set(pred.columns):
        return pd.DataFrame()
    per = pred.drop_duplicates(keys + ["rep"])[keys + ["rep", "threshold"]]
    g = per.groupby(keys, sort=True)["threshold"]
    out = pd.DataFrame({"models": g.size(), "mean threshold": g.mean().round(3), "min": g.min(), "max": g.max()})
    return out.reset_index()


def compute_auc_per_participant(pred: pd.DataFrame, condition: str = "baseline") -> pd.DataFrame:
    """ROC-AUC per test participant (mean over repetitions) for each backbone × composition × task × group,
    on one condition; NaN where a participant's items are all of one class.

    Examples
    --------
    >>> p = pd.DataFrame({"backbone": "b", "composition": "direct", "task": "arousal", "group": "High",
    ...                   "condition": "baseline", "rep": 0, "participant_id": ["P1"] * 4 + ["P2"] * 2,
    ...                   "y_true": [0, 1, 0, 1, 1, 1], "prob": [.1, .9, .2, .8, .5, .6]})
    >>> compute_auc_per_participant(p)[["P1", "P2"]].values.tolist()
    [[1.0, nan]]
    """
    need = {"backbone", "composition", "task", "group", "condition", "rep", "participant_id", "y_true", "prob"}
    if not need <= set(pred.columns):
        return pd.DataFrame()
    d = pred[pred["condition"] == condition]
    rows = []
    for key, g in d.groupby(["backbone", "composition", "task", "group", "participant_id", "rep"], sort=True):
        y = g["y_true"].to_numpy()
        auc = float(roc_auc_score(y, g["prob"].to_numpy())) if 0 < y.sum() < len(y) else np.nan
        rows.append((*key, auc))
    if not rows:
        return pd.DataFrame()
    t = pd.DataFrame(rows, columns=["backbone", "composition", "task", "group", "participant_id", "rep", "auc"])
    wide = t.groupby(["backbone", "composition", "task", "group", "participant_id"])["auc"].mean().unstack()
    wide.columns.name = None
    return wide.round(3).reset_index()
