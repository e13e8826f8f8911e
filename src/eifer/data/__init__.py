"""Splits and image data for training (paper §3.2.2, §3.3)."""
from eifer.data.images import (CropDataset, augment_batch, batch_inputs, crop_read, crops_decode, loader_make,
                               normalize_batch)
from eifer.data.splits import (dataset_validate, groups_read, groups_validate, make_splits, run_split, splits_check,
                               splits_for_run, splits_load, testset_choose, train_val_split)

__all__ = ["CropDataset", "augment_batch", "batch_inputs", "crop_read", "crops_decode", "loader_make",
           "normalize_batch", "dataset_validate", "groups_read", "groups_validate", "make_splits", "run_split",
           "splits_check", "splits_for_run", "splits_load", "testset_choose", "train_val_split"]
