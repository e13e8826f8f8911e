"""The ``split`` stage: ``run_split(study, run)`` writes ``RUN/splits.json`` (the only writer of that file)."""
from __future__ import annotations

from typing import Any

from eifer.io import read_csv, read_parquet, write_json
from eifer.split.core import make_splits, validate_groups


def read_groups(run: Any) -> dict[str, str]:
    """``RUN/groups.csv`` (written by the cutoff stage), checked: participant -> group."""
    path = run.require("groups.csv", stage="cutoff")
    return validate_groups(read_csv(path), str(path))


def splits_for_run(run: Any, *, seed: int, test_participants: list[str] | None) -> dict[str, Any]:
    """:func:`make_splits` on the run's selected frames and groups, with its ``split`` and ``train`` settings."""
    cfg = run.config
    dataset = read_parquet(run.require("dataset.parquet", stage="select"), stage="select")
    return make_splits(dataset, read_groups(run), seed=seed, repetitions=cfg.train.repetitions,
                       n_test_high=cfg.split.n_test_high, n_test_low=cfg.split.n_test_low,
                       test_participants=test_participants, val_fraction=cfg.split.val_fraction,
                       tasks=cfg.train.tasks, pairing=cfg.split.pairing,
                       test_resamples=cfg.split.test_resamples)


def run_split(study: Any, run: Any) -> list[str]:
    """Stage runner: ``RUN/dataset.parquet`` + ``RUN/groups.csv`` -> ``RUN/splits.json``.

    Parameters
    ----------
    study : Study or None
        Unused (splits need only the run folder); kept for the runner signature.
    run : RunFolder

    Returns
    -------
    list of str
        ``["splits.json"]``.
    """
    cfg = run.config
    splits = splits_for_run(run, seed=cfg.seed, test_participants=cfg.split.test_participants)
    write_json(run.path("splits.json"), splits)
    run.log("split", test=splits["test"], runs=len(splits["runs"]))
    return ["splits.json"]
