"""Two-stage fine-tuning, compositions and repetitions (paper §3.3, SPEC §3).

Reusable pieces: :func:`make_optimizer` / :func:`stage_schedule` /
:func:`apply_schedule` (param groups and per-batch schedule), :func:`train_epoch`
(one epoch), :func:`predict`, :func:`select_threshold`, :func:`fit_two_stage`
(one run with checkpoints, plain :class:`TrainSettings`), :func:`train_unit` /
:func:`train_all` (the core: DataFrames and splits in, predictions out) and
:func:`run_train` (the stage).
"""
from eifer.train.core import PRED_COLUMNS, collect_predictions, plan_units, test_items, train_all, train_unit
from eifer.train.fit import FitResult, TrainSettings, epoch_seed, fit_two_stage
from eifer.train.loop import loss_dual, pos_weight_of, predict, train_epoch
from eifer.train.schedule import apply_schedule, lr_factor, make_optimizer, stage_schedule
from eifer.train.stage import run_train, train_settings
from eifer.train.threshold import select_threshold, threshold_grid

__all__ = ["FitResult", "TrainSettings", "train_settings",
           "epoch_seed", "fit_two_stage", "train_epoch", "loss_dual", "pos_weight_of", "predict",
           "PRED_COLUMNS", "collect_predictions", "run_train", "test_items", "train_all", "train_unit", "plan_units",
           "lr_factor", "make_optimizer", "apply_schedule", "stage_schedule", "threshold_grid", "select_threshold"]
