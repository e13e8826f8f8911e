"""Type-I rate and power of the comparison over people (split.test_resamples = K; docs/statistics.md).

Simulates K test sets of other people (eifer.stats.calibration.simulate_predictions, one per test set, R
repetitions each), runs eifer.stats.compare_over_resamples and counts how often the over-people random-effects
interval (REML, HKSJ) excludes 0 and how often the paired sign-flip p reaches its smallest value. The simulated
test sets are independent (the real resamples share training participants: see docs/statistics.md).

    PYTHONPATH=src python benchmarks/over_people.py --n-sim 200
"""
from __future__ import annotations

import argparse
import time

import pandas as pd

from eifer.stats import compare_groups_by_rep, compare_over_resamples
from eifer.stats.calibration import simulate_predictions
from eifer.stats.resamples import add_resample


def one_study(effect: float, seed: int, k: int, reps: int, n_items: int) -> pd.Series:
    parts = []
    for i in range(k):
        p = simulate_predictions(n_items=n_items, reps=reps, effect=effect, seed=10_000 * seed + i)
        parts.append(p.assign(rep=i * reps + p["rep"], resample=i, item=f"k{i}/" + p["item"].astype(str)))
    pred = pd.concat(parts, ignore_index=True)
    over = compare_over_resamples(add_resample(compare_groups_by_rep(pred), pred))
    return over.set_index("comparison").loc["High vs Low"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sim", type=int, default=200)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--n-items", type=int, default=240)
    ap.add_argument("--effects", type=float, nargs="+", default=[0.0, 0.5])
    a = ap.parse_args()
    t0 = time.time()
    for effect in a.effects:
        d = pd.DataFrame([one_study(effect, s, a.k, a.reps, a.n_items) for s in range(a.n_sim)])
        at_min = (d.signflip_p <= d.signflip_min_p + 1e-12).mean()
        print(f"effect {effect}: {a.n_sim} studies, K = {a.k}, R = {a.reps}, N = {a.n_items} items per test set: "
              f"RE-HKSJ CI excludes 0 {((d.re_ci_low > 0) | (d.re_ci_high < 0)).mean():.3f}; "
              f"sign-flip p <= its smallest ({d.signflip_min_p.iloc[0]:.4f}) {at_min:.3f}",
              flush=True)
    print(f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
