"""Decision threshold chosen on validation predictions (paper §3.3)."""
from __future__ import annotations

import numpy as np

from eifer.config import DEFAULTS
from eifer.evaluate.metrics import macro_f1_grid


def threshold_grid(lo: float = DEFAULTS.train.threshold_grid[0], hi: float = DEFAULTS.train.threshold_grid[1],
                   step: float = DEFAULTS.train.threshold_grid[2]) -> np.ndarray:
    """Candidate thresholds ``lo, lo+step, ..., hi`` (inclusive, rounded to the step).

    Examples
    --------
    >>> g = threshold_grid(); len(g), g[0], g[-1]
    (61, 0.2, 0.8)
    """
    n = int(round((hi - lo) / step)) + 1
    return np.round(lo + step * np.arange(n), 10)


def select_threshold(y: np.ndarray, prob: np.ndarray,
                     grid: tuple[float, float, float] = DEFAULTS.train.threshold_grid) -> tuple[float, float]:
    """Threshold on ``grid`` with the largest macro F1; ties go to the one closest to 0.5.

    Parameters
    ----------
    y : array of 0/1
        Validation labels.
    prob : array of float
        Validation probabilities of class 1.
    grid : (lo, hi, step)
        Default: config ``train.threshold_grid``.

    Returns
    -------
    (threshold, macro_f1)

    Examples
    --------
    >>> select_threshold(np.array([0, 0, 1, 1]), np.array([.1, .3, .35, .9]))
    (0.35, 1.0)
    """
    ts = threshold_grid(*grid)
    f1 = macro_f1_grid(y, prob, ts)
    best = np.flatnonzero(np.isclose(f1, f1.max()))
    i = best[np.argmin(np.abs(ts[best] - 0.5))]
    return float(ts[i]), float(f1[i])
