"""The train stage: ``run_train(study, run)`` → ``RUN/models/`` and ``RUN/predictions.parquet`` (SPEC §3).

Reads ``dataset.parquet``, ``test_subsets.parquet`` and ``splits.json`` (which
only the split stage writes) and the ``train`` section of the config, and
calls the core :func:`eifer.train.core.train_all`.
"""
from __future__ import annotations

import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import pandas as pd

from eifer.config import Config
from eifer.errors import EiferError
from eifer.io import read_parquet, write_parquet
from eifer.split import GROUPS, load_splits
from eifer.train.core import check_inputs, train_all
from eifer.train.fit import TrainSettings


def train_settings(cfg: Config) -> TrainSettings:
    """The ``train`` section (and ``executor.gpus_per_train_unit``) as the core's plain :class:`TrainSettings`."""
    values = {f.name: getattr(cfg.train, f.name) for f in fields(TrainSettings) if hasattr(cfg.train, f.name)}
    return TrainSettings(**values, gpus_per_train_unit=cfg.executor.gpus_per_train_unit)


def read_inputs(run_root: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``RUN/dataset.parquet`` and ``RUN/test_subsets.parquet`` (None when absent), checked."""
    f = Path(run_root) / "dataset.parquet"
    if not f.is_file():
        raise EiferError(f"{f}: not found; run the select stage first")
    fs = Path(run_root) / "test_subsets.parquet"
    subsets = read_parquet(fs, stage="split") if fs.is_file() else None
    return check_inputs(read_parquet(f, stage="select"), subsets, str(f), str(fs))


def require_splits(run: Any) -> dict[str, Any]:
    """``RUN/splits.json``, checked to hold every split the train config asks for.

    Only the split stage writes ``splits.json`` (its fingerprint covers
    ``train.repetitions`` and ``train.tasks``, so ``eifer run`` reruns it when
    they change); a file lacking a configured repetition or task is an error
    here, never extended.
    """
    path = run.require("splits.json", stage="split")
    splits = load_splits(path)
    t = run.config.train
    n_reps = t.repetitions * run.config.split.test_resamples  # K test resamples: rep = k * R + r
    missing = [f"{g}/{task}/rep{r}" for task in t.tasks for r in range(n_reps) for g in GROUPS
               if f"{g}/{task}/rep{r}" not in splits["runs"]]
    if missing:
        have = sorted({k.split("/")[1] for k in splits["runs"]})
        reps = len({k.split("/")[2] for k in splits["runs"]})
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise EiferError(
            f"{path}: no split for {shown}: the file holds {reps} repetition(s) of the tasks {have}, the config asks "
            f"for train.repetitions = {t.repetitions} of {list(t.tasks)}. Run the split stage again "
            f"(`eifer split STUDY --out {run.root}`; `eifer run` does it by itself when these settings change).")
    return splits


def run_train(study: Any, run: Any) -> list[str]:
    """Stage runner: train all units and write ``RUN/predictions.parquet``.

    Parameters
    ----------
    study : Study or None
        Unused (training reads only the run folder); kept for the runner signature.
    run : RunFolder

    Returns
    -------
    list of str
        ``["predictions.parquet"]``.
    """
    splits = require_splits(run)
    dataset, subsets = read_inputs(run.root)
    t0 = time.perf_counter()
    df = train_all(dataset, subsets, splits, train_settings(run.config), model_dir=run.path("models"),
                   crop_root=run.root)
    write_parquet(run.path("predictions.parquet"), df)
    run.log("train", units=int(df.groupby(["composition", "group", "task", "rep"]).ngroups),
            seconds=round(time.perf_counter() - t0, 2))
    return ["predictions.parquet"]
