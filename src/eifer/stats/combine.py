"""Combining evidence across repetitions and controlling the false discovery rate."""
from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from eifer.errors import EiferError


def _pvalues(p: npt.ArrayLike, name: str, allow_nan: bool = False) -> np.ndarray:
    arr = np.asarray(p, dtype=float).ravel()
    bad = (arr < 0) | (arr > 1) | (np.isnan(arr) if not allow_nan else False)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise EiferError(f"{name}: p-value at position {i} is {arr[i]}, must lie in [0, 1]")
    return arr


def fisher_combine(pvalues: npt.ArrayLike) -> float:
    """Fisher's method: combine independent p-values into one.

    X = −2 Σ log p_i follows χ² with 2k degrees of freedom under the joint
    null *if the p-values are independent* (see docs/statistics.md for what
    happens when they are not).

    Parameters
    ----------
    pvalues : array-like of float in [0, 1]

    Returns
    -------
    float
        Combined p-value (0 when any p is 0).

    Examples
    --------
    >>> round(fisher_combine([0.05, 0.05]), 4)
    0.0175
    """
    p = _pvalues(pvalues, "fisher_combine")
    if p.size == 0:
        raise EiferError("fisher_combine: no p-values given")
    if (p == 0).any():
        return 0.0
    return float(sps.chi2.sf(-2.0 * np.log(p).sum(), 2 * p.size))


def estimates_and_ses(deltas: npt.ArrayLike, ses: npt.ArrayLike, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and their SEs as flat float arrays; an :class:`EiferError` (named ``name``) unless poolable.

    Poolable: as many SEs as estimates, at least one, every value finite and every SE > 0.

    Examples
    --------
    >>> estimates_and_ses([0.1, 0.2], [0.01, 0.02], "demo")[1].tolist()
    [0.01, 0.02]
    >>> estimates_and_ses([0.1], [0.0], "demo")
    Traceback (most recent call last):
    ...
    eifer.errors.EiferError: demo: estimate 0 (0.1) or its SE (0.0) is not finite or the SE is not > 0
    """
    d = np.asarray(deltas, dtype=float).ravel()
    s = np.asarray(ses, dtype=float).ravel()
    if d.size == 0 or d.size != s.size:
        raise EiferError(f"{name}: need equally many estimates and SEs, got {d.size} and {s.size}")
    bad = ~np.isfinite(d) | ~np.isfinite(s) | (s <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise EiferError(f"{name}: estimate {i} ({d[i]}) or its SE ({s[i]}) is not finite or the SE is not > 0")
    return d, s


def pool_inverse_variance(deltas: npt.ArrayLike, ses: npt.ArrayLike,
                          level: float = 0.95) -> tuple[float, float, float, float]:
    """Fixed-effect inverse-variance pooling of estimates with standard errors.

    Parameters
    ----------
    deltas : array-like of float
        Per-repetition estimates (e.g. ΔAUC).
    ses : array-like of float, all > 0
        Their standard errors.
    level : float
        Confidence level.

    Returns
    -------
    tuple
        ``(estimate, se, ci_low, ci_high)`` with weights 1/se².

    Examples
    --------
    >>> est, se, lo, hi = pool_inverse_variance([0.01, 0.03], [0.01, 0.01])
    >>> round(est, 3), round(se, 5)
    (0.02, 0.00707)
    """
    d, s = estimates_and_ses(deltas, ses, "pool_inverse_variance")
    w = 1.0 / s**2
    est = float((w * d).sum() / w.sum())
    se = float(1.0 / np.sqrt(w.sum()))
    z = sps.norm.ppf(0.5 + level / 2)
    return est, se, est - z * se, est + z * se


def bh_fdr(pvalues: npt.ArrayLike) -> np.ndarray:
    """Benjamini–Hochberg q-values, in the input order (``p.adjust(p, "BH")``).

    NaN p-values stay NaN and do not count towards the number of tests.

    Parameters
    ----------
    pvalues : array-like of float in [0, 1]

    Returns
    -------
    numpy.ndarray
        q_i = min over j with p_j ≥ p_i of (m / rank_j) p_j, capped at 1.

    Examples
    --------
    >>> bh_fdr([0.01, 0.04, 0.03, 1.0]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 1.0]
    """
    p = _pvalues(pvalues, "bh_fdr", allow_nan=True)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv, kind="mergesort")[::-1]  # largest first
    ranks = np.arange(m, 0, -1)
    q_sorted = np.minimum.accumulate(pv[order] * m / ranks)
    qq = np.empty(m)
    qq[order] = np.minimum(q_sorted, 1.0)
    q[ok] = qq
    return q
