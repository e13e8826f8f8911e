"""Random-effects pooling with heterogeneity, and Stouffer's signed combination.

The paper pools the repetitions' ΔAUC with fixed inverse-variance weights and
combines their two-sided p-values with Fisher's method. Both hide repetitions
that disagree: a fixed-effect pool lets one near-ceiling repetition with a tiny
SE swamp the others, and Fisher's method is blind to direction (two p < 1e-4
pointing opposite ways give a tiny combined p). Beside them eifer reports

* :func:`pool_random_effects` — the random-effects model of ``metafor::rma``:
  τ² by REML (Fisher scoring, as metafor) or DerSimonian–Laird, Cochran's Q,
  I² (in %, metafor's definition from τ² and the "typical" within-repetition
  variance) and optionally the Hartung–Knapp–Sidik–Jonkman interval
  (``test="knha"``: t with k − 1 df and the weighted residual variance,
  untruncated, as metafor 3.8);
* :func:`stouffer_combine` — Stouffer's Z of the signed per-repetition z,
  which cancels when repetitions point opposite ways.

Written here rather than taken from statsmodels: ``combine_effects`` offers DL
and Paule–Mandel but no REML, and its HKSJ variant is spread over its result
object; one implementation of both estimators keeps the formulas in one place.
``tests/stats/test_meta_reference.py`` checks every number against R
``metafor`` (``tests/fixtures/make_reference_metafor.R``) and DL against
statsmodels.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from eifer.errors import EiferError
from eifer.stats.combine import estimates_and_ses


@dataclass(frozen=True)
class RandomEffectsResult:
    """Random-effects pool of k estimates (the fields of ``metafor::rma``)."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    tau2: float
    i2: float        # percent, as metafor
    q: float         # Cochran's Q with fixed-effect weights
    q_df: int
    q_p: float
    k: int
    method: str
    knha: bool

    def to_dict(self) -> dict:
        return asdict(self)


def _tau2_dl(y: np.ndarray, v: np.ndarray) -> float:
    w = 1.0 / v
    mu = (w * y).sum() / w.sum()
    q = (w * (y - mu) ** 2).sum()
    c = w.sum() - (w**2).sum() / w.sum()
    return float(max(0.0, (q - (y.size - 1)) / c)) if c > 0 else 0.0


def _tau2_reml(y: np.ndarray, v: np.ndarray, tol: float = 1e-12, max_iter: int = 1000) -> float:
    """REML τ² by Fisher scoring with step halving at 0 (metafor's algorithm, intercept-only model)."""
    # start: Hedges' estimator, as metafor
    tau2 = max(0.0, float(np.var(y, ddof=1) - v.mean())) if y.size > 1 else 0.0
    for _ in range(max_iter):
        w = 1.0 / (v + tau2)
        mu = (w * y).sum() / w.sum()
        # P = W − w wᵀ / Σw ; P y = w (y − mu)
        py = w * (y - mu)
        p_diag = w - w**2 / w.sum()
        # tr(P P) = Σ w² − 2 Σ w³ / Σw + (Σ w²)² / (Σw)²
        tr_pp = (w**2).sum() - 2 * (w**3).sum() / w.sum() + ((w**2).sum() / w.sum()) ** 2
        adj = float((py @ py - p_diag.sum()) / tr_pp)
        while tau2 + adj < 0:
            adj /= 2
            if abs(adj) < tol:
                adj = -tau2
                break
        tau2 += adj
        if abs(adj) < tol:
            break
    return max(0.0, tau2)


def pool_random_effects(deltas: npt.ArrayLike, ses: npt.ArrayLike, method: Literal["REML", "DL"] = "REML",
                        knha: bool = False, level: float = 0.95) -> RandomEffectsResult:
    """Random-effects pool of estimates with standard errors, with Cochran's Q, I² and τ².

    Equal to ``metafor::rma(yi, sei = ses, method = method, test = "knha" | "z")``.

    Parameters
    ----------
    deltas : array-like of float
        Per-repetition estimates (e.g. ΔAUC).
    ses : array-like of float, all > 0
        Their standard errors.
    method : {"REML", "DL"}
        Estimator of the between-repetition variance τ²: restricted maximum
        likelihood (metafor's default) or DerSimonian–Laird.
    knha : bool
        Hartung–Knapp–Sidik–Jonkman: SE from the weighted residual variance
        and a t interval and p with k − 1 df (needs k ≥ 2, else NaN).
    level : float
        Confidence level.

    Returns
    -------
    RandomEffectsResult
        ``estimate, se, ci_low, ci_high, p`` of the pooled effect; ``tau2``;
        ``i2`` in percent (100 τ² / (τ² + typical within-variance), metafor);
        ``q, q_df, q_p`` Cochran's Q (fixed-effect weights), its df and p;
        ``k, method, knha``.

    Examples
    --------
    >>> r = pool_random_effects([0.055, 0.061, -0.113], [0.010, 0.010, 0.012])
    >>> round(r.estimate, 3), r.ci_low < 0 < r.ci_high, round(r.i2)
    (0.001, True, 99)
    >>> round(pool_random_effects([0.02, 0.02], [0.01, 0.02], method="DL").tau2, 6)
    0.0
    """
    y, s = estimates_and_ses(deltas, ses, "pool_random_effects")
    if method not in ("REML", "DL"):
        raise EiferError(f"pool_random_effects: method must be 'REML' or 'DL', got {method!r}")
    if not 0 < level < 1:
        raise EiferError(f"pool_random_effects: level must lie in (0, 1), got {level}")
    k = y.size
    v = s**2
    w = 1.0 / v
    mu_fe = (w * y).sum() / w.sum()
    q = float((w * (y - mu_fe) ** 2).sum())
    tau2 = 0.0 if k == 1 else (_tau2_reml(y, v) if method == "REML" else _tau2_dl(y, v))
    c = w.sum() - (w**2).sum() / w.sum()
    vt = (k - 1) / c if k > 1 and c > 0 else 0.0  # metafor's "typical" within-repetition variance
    i2 = float(100 * tau2 / (tau2 + vt)) if tau2 + vt > 0 else 0.0
    ws = 1.0 / (v + tau2)
    est = float((ws * y).sum() / ws.sum())
    if knha:
        if k < 2:
            se, p, lo, hi = float("nan"), float("nan"), float("nan"), float("nan")
        else:
            s2w = float((ws * (y - est) ** 2).sum() / (k - 1))
            se = float(np.sqrt(s2w / ws.sum()))
            crit = float(sps.t.ppf(0.5 + level / 2, k - 1))
            p = float(2 * sps.t.sf(abs(est / se), k - 1)) if se > 0 else (0.0 if est != 0 else 1.0)
            lo, hi = est - crit * se, est + crit * se
    else:
        se = float(1.0 / np.sqrt(ws.sum()))
        crit = float(sps.norm.ppf(0.5 + level / 2))
        p = float(2 * sps.norm.sf(abs(est / se)))
        lo, hi = est - crit * se, est + crit * se
    q_p = float(sps.chi2.sf(q, k - 1)) if k > 1 else float("nan")
    return RandomEffectsResult(estimate=est, se=se, ci_low=float(lo), ci_high=float(hi), p=p, tau2=float(tau2),
                               i2=i2, q=q, q_df=k - 1, q_p=q_p, k=k, method=method, knha=bool(knha))


def stouffer_combine(z: npt.ArrayLike) -> tuple[float, float]:
    """Stouffer's method: combine signed z-statistics, Z = Σ z_i / √k, two-sided p.

    Unlike Fisher's method on two-sided p-values it keeps the direction:
    repetitions pointing opposite ways cancel.

    Parameters
    ----------
    z : array-like of float
        One signed z per repetition (e.g. DeLong's z of ΔAUC = AUC_A − AUC_B).

    Returns
    -------
    tuple
        ``(Z, p)`` with p = 2 (1 − Φ(|Z|)).

    Examples
    --------
    >>> Z, p = stouffer_combine([4.0, 4.0, -8.0])
    >>> round(Z, 6), round(p, 6)
    (0.0, 1.0)
    >>> round(stouffer_combine([1.96, 1.96])[1], 4)
    0.0056
    """
    arr = np.asarray(z, dtype=float).ravel()
    if arr.size == 0:
        raise EiferError("stouffer_combine: no z-statistics given")
    if not np.isfinite(arr).all():
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise EiferError(f"stouffer_combine: z at position {i} is {arr[i]}, must be finite")
    big_z = float(arr.sum() / np.sqrt(arr.size))
    return big_z, float(2 * sps.norm.sf(abs(big_z)))
