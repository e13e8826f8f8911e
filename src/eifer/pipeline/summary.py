"""What ``eifer run`` / ``eifer demo`` print at the end: stages and headline results."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from eifer.io import read_csv, read_parquet


def headline_results(run_root: str | Path) -> list[str]:
    """A few lines with the run's key numbers (those whose stages ran).

    Parameters
    ----------
    run_root : path-like
        The run folder.

    Returns
    -------
    list of str

    Examples
    --------
    >>> headline_results("/nonexistent")
    []
    """
    root = Path(run_root)
    lines: list[str] = []
    if (root / "groups.csv").is_file():
        g = read_csv(root / "groups.csv")
        n = g["group"].value_counts()
        line = f"EI cutoff {g['cutoff'].iloc[0]:g}: High {n.get('High', 0)}, Low {n.get('Low', 0)} participants"
        truth = root / "study" / "_truth" / "truth.json"
        if truth.is_file():
            line += f" (planted cutoff {json.loads(truth.read_text()).get('planted_cutoff', '?')})"
        lines.append(line)
    if (root / "dataset.parquet").is_file():
        n = len(read_parquet(root / "dataset.parquet", stage="select", columns=["frame"]))
        lines.append(f"selected frames: {n}")
    if (root / "predictions.parquet").is_file():
        from sklearn.metrics import roc_auc_score

        p = read_parquet(root / "predictions.parquet", stage="train")
        p = p[(p["composition"] == "direct") & (p["condition"] == "baseline")]
        for task, t in p.groupby("task"):
            aucs = []
            for group, g in t.groupby("group"):
                per_rep = [roc_auc_score(r["y_true"], r["prob"]) for _, r in g.groupby("rep")
                           if r["y_true"].nunique() == 2]
                if per_rep:
                    aucs.append(f"{group} {sum(per_rep) / len(per_rep):.3f}")
            lines.append(f"test ROC-AUC, {task}, baseline: " + ", ".join(aucs))
    return lines


def stage_lines(stages: pd.DataFrame) -> list[str]:
    """One line per stage: name, status, seconds, note."""
    out = []
    for r in stages.itertuples(index=False):
        secs = f"{r.seconds:7.1f} s" if r.status == "ran" else " " * 9
        out.append(f"  {r.stage:<12} {r.status:<11} {secs}  {r.note}".rstrip())
    return out
