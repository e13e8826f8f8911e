"""Stage runner of the transfer-CV pipeline and its Tables 5 and 6 (paper §3.5, §4.4).

``run_transfer_cv(study, run)`` reads ``dataset.parquet``, ``test_subsets.parquet``,
``groups.csv`` and ``splits.json`` (for the fixed test participants), trains
every fold (:func:`eifer.transfer_cv.core.cross_validate`) and writes

* ``RUN/models_cv/folds.json`` — the folds of every composition and task;
* ``RUN/models_cv/predictions.parquet`` — all fold-wise test predictions;
* the same rows appended to ``RUN/predictions.parquet`` (``composition="cv"``,
  replacing earlier cv rows), where the report and the statistics read them;
* ``RUN/tables/table5.csv/.md`` — metrics, mean (SD) over folds, by the builder
  of Tables 2–3 (:mod:`eifer.evaluate`); ``table5_folds.csv`` per fold;
* ``RUN/tables/table6.csv/.md`` (+ ``table6_full.csv``) — the group comparisons
  of :func:`eifer.stats.compare_groups`, the code of Table 4, with folds as
  repetitions.

Tables use the conditions in ``transfer_cv.table_conditions`` (the paper:
baseline only); the predictions of all three conditions are kept.
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import pandas as pd

from eifer.config import DEFAULTS, Config
from eifer.errors import EiferError
from eifer.evaluate import METRICS, metrics_per_run, select_numeric_columns, summary_table, table_markdown
from eifer.io import read_parquet, write_csv, write_json, write_parquet, write_text
from eifer.split import load_splits, read_groups
from eifer.train.stage import read_inputs, train_settings
from eifer.transfer_cv.core import CV_DIR, cross_validate, plan_cv
from eifer.transfer_cv.fit import CVSettings

_TITLE5 = ("Table 5. Alternative backbones (stratified group k-fold CV, gradual unfreezing): macro "
           "precision, recall, F1, accuracy, ROC-AUC and PR-AUC on the fixed test set, mean (SD) over folds")


def cv_settings(cfg: Config) -> CVSettings:
    """The ``transfer_cv`` section as the core's plain :class:`~eifer.transfer_cv.fit.CVSettings`."""
    return CVSettings(**{f.name: getattr(cfg.transfer_cv, f.name) for f in fields(CVSettings)})


def merge_predictions(existing: pd.DataFrame | None, cv_pred: pd.DataFrame) -> pd.DataFrame:
    """``existing`` predictions without their ``composition="cv"`` rows, plus ``cv_pred``.

    Examples
    --------
    >>> old = pd.DataFrame({"composition": ["direct", "cv"], "rep": [0, 0]})
    >>> merge_predictions(old, pd.DataFrame({"composition": ["cv"], "rep": [1]})).rep.tolist()
    [0, 1]
    """
    if existing is None or existing.empty:
        return cv_pred.reset_index(drop=True)
    keep = existing[existing["composition"] != "cv"]
    return pd.concat([keep, cv_pred], ignore_index=True)


def cv_tables(pred: pd.DataFrame, folder: str | Path, conditions: list[str], seed: int = DEFAULTS.seed,
              comparisons: Mapping[str, Sequence[tuple[str, str]]] = DEFAULTS.stats.comparisons,
              n_permutations: int = DEFAULTS.stats.n_permutations,
              max_exact: int = DEFAULTS.stats.max_exact) -> list[Path]:
    """Write Table 5 (metrics over folds) and Table 6 (group comparisons) from cv predictions.

    Parameters
    ----------
    pred : DataFrame
        Fold-wise test predictions (``composition="cv"``).
    folder : path-like
        Usually ``RUN/tables``.
    conditions : list of str
        Conditions shown in the tables.
    seed : int
        Seed of :func:`eifer.stats.compare_groups` (random permutations only).
    comparisons, n_permutations, max_exact
        The ``stats`` settings of the comparisons (Table 6 is compared as Table 4 is).

    Returns
    -------
    list of Path
        Files written.
    """
    from eifer.stats.compare import compare_groups_by_rep
    from eifer.stats.tables import compare_groups_for_run, write_stats_tables

    sub = pred[(pred["composition"] == "cv") & pred["condition"].isin(conditions)]
    if sub.empty:
        raise EiferError(f"transfer-CV: no predictions for the conditions {conditions} (transfer_cv.table_conditions)")
    per_fold = metrics_per_run(sub)
    table = summary_table(per_fold, METRICS)
    folder = Path(folder)
    files = [write_csv(folder / "table5.csv", select_numeric_columns(table)),
             write_csv(folder / "table5_folds.csv", per_fold),
             write_text(folder / "table5.md", table_markdown(table, _TITLE5).replace(" repetition(s) ", " fold(s) "))]
    # folds pair up like repetitions (fold k of every group shares its seed): paired sign-flip test
    files += write_stats_tables(compare_groups_for_run(sub, seed, comparisons, n_permutations, max_exact), folder, 6,
                                by_rep=compare_groups_by_rep(sub, comparisons))
    return files


def run_transfer_cv(study: Any, run: Any) -> list[str]:
    """Stage runner: all folds of every backbone, predictions and Tables 5–6.

    Parameters
    ----------
    study : Study or None
        Unused (the stage reads only the run folder); kept for the runner signature.
    run : RunFolder

    Returns
    -------
    list of str
        Outputs relative to RUN.
    """
    cfg = run.config
    t0 = time.perf_counter()
    splits = load_splits(run.path("splits.json"))
    group_of = read_groups(run)
    dataset, subsets = read_inputs(run.root)
    plan = plan_cv(dataset, group_of, splits["test"], tasks=list(cfg.train.tasks), n_folds=cfg.transfer_cv.folds,
                   seed=cfg.seed)
    capped = {key: entry["n_folds"] for key, entry in plan.items() if entry["n_folds"] < cfg.transfer_cv.folds}
    for key, n in capped.items():
        run.log("transfer_cv_folds_capped", composition=key, folds=n, asked=cfg.transfer_cv.folds)
    if capped:  # one line; Table 5's caption says it too
        warnings.warn(f"transfer_cv.folds = {cfg.transfer_cv.folds} capped by too few non-test participants: "
                      + ", ".join(f"{k} {n} folds" for k, n in capped.items()), stacklevel=2)
    write_json(run.path(CV_DIR, "folds.json"), {"seed": cfg.seed, "test": splits["test"], "plan": plan})
    pred = cross_validate(plan, splits["test"], dataset, subsets, cv_settings(cfg), train_settings(cfg),
                          cv_dir=run.path(CV_DIR), crop_root=run.root)
    write_parquet(run.path(CV_DIR, "predictions.parquet"), pred)
    fp = run.path("predictions.parquet")
    write_parquet(fp, merge_predictions(read_parquet(fp, stage="train") if fp.is_file() else None, pred))
    files = cv_tables(pred, run.path("tables"), list(cfg.transfer_cv.table_conditions), cfg.seed,
                      cfg.stats.comparisons, cfg.stats.n_permutations, cfg.stats.max_exact)
    run.log("transfer_cv", backbones=list(cfg.transfer_cv.backbones), folds=int(pred["rep"].nunique()),
            seconds=round(time.perf_counter() - t0, 2))
    # predictions.parquet is shared with the train stage: updated here, but not an output this stage owns
    outs = [f"{CV_DIR}/folds.json", f"{CV_DIR}/predictions.parquet"]
    return outs + [str(Path(f).relative_to(run.root)) for f in files]
