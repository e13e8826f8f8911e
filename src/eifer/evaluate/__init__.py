"""Metrics per training run and Tables 2–3 (paper §3.4, §4.2)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from eifer.evaluate.metrics import METRICS, macro_f1_grid, metrics_binary
from eifer.evaluate.tables import (RUN_KEYS, TABLE2, TABLE3, fmt_mean_sd, metrics_per_run, summary_table,
                                   table_markdown, tables_write)
from eifer.io import write_csv


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
    per_run = metrics_per_run(pd.read_parquet(run.require("predictions.parquet", stage="train")))
    out = [write_csv(run.path("metrics_per_run.csv"), per_run)]
    out += tables_write(per_run, run.path("tables"))
    run.log("evaluate", runs=len(per_run))
    return [str(p.relative_to(run.root)) for p in out]


__all__ = ["METRICS", "RUN_KEYS", "TABLE2", "TABLE3", "fmt_mean_sd", "macro_f1_grid", "metrics_binary",
           "metrics_per_run", "run_evaluate", "summary_table", "table_markdown", "tables_write"]
