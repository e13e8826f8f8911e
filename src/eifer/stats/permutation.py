"""Dependence-aware alternative: a permutation test over trained models.

The paper's tests treat the test items as the only source of randomness and
the repetitions as independent. But every repetition is scored on the *same*
test items, and the difference between two training compositions also varies
from one training run to the next. With a fixed test set of 4 participants the
honest question is: *would models trained on composition A score differently
on this test set than models trained on composition B?* Under the null the
R_a + R_b trained models are exchangeable, so permuting the group labels over
the models gives an exact test whatever the dependence between items, frames,
videos, participants or repetitions (all of it travels with each model).

The statistic is the difference of the groups' mean per-model metric (ROC-AUC,
accuracy). All C(R_a + R_b, R_a) relabelings are enumerated when there are
at most ``max_exact`` (``stats.max_exact``); otherwise ``n_perm``
(``stats.n_permutations``) random ones are drawn (seeded)
and the p-value counts the observed labeling, so it is never 0. The smallest
attainable two-sided p with 5 + 5 models is 2/252 ≈ 0.008; with 3 + 3 it is
0.1 (the test cannot reject at 0.05 — see docs/statistics.md).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations
from math import comb

import numpy as np
import numpy.typing as npt

from eifer.config import DEFAULTS
from eifer.errors import EiferError


def model_permutation_test(values_a: npt.ArrayLike, values_b: npt.ArrayLike,
                           n_perm: int = DEFAULTS.stats.n_permutations, max_exact: int = DEFAULTS.stats.max_exact,
                           seed: int = 0) -> tuple[float, float, int]:
    """Two-sided permutation test of mean(values_a) − mean(values_b).

    Parameters
    ----------
    values_a, values_b : array-like of float
        One value per trained model (e.g. its test ROC-AUC) of each group.
    n_perm : int
        Random relabelings when exact enumeration is too large (config ``stats.n_permutations``).
    max_exact : int
        Enumerate all relabelings when there are at most this many (config ``stats.max_exact``).
    seed : int
        Seed of the random relabelings.

    Returns
    -------
    tuple
        ``(difference, p, n_relabelings)``.

    Examples
    --------
    >>> d, p, n = model_permutation_test([0.90, 0.91, 0.92, 0.93, 0.94], [0.80, 0.81, 0.82, 0.83, 0.84])
    >>> round(d, 2), round(p, 4), n
    (0.1, 0.0079, 252)
    """
    a = np.asarray(values_a, dtype=float).ravel()
    b = np.asarray(values_b, dtype=float).ravel()
    if a.size == 0 or b.size == 0:
        raise EiferError(f"model_permutation_test: each group needs ≥ 1 model, got {a.size} and {b.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise EiferError("model_permutation_test: per-model values must be finite")
    pooled = np.concatenate([a, b])
    k, n = a.size, pooled.size
    observed = a.mean() - b.mean()
    total = pooled.sum()
    n_all = comb(n, k)
    if n_all <= max_exact:
        idx = np.array(list(combinations(range(n), k)))
    else:
        rng = np.random.default_rng(seed)
        idx = np.argsort(rng.random((n_perm, n)), axis=1)[:, :k]
        idx = np.vstack([np.arange(k)[None, :], idx])  # include the observed labeling
    sum_a = pooled[idx].sum(axis=1)
    stats = sum_a / k - (total - sum_a) / (n - k)
    # relative tolerance so that float noise does not decide ties
    tol = 1e-12 * max(1.0, abs(observed))
    p = float(np.mean(np.abs(stats) >= abs(observed) - tol))
    return float(observed), p, int(len(idx))


@dataclass(frozen=True)
class SignFlipResult:
    """Paired sign-flip test over repetitions (Δ = mean of a_r − b_r)."""

    delta: float
    p: float
    min_p: float         # smallest p any data could give with these R pairs: 2 / 2^R
    n_relabelings: int
    exact: bool

    def to_dict(self) -> dict:
        return asdict(self)


def paired_signflip_test(values_a: npt.ArrayLike, values_b: npt.ArrayLike,
                         max_exact: int = DEFAULTS.stats.max_exact, n_perm: int = DEFAULTS.stats.n_permutations,
                         seed: int = 0) -> SignFlipResult:
    """Exact paired sign-flip test of mean(a_r − b_r) over R paired repetitions.

    When the repetitions pair up (``split.repetitions: paired``: repetition r of
    both groups shares its seed and validation draw), the unit is the pair and
    under "the training group makes no difference" a_r and b_r are
    exchangeable *within* the pair: every one of the 2^R sign patterns of the
    differences is equally likely. The p-value is the share of patterns whose
    |mean| is at least the observed one (the observed pattern counts, so p ≥ 2/2^R:
    0.0625 with R = 5; below R = 6 the test cannot reach p < 0.05).

    Parameters
    ----------
    values_a, values_b : array-like of float
        One value per repetition (e.g. each model's test ROC-AUC), in repetition order.
    max_exact : int
        Enumerate all 2^R patterns when there are at most this many (config ``stats.max_exact``),
        else draw ``n_perm`` random ones (seeded; the observed pattern is counted).
    n_perm, seed : int
        Random patterns and their seed, used only above ``max_exact``.

    Returns
    -------
    SignFlipResult
        ``delta, p, min_p, n_relabelings, exact``.

    Examples
    --------
    >>> r = paired_signflip_test([0.90, 0.91, 0.92, 0.93, 0.94], [0.80, 0.81, 0.82, 0.83, 0.84])
    >>> round(r.delta, 2), r.p, r.min_p, r.n_relabelings
    (0.1, 0.0625, 0.0625, 32)
    """
    a = np.asarray(values_a, dtype=float).ravel()
    b = np.asarray(values_b, dtype=float).ravel()
    if a.size == 0 or a.size != b.size:
        raise EiferError(f"paired_signflip_test: need equally many paired values (≥ 1), got {a.size} and {b.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise EiferError("paired_signflip_test: paired values must be finite")
    d = a - b
    r = d.size
    observed = float(d.mean())
    exact = 2**r <= max_exact
    if exact:
        signs = 1 - 2 * ((np.arange(2**r)[:, None] >> np.arange(r)[None, :]) & 1)
    else:
        rng = np.random.default_rng(seed)
        signs = np.vstack([np.ones((1, r), dtype=int), rng.choice([-1, 1], size=(n_perm, r))])
    stats = (signs * d[None, :]).mean(axis=1)
    tol = 1e-12 * max(1.0, abs(observed))  # float noise must not decide ties
    p = float(np.mean(np.abs(stats) >= abs(observed) - tol))
    return SignFlipResult(delta=observed, p=p, min_p=min(1.0, 2.0 / 2**r), n_relabelings=int(len(signs)),
                          exact=bool(exact))
