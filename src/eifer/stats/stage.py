"""The ``stats`` stage: ``run_stats(study, run)`` writes Table 4 from ``RUN/predictions.parquet``."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from eifer.config import DEFAULTS
from eifer.errors import EiferError
from eifer.io import read_parquet
from eifer.stats.compare import compare_groups_by_rep, paired_by_composition
from eifer.stats.resamples import add_resample, compare_over_resamples, resample_estimates
from eifer.stats.tables import compare_groups_for_run, write_stats_tables

if TYPE_CHECKING:
    from eifer.runfolder import RunFolder
    from eifer.study import Study


def run_stats(study: Study, run: RunFolder) -> list[str]:
    """Stage runner: Table 4 from ``RUN/predictions.parquet`` (compositions direct and transfer).

    Parameters
    ----------
    study : eifer.study.Study
        Unused (the stage reads only the run folder); kept for the runner signature.
    run : eifer.runfolder.RunFolder

    Returns
    -------
    list of str
        Outputs relative to RUN: ``tables/table4.csv``, ``.md``, ``table4_full.csv``, ``table4_reps.csv``; with
        ``split.test_resamples`` > 1 also ``table4_resamples.csv`` and ``table4_people.csv`` (over people).
    """
    path = run.require("predictions.parquet", stage="train")
    pred = read_parquet(path, stage="train")
    pred = pred[pred["composition"].isin(["direct", "transfer"])]
    if pred.empty:
        raise EiferError(f"{path}: no predictions of the direct or transfer compositions")
    cfg = run.config.stats
    paired = paired_by_composition(run.config.split.pairing)  # transfer models pair up under either setting
    results = compare_groups_for_run(pred, run.config.seed, cfg.comparisons, cfg.n_permutations, cfg.max_exact,
                                     paired)
    if results.empty:
        raise EiferError(f"{path}: no group comparison to make: stats.comparisons names no pair of trained groups "
                         f"for the compositions {sorted(pred['composition'].unique())}")
    by_rep = compare_groups_by_rep(pred, cfg.comparisons)
    files = write_stats_tables(results, run.path("tables"), 4, by_rep=by_rep)
    if "resample" in pred.columns and pred["resample"].nunique() > 1:  # split.test_resamples > 1: over people
        files += write_resample_tables(add_resample(by_rep, pred), run.path("tables"), 4, seed=run.config.seed,
                                       max_exact=cfg.max_exact, n_permutations=cfg.n_permutations)
    return [str(Path(f).relative_to(run.root)) for f in files]


def write_resample_tables(by_rep: pd.DataFrame, folder: Path, number: int = 4, *, seed: int = 0,
                          max_exact: int = DEFAULTS.stats.max_exact,
                          n_permutations: int = DEFAULTS.stats.n_permutations) -> list[Path]:
    """``table<number>_resamples.csv`` (one ΔAUC per test resample) and ``table<number>_people.csv`` (the
    comparison over the K test resamples, :func:`eifer.stats.resamples.compare_over_resamples`)."""
    from eifer.io import write_csv

    return [write_csv(Path(folder) / f"table{number}_resamples.csv", resample_estimates(by_rep)),
            write_csv(Path(folder) / f"table{number}_people.csv",
                      compare_over_resamples(by_rep, max_exact=max_exact, n_permutations=n_permutations, seed=seed))]
