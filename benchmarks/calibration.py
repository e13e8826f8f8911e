"""Calibration benchmark: type-I error and power of every group-comparison test (issue 9).

Simulates studies at the paper's design — 4 test participants × 4 videos, test
sets of 96 items (6 frames per video: the (un)ambiguous subsets) and 3,200
items (200 frames per video: the baseline condition), 5 training repetitions
per group, item/video/participant effects shared by all models and
training-run variation of each model — with no true group difference (type-I
error) and with one (power). Prints the Markdown table used in
docs/statistics.md; ``--out DIR`` also writes calibration.csv / .md.

    .venv/bin/python benchmarks/calibration.py            # ≈ 4 min CPU on 2 cores
    .venv/bin/python benchmarks/calibration.py --n-sim 40 # quick look
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from eifer.io import write_csv, write_text
from eifer.stats import delong_auc_ci
from eifer.stats.calibration import calibrate, calibration_markdown, simulate_predictions


def effect_sizes(effects: list[float], n_items: int, n: int = 20) -> str:
    """What an effect (logit) means in ROC-AUC: mean per-model AUC difference, and the run-to-run SD."""
    parts = []
    for e in effects:
        diffs, sds = [], []
        for s in range(n):
            p = simulate_predictions(n_items=n_items, reps=5, effect=e, seed=10_000 + s)
            auc = p.groupby(["group", "rep"]).apply(
                lambda d: delong_auc_ci(d.y_true, d.prob).auc, include_groups=False)
            diffs.append(auc["High"].mean() - auc["Low"].mean())
            sds.append(auc["Low"].std())
        parts.append(f"effect {e:g} ≈ mean ΔAUC {np.mean(diffs):.4f}")
    return ("Effect sizes: " + "; ".join(parts) +
            f" (run-to-run SD of one model's AUC ≈ {np.mean(sds):.4f}; N = {n_items}).")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sim", type=int, default=400, help="null studies per test-set size")
    ap.add_argument("--n-sim-power", type=int, default=200, help="studies per size and effect for power")
    ap.add_argument("--sizes", type=int, nargs="+", default=[96, 3200])
    ap.add_argument("--effects", type=float, nargs="+", default=[0.03, 0.1],
                    help="true advantages (logit) for the power columns")
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--seed", type=int, default=20240917)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    t0 = time.perf_counter()
    null = calibrate(n_items=args.sizes, effects=[0.0], n_sim=args.n_sim, seed=args.seed, n_jobs=args.jobs)
    power = calibrate(n_items=args.sizes, effects=args.effects, n_sim=args.n_sim_power, seed=args.seed + 1,
                      n_jobs=args.jobs, candidates=False)
    table = pd.concat([null, power], ignore_index=True)
    md = calibration_markdown(table)
    md += "\n" + effect_sizes(args.effects, max(args.sizes)) + "\n"
    print(md)
    print(f"total time {time.perf_counter() - t0:.0f} s")
    if args.out:
        write_csv(args.out / "calibration.csv", table)
        write_text(args.out / "calibration.md", md)


if __name__ == "__main__":
    main()
