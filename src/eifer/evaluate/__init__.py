"""Metrics per training run and Tables 2–3 (paper §3.4, §4.2)."""
from __future__ import annotations

from eifer.evaluate.metrics import METRICS, macro_f1_grid, metrics_binary
from eifer.evaluate.stage import run_evaluate
from eifer.evaluate.tables import (
                                   RUN_KEYS,
                                   TABLE2,
                                   TABLE3,
                                   fmt_mean_sd,
                                   metrics_per_run,
                                   select_numeric_columns,
                                   summary_table,
                                   table_markdown,
                                   write_tables,
)

__all__ = ["METRICS", "RUN_KEYS", "TABLE2", "TABLE3", "fmt_mean_sd", "macro_f1_grid", "metrics_binary",
           "metrics_per_run", "run_evaluate",
           "select_numeric_columns", "summary_table", "table_markdown", "write_tables"]
