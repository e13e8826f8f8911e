"""Learning-rate schedule at named steps, stage-1 freezing, loss and threshold."""
import math

import numpy as np
import pandas as pd
import torch

from eifer.config import load_config
from eifer.evaluate import metrics_binary
from eifer.model import create_model
from eifer.train import (
    apply_schedule,
    loss_dual,
    make_optimizer,
    pos_weight_of,
    select_threshold,
    stage_schedule,
    train_epoch,
)
from eifer.train.images import CropDataset, make_loader


def _lrs(stage, steps_per_epoch, epochs, stage1_schedule="constant"):
    t = load_config(profile="paper").train
    model = create_model("eifer_tinycnn")
    opt = make_optimizer(model, stage, head_lr=t.head_lr, backbone_lr_peak=t.backbone_lr_peak,
                         weight_decay=t.weight_decay)
    sched = stage_schedule(stage, steps_per_epoch, epochs, warmup_epochs=t.warmup_epochs,
                           backbone_lr_start=t.backbone_lr_start, backbone_lr_peak=t.backbone_lr_peak,
                           stage1_schedule=stage1_schedule)
    return [apply_schedule(opt, s, sched) for s in range(sched["total"])], opt


def test_stage2_schedule_at_named_steps():
    spe = 10  # 6 epochs x 10 batches, warm-up 3 epochs = 30 steps
    lrs, opt = _lrs(2, spe, 6)
    bb = np.array([r["backbone"] for r in lrs])
    hd = np.array([r["heads"] for r in lrs])
    assert len(bb) == 60
    assert math.isclose(bb[0], 2e-5) and math.isclose(hd[0], 3e-4 * 0.2)
    assert math.isclose(bb[15], 2e-5 + (1e-4 - 2e-5) * 15 / 30)  # linear warm-up
    assert math.isclose(bb[30], 1e-4) and math.isclose(hd[30], 3e-4)  # end of warm-up = peak
    assert math.isclose(bb.max(), 1e-4) and math.isclose(hd.max(), 3e-4)
    assert np.all(np.diff(bb[:31]) > 0) and np.all(np.diff(bb[30:]) < 0)
    assert math.isclose(bb[45], 1e-4 * 0.5 * (1 + math.cos(math.pi * 15 / 30)))  # cosine half-way = 5e-5
    assert bb[-1] < 1e-6  # decays to ~0 at the last step
    assert np.allclose(hd / bb, 3.0)  # heads follow the same shape
    assert {g["name"] for g in opt.param_groups} == {"heads", "backbone"}
    assert all(g["weight_decay"] == 1e-2 for g in opt.param_groups)


def test_stage1_constant_or_warmup():
    lrs, opt = _lrs(1, 10, 4)
    assert [g["name"] for g in opt.param_groups] == ["heads"]
    assert all(math.isclose(r["heads"], 3e-4) for r in lrs)
    lrs, _ = _lrs(1, 10, 4, "warmup_cosine")
    h = [r["heads"] for r in lrs]
    assert math.isclose(h[0], 6e-5) and math.isclose(h[30], 3e-4) and h[-1] < h[30]


def _tiny_ds(tmp_path, n=24, size=16):
    import cv2

    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        p = tmp_path / f"{i}.png"
        cv2.imwrite(str(p), rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
        rows.append({"crop_path": p.name, "arousal_label": i % 2, "arousal": float(i % 2) - 0.5})
    return CropDataset(tmp_path, pd.DataFrame(rows), "arousal", size)


def test_stage1_leaves_every_backbone_weight_unchanged(tmp_path):
    ds = _tiny_ds(tmp_path)
    t = load_config(profile="demo").train
    model = create_model("eifer_tinycnn")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = make_optimizer(model, 1, head_lr=1e-2, backbone_lr_peak=1e-2, weight_decay=t.weight_decay)
    sched = stage_schedule(1, 3, 2, warmup_epochs=1, backbone_lr_start=2e-5, backbone_lr_peak=1e-4)
    for e in range(2):
        train_epoch(model, make_loader(ds, 8, shuffle=True, seed=e), opt, stage=1, sched=sched, step=3 * e,
                    device="cpu", pos_weight=1.0, regression_weight=0.4, grad_clip=1.0,
                    aug={"p": 0.5, "brightness": (0.8, 1.2), "blur_sigma": (0.1, 1.5)},
                    gen=torch.Generator().manual_seed(e))
    after = model.state_dict()
    bb = [k for k in before if k.startswith("backbone.")]
    assert bb and all(torch.equal(before[k], after[k]) for k in bb)  # weights and BatchNorm statistics
    assert not torch.equal(before["cls_head.weight"], after["cls_head.weight"])
    assert not torch.equal(before["reg_head.weight"], after["reg_head.weight"])
    # stage 2 does move the backbone
    opt2 = make_optimizer(model, 2, head_lr=1e-2, backbone_lr_peak=1e-2, weight_decay=t.weight_decay)
    sched2 = stage_schedule(2, 3, 1, warmup_epochs=1, backbone_lr_start=2e-5, backbone_lr_peak=1e-4)
    train_epoch(model, make_loader(ds, 8, shuffle=True, seed=9), opt2, stage=2, sched=sched2, step=0, device="cpu",
                pos_weight=1.0, regression_weight=0.4, grad_clip=1.0, aug=None, gen=torch.Generator())
    assert not torch.equal(before["backbone.features.0.weight"], model.state_dict()["backbone.features.0.weight"])


def test_loss_and_pos_weight():
    y = np.array([0, 0, 0, 1])
    assert pos_weight_of(y) == 3.0 and pos_weight_of(y, "none") == 1.0
    logit, reg = torch.tensor([0.3, -1.0, 2.0, 0.5]), torch.tensor([0.1, 0.2, -0.3, 0.9])
    lab, tgt = torch.tensor(y, dtype=torch.float32), torch.tensor([0.0, 0.5, -0.5, 1.0])
    p = torch.sigmoid(logit)
    bce = -(3.0 * lab * torch.log(p) + (1 - lab) * torch.log(1 - p)).mean()
    mse = ((reg - tgt) ** 2).mean()
    assert torch.isclose(loss_dual(logit, reg, lab, tgt, 3.0, 0.4), bce + 0.4 * mse)


def test_threshold_maximises_validation_macro_f1():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    prob = np.clip(0.35 + 0.25 * y + rng.normal(0, 0.12, 300), 0, 1)  # classes separate near 0.47
    thr, f1 = select_threshold(y, prob)
    grid = np.round(np.arange(0.20, 0.8001, 0.01), 2)
    f1s = [metrics_binary(y, prob, (prob >= t).astype(int))["f1"] for t in grid]
    assert 0.2 <= thr <= 0.8 and math.isclose(f1, max(f1s)) and f1 > 0.8
    assert math.isclose(metrics_binary(y, prob, (prob >= thr).astype(int))["f1"], f1)
    # a threshold outside the grid is never chosen even when it would be better
    assert select_threshold(np.array([0, 1]), np.array([0.05, 0.1]))[0] >= 0.2
