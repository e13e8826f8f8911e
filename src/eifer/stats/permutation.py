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
