"""DeLong's test for one ROC-AUC and for two paired (correlated) ROC-AUCs.

The fast midrank algorithm of Sun & Xu (2014, IEEE SPL 21:1389) gives the
DeLong structural components in O(n log n): for positives X (m of them) and
negatives Y (n), with T_z the midranks in the pooled sample and T_x, T_y the
midranks within each class,

    AUC  = (Σ T_z[X] − m(m+1)/2) / (m n)
    V10  = (T_z[X] − T_x) / n          (one per positive)
    V01  = 1 − (T_z[Y] − T_y) / m      (one per negative)
    S    = cov(V10) / m + cov(V01) / n

Ties between a positive and a negative count ½. A higher score means class 1
and the direction is never flipped: a below-chance classifier gets AUC < 0.5
(``pROC`` with ``direction="<"``). Validated against
``pROC::roc.test(method="delong", paired=TRUE)`` and ``pROC::var``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, ndtri

from eifer.errors import EiferError


@dataclass(frozen=True)
class DelongResult:
    """Paired DeLong comparison of two ROC-AUCs on the same items (Δ = a − b)."""

    auc_a: float
    auc_b: float
    delta: float
    se: float
    z: float
    p: float
    ci_low: float
    ci_high: float
    var_a: float
    var_b: float
    cov_ab: float
    n_pos: int
    n_neg: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AucCI:
    """One ROC-AUC with its DeLong variance and 95 % CI (clipped to [0, 1] like pROC)."""

    auc: float
    var: float
    se: float
    ci_low: float
    ci_high: float
    n_pos: int
    n_neg: int

    def to_dict(self) -> dict:
        return asdict(self)


def _run_midranks(xs: np.ndarray) -> np.ndarray:
    """Midranks (1-based, ties share the average rank) of an already sorted array."""
    n = xs.size
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(xs[1:], xs[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    return np.repeat((starts + ends + 1) / 2.0, ends - starts)


def _midranks(s: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pooled midranks T_z and within-class midranks (T_x or T_y) from one sort.

    Both come back in the original item order, which the covariance between
    two scores' structural components needs.
    """
    order = np.argsort(s)  # ties: any order, midranks do not depend on it
    ss, ps, ns = s[order], pos[order], neg[order]
    tz, within = np.empty(s.size), np.empty(s.size)
    tz[order] = _run_midranks(ss)
    within[order[ps]] = _run_midranks(ss[ps])
    within[order[ns]] = _run_midranks(ss[ns])
    return tz, within


def _labels(y_true: npt.ArrayLike) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise EiferError(f"y_true must be one-dimensional, got shape {y.shape}")
    if y.dtype == bool:
        return y
    try:
        yf = y.astype(float)
    except (TypeError, ValueError):
        raise EiferError(f"y_true must hold 0/1 labels, found values {np.unique(y)[:5].tolist()}") from None
    if np.isnan(yf).any():
        raise EiferError(f"y_true contains NaN at position {int(np.flatnonzero(np.isnan(yf))[0])}")
    is1 = yf == 1.0
    if not (is1 | (yf == 0.0)).all():
        raise EiferError(f"y_true must hold two classes coded 0/1, found values {np.unique(yf)[:5].tolist()}")
    return is1


def _scores(score: npt.ArrayLike, n: int, name: str) -> np.ndarray:
    s = np.asarray(score, dtype=float)
    if s.ndim != 1:
        raise EiferError(f"{name} must be one-dimensional, got shape {s.shape}")
    if s.size != n:
        raise EiferError(f"{name} has {s.size} values but y_true has {n}")
    bad = ~np.isfinite(s)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise EiferError(f"{name} contains a non-finite value ({s[i]}) at position {i}")
    return s


def _components(pos: np.ndarray, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """AUCs and structural components V10 (k × m), V01 (k × n)."""
    m, n = int(pos.sum()), int((~pos).sum())
    if m == 0 or n == 0:
        raise EiferError(f"y_true holds a single class ({m} positives, {n} negatives); "
                         "an AUC needs both")
    neg = ~pos
    v10s, v01s = [], []
    for s in scores:
        tz, within = _midranks(s, pos, neg)
        d = tz - within  # = number of the other class ranked below (ties ½)
        v10s.append(d[pos] / n)
        v01s.append(1.0 - d[neg] / m)
    v10, v01 = np.vstack(v10s), np.vstack(v01s)
    # Σ T_x = m(m+1)/2, so the AUC is the mean of the positives' components.
    return v10.mean(axis=1), v10, v01, m, n


def _cov(v10: np.ndarray, v01: np.ndarray, m: int, n: int) -> np.ndarray:
    """DeLong covariance matrix S = S10/m + S01/n of the AUCs."""
    def sample_cov(v: np.ndarray, k: int) -> np.ndarray:
        # With one positive (or negative) there is no spread to estimate; that
        # component contributes 0, as in pROC.
        if k < 2:
            return np.zeros((v.shape[0], v.shape[0]))
        c = v - v.mean(axis=1, keepdims=True)
        return (c @ c.T) / (k - 1)

    return sample_cov(v10, m) / m + sample_cov(v01, n) / n


def delong_auc_ci(y_true: npt.ArrayLike, score: npt.ArrayLike, level: float = 0.95) -> AucCI:
    """ROC-AUC of one score with its DeLong variance and confidence interval.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool
        True classes; 1 is the positive class.
    score : array-like of float
        Higher = more likely class 1 (never flipped).
    level : float
        Confidence level of the interval.

    Returns
    -------
    AucCI
        ``auc, var, se, ci_low, ci_high, n_pos, n_neg``; the interval is
        ``auc ± z·se`` clipped to [0, 1] (as ``pROC::ci.auc``).

    Examples
    --------
    >>> r = delong_auc_ci([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> r.auc
    0.75
    """
    pos = _labels(y_true)
    s = _scores(score, pos.size, "score")
    aucs, v10, v01, m, n = _components(pos, [s])
    var = float(_cov(v10, v01, m, n)[0, 0])
    se = float(np.sqrt(max(var, 0.0)))
    z = float(ndtri(0.5 + level / 2))
    auc = float(aucs[0])
    return AucCI(auc=auc, var=var, se=se, ci_low=max(0.0, auc - z * se),
                 ci_high=min(1.0, auc + z * se), n_pos=m, n_neg=n)


def delong_test(y_true: npt.ArrayLike, score_a: npt.ArrayLike, score_b: npt.ArrayLike,
                level: float = 0.95) -> DelongResult:
    """Paired DeLong test of two ROC-AUCs measured on the same items.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool
        True classes of the shared test items.
    score_a, score_b : array-like of float
        Scores of the two models for the same items in the same order
        (higher = class 1).
    level : float
        Confidence level of the interval for Δ = AUC_a − AUC_b.

    Returns
    -------
    DelongResult
        ``auc_a, auc_b, delta, se, z, p`` (two-sided), ``ci_low, ci_high``
        (Δ ± z·se), ``var_a, var_b, cov_ab``, ``n_pos, n_neg``. When the
        two curves have zero variance of Δ (identical scores, or both
        perfect) and Δ = 0, z = 0 and p = 1.

    Examples
    --------
    >>> r = delong_test([0, 0, 1, 1, 0, 1], [.1, .2, .8, .7, .3, .9], [.1, .6, .5, .7, .3, .2])
    >>> round(r.delta, 4)
    0.3333
    """
    pos = _labels(y_true)
    a = _scores(score_a, pos.size, "score_a")
    b = _scores(score_b, pos.size, "score_b")
    aucs, v10, v01, m, n = _components(pos, [a, b])
    S = _cov(v10, v01, m, n)
    delta = float(aucs[0] - aucs[1])
    var = float(S[0, 0] + S[1, 1] - 2 * S[0, 1])
    se = float(np.sqrt(max(var, 0.0)))
    if se > 0:
        z = delta / se
    else:
        z = 0.0 if delta == 0 else float(np.sign(delta) * np.inf)
    p = float(2 * ndtr(-abs(z)))
    zc = float(ndtri(0.5 + level / 2))
    return DelongResult(auc_a=float(aucs[0]), auc_b=float(aucs[1]), delta=delta, se=se, z=float(z),
                        p=p, ci_low=delta - zc * se, ci_high=delta + zc * se,
                        var_a=float(S[0, 0]), var_b=float(S[1, 1]), cov_ab=float(S[0, 1]),
                        n_pos=m, n_neg=n)
