"""Run one small two-stage fit in a subprocess (used by test_resume.py).

argv: run_root ckpt_dir out.npy slow(0/1)
"""
import sys
import time

import numpy as np
import pandas as pd
import torch

from eifer.config import load_config
from eifer.model import create_model
from eifer.train import fit_two_stage, predict, train_settings
from eifer.train.images import CropDataset, make_loader

torch.set_num_threads(1)
root, ckpt, out, slow = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
if slow:  # stretch each batch so that the parent's SIGKILL lands inside an epoch
    _orig = CropDataset.__getitems__

    def _slow(self, idx):
        time.sleep(0.15)
        return _orig(self, idx)

    CropDataset.__getitems__ = _slow
cfg = load_config(profile="demo", overrides={"train": {"image_size": 32, "batch_size": 8, "stage1_epochs": 1,
                                                       "stage2_epochs": 2, "warmup_epochs": 1}})
cfg = train_settings(cfg)
d = pd.read_parquet(f"{root}/dataset.parquet")
part = lambda ids: d[d.participant_id.isin(ids)].reset_index(drop=True)  # noqa: E731
tr = CropDataset(root, part(["P01", "P02", "P04", "P05"]), "valence", 32, cache=True)
va = CropDataset(root, part(["P03"]), "valence", 32, cache=True)
te = CropDataset(root, part(["P06"]), "valence", 32, cache=True)
torch.manual_seed(0)
res = fit_two_stage(create_model("eifer_tinycnn"), tr, va, cfg, seed=11, ckpt_dir=ckpt)
prob, _ = predict(res.model, make_loader(te, 16, shuffle=False), "cpu")
np.save(out, np.concatenate([prob, res.val_prob]))
