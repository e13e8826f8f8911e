"""Per-run classification metrics (paper §3.4, §4.2)."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

METRICS = ("precision", "recall", "f1", "accuracy", "roc_auc", "pr_auc")


def macro_f1_grid(y: np.ndarray, prob: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Macro F1 of ``prob >= t`` for every threshold ``t`` at once (vectorised).

    Examples
    --------
    >>> macro_f1_grid(np.array([0, 0, 1, 1]), np.array([.1, .4, .6, .9]), np.array([.5, .95]))
    array([1.        , 0.33333333])
    """
    y = np.asarray(y).astype(bool)
    pred = np.asarray(prob)[None, :] >= np.asarray(thresholds)[:, None]
    tp = (pred & y).sum(1)
    fp = (pred & ~y).sum(1)
    fn = (~pred & y).sum(1)
    tn = (~pred & ~y).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1_pos = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        f1_neg = np.where(2 * tn + fn + fp > 0, 2 * tn / (2 * tn + fn + fp), 0.0)
    return (f1_pos + f1_neg) / 2


def metrics_binary(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Macro precision/recall/F1, accuracy, ROC-AUC and PR-AUC of one run.

    Macro = unweighted mean over the two classes (a class that is never
    predicted has precision 0, as scikit-learn's ``zero_division=0``). AUCs are
    NaN when ``y`` has one class only.

    Parameters
    ----------
    y : array of 0/1
    prob : array of float
        Probability of class 1.
    pred : array of 0/1
        Thresholded prediction.

    Returns
    -------
    dict
        Keys :data:`METRICS`.

    Examples
    --------
    >>> m = metrics_binary(np.array([0, 1, 1]), np.array([.2, .7, .4]), np.array([0, 1, 0]))
    >>> round(m["accuracy"], 4), round(m["roc_auc"], 4)
    (0.6667, 1.0)
    """
    y = np.asarray(y).astype(int)
    pred = np.asarray(pred).astype(int)
    prec, rec, f1 = [], [], []
    for c in (0, 1):
        tp = np.sum((pred == c) & (y == c))
        npred, ntrue = np.sum(pred == c), np.sum(y == c)
        p = tp / npred if npred else 0.0
        r = tp / ntrue if ntrue else 0.0
        prec.append(p)
        rec.append(r)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    both = len(np.unique(y)) == 2
    return {
        "precision": float(np.mean(prec)), "recall": float(np.mean(rec)), "f1": float(np.mean(f1)),
        "accuracy": float(np.mean(pred == y)) if len(y) else float("nan"),
        "roc_auc": float(roc_auc_score(y, prob)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, prob)) if both else float("nan"),
    }
