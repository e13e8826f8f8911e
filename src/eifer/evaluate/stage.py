"""The ``evaluate`` stage: ``run_evaluate(study, run)`` writes metrics per training run and Tables 2–3."""
from __future__ import annotations

from typing import Any

from eifer.evaluate.tables import metrics_per_run, write_tables
from eifer.io import read_parquet, write_csv


def run_evaluate(study: Any, run: Any) -> list[str]:
    """Stage runner: ``RUN/predictions.parquet`` -> ``RUN/metrics_per_run.csv`` and Tables 2–3.

    Parameters
    ----------
    study : Study or None
        Unused; kept for the runner signature.
    run : RunFolder

    Returns
    -------
    list of str
        Outputs relative to RUN.
    """
    per_run = metrics_per_run(read_parquet(run.require("predictions.parquet", stage="train"), stage="train"))
    out = [write_csv(run.path("metrics_per_run.csv"), per_run)]
    out += write_tables(per_run, run.path("tables"))
    run.log("evaluate", runs=len(per_run))
    return [str(p.relative_to(run.root)) for p in out]
