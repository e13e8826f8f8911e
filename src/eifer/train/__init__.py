"""Two-stage fine-tuning, compositions and repetitions (paper §3.3, SPEC §3).

Reusable pieces: :func:`optimizer_make` / :func:`stage_schedule` /
:func:`schedule_apply` (param groups and per-batch schedule), :func:`epoch_train`
(one epoch), :func:`predict`, :func:`threshold_select`, :func:`fit_two_stage`
(one run with checkpoints, plain :class:`TrainSettings`), :func:`unit_train` /
:func:`train_all` (the core: DataFrames and splits in, predictions out) and
:func:`run_train` (the stage).
"""
from eifer.train.core import PRED_COLUMNS, predictions_collect, test_items, train_all, unit_train, units_plan
from eifer.train.fit import FitResult, TrainSettings, epoch_seed, fit_two_stage
from eifer.train.loop import epoch_train, loss_dual, pos_weight_of, predict
from eifer.train.schedule import lr_factor, optimizer_make, schedule_apply, stage_schedule
from eifer.train.stage import run_train, train_settings
from eifer.train.threshold import threshold_grid, threshold_select

__all__ = ["FitResult", "TrainSettings", "train_settings",
           "epoch_seed", "fit_two_stage", "epoch_train", "loss_dual", "pos_weight_of", "predict",
           "PRED_COLUMNS", "predictions_collect", "run_train", "test_items", "train_all", "unit_train", "units_plan",
           "lr_factor", "optimizer_make", "schedule_apply", "stage_schedule", "threshold_grid", "threshold_select"]
