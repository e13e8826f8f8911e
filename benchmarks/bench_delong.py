"""Speed of eifer's paired DeLong test (fast midrank algorithm, Sun & Xu 2014).

Prints, in one run: the time of ``delong_test`` at n = 1,000,000 items and the
speed ratio against a naive O(n²) placement-value computation at n = 5,000
(targets: < 1 s and ≥ 100×).

    .venv/bin/python benchmarks/bench_delong.py
"""
from __future__ import annotations

import time

import numpy as np

from eifer.stats import delong_test


def naive_delong(y, a, b):
    """Textbook DeLong: placement values from the full m × n comparison matrix."""
    pos = y == 1
    out = []
    for s in (a, b):
        x, z = s[pos], s[~pos]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        out.append((psi.mean(), psi.mean(axis=1), psi.mean(axis=0)))
    (auc_a, v10a, v01a), (auc_b, v10b, v01b) = out
    m, n = pos.sum(), (~pos).sum()
    s10, s01 = np.cov(np.vstack([v10a, v10b])), np.cov(np.vstack([v01a, v01b]))
    S = s10 / m + s01 / n
    return auc_a - auc_b, np.sqrt(S[0, 0] + S[1, 1] - 2 * S[0, 1])


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t0)
    return min(times), res


def sample(n, rng):
    y = rng.integers(0, 2, n)
    shared = rng.normal(size=n)
    return y, y + shared + rng.normal(size=n), 0.8 * y + shared + rng.normal(size=n)


def main() -> None:
    rng = np.random.default_rng(0)
    y, a, b = sample(1_000_000, rng)
    t_big, r = best_of(lambda: delong_test(y, a, b))
    print(f"delong_test, n = 1,000,000: {t_big:.3f} s (target < 1 s); ΔAUC = {r.delta:.4f}, p = {r.p:.3g}")

    y, a, b = sample(5_000, rng)
    t_fast, r = best_of(lambda: delong_test(y, a, b), repeat=7)
    t_naive, (d_naive, se_naive) = best_of(lambda: naive_delong(y, a, b))
    assert abs(r.delta - d_naive) < 1e-12 and abs(r.se - se_naive) < 1e-12, "fast and naive disagree"
    print(f"n = 5,000: fast {t_fast * 1e3:.2f} ms, naive O(n²) {t_naive * 1e3:.1f} ms, "
          f"speed-up {t_naive / t_fast:.0f}× (target ≥ 100×); results agree to 1e-12")


if __name__ == "__main__":
    main()
