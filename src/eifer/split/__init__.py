"""The ``split`` stage: participant-disjoint test set and train/validation splits (paper §3.2.2)."""
from eifer.split.core import (
                              GROUPS,
                              TASKS,
                              dataset_validate,
                              groups_validate,
                              make_splits,
                              rep_seed,
                              splits_check,
                              splits_load,
                              testset_choose,
                              train_val_split,
)
from eifer.split.stage import groups_read, run_split, splits_for_run

__all__ = ["GROUPS", "TASKS", "dataset_validate", "groups_read", "groups_validate", "make_splits", "rep_seed",
           "run_split", "splits_check", "splits_for_run", "splits_load", "testset_choose", "train_val_split"]
