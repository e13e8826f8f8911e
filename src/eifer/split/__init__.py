"""The ``split`` stage: participant-disjoint test set and train/validation splits (paper §3.2.2)."""
from eifer.split.core import (
                              GROUPS,
                              TASKS,
                              check_splits,
                              choose_testset,
                              choose_testsets,
                              load_splits,
                              make_splits,
                              max_test_resamples,
                              rep_seed,
                              resample_count,
                              run_test,
                              train_val_split,
                              validate_dataset,
                              validate_groups,
)
from eifer.split.stage import read_groups, run_split, splits_for_run

__all__ = ["GROUPS", "TASKS", "validate_dataset", "read_groups", "validate_groups", "make_splits", "rep_seed",
           "run_split", "check_splits", "splits_for_run", "load_splits", "choose_testset", "train_val_split",
           "choose_testsets", "max_test_resamples", "resample_count", "run_test"]
