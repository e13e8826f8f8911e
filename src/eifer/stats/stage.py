"""The ``stats`` stage: ``run_stats(study, run)`` writes Table 4 from ``RUN/predictions.parquet``."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from eifer.errors import EiferError
from eifer.stats.compare import compare_groups_by_rep, paired_by_composition
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
        Outputs relative to RUN: ``tables/table4.csv``, ``.md``, ``table4_full.csv``, ``table4_reps.csv``.
    """
    path = run.require("predictions.parquet", stage="train")
    pred = pd.read_parquet(path)
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
    files = write_stats_tables(results, run.path("tables"), 4, by_rep=compare_groups_by_rep(pred, cfg.comparisons))
    return [str(Path(f).relative_to(run.root)) for f in files]

