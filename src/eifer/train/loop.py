"""One training epoch, prediction, and the loss (paper §3.3).

Loss = BCEWithLogits(logit, label; pos_weight = n_neg / n_pos)
       + regression_weight × MSE(regression output, the frame's continuous estimate).

These pieces are shared by the two-stage trainer (:mod:`eifer.train.fit`) and
by any other protocol built on the same model (e.g. transfer-CV).
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from eifer.config import DEFAULTS
from eifer.model import DualHeadModel
from eifer.train.images import batch_inputs
from eifer.train.schedule import apply_schedule


def pos_weight_of(labels: np.ndarray, mode: str = DEFAULTS.train.pos_weight_mode) -> float:
    """``n_neg / n_pos`` of the training labels (1.0 when ``mode="none"`` or a class is absent).

    Examples
    --------
    >>> pos_weight_of(np.array([0, 0, 0, 1]))
    3.0
    """
    labels = np.asarray(labels)
    n_pos, n_neg = int((labels == 1).sum()), int((labels == 0).sum())
    if mode == "none" or n_pos == 0 or n_neg == 0:
        return 1.0
    return n_neg / n_pos


def loss_dual(logit: torch.Tensor, reg: torch.Tensor, label: torch.Tensor, target: torch.Tensor,
              pos_weight: float, regression_weight: float) -> torch.Tensor:
    """Weighted BCE-with-logits + ``regression_weight`` × MSE, computed in float32."""
    pw = torch.tensor(pos_weight, device=logit.device, dtype=torch.float32)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logit.float(), label.float(), pos_weight=pw)
    mse = torch.nn.functional.mse_loss(reg.float(), target.float())
    return bce + regression_weight * mse


def autocast_for(device: str) -> AbstractContextManager[Any]:
    """bf16 autocast on CUDA, nothing (fp32) on CPU."""
    if device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def train_epoch(model: DualHeadModel, loader: DataLoader, optimizer: torch.optim.Optimizer, *, stage: int,
                sched: dict, step: int, device: str, pos_weight: float, regression_weight: float,
                grad_clip: float, aug: dict[str, Any] | None, gen: torch.Generator,
                on_batch: Callable[[float, dict[str, float]], None] | None = None) -> tuple[float, int]:
    """Train one epoch; the schedule is applied before every batch.

    In stage 1 the backbone runs in eval mode under ``no_grad`` (frozen weights
    *and* frozen BatchNorm statistics), so only the heads change.

    Parameters
    ----------
    model, loader, optimizer :
        Model, shuffled training loader, optimiser from :func:`eifer.train.schedule.make_optimizer`.
    stage : {1, 2}
    sched : dict
        From :func:`eifer.train.schedule.stage_schedule`.
    step : int
        Step (batch) count of this stage before the epoch.
    device : str
    pos_weight, regression_weight, grad_clip : float
    aug : dict or None
        Keyword arguments of :func:`eifer.train.images.augment_batch`.
    gen : torch.Generator
        Augmentation randomness (seeded per epoch).
    on_batch : callable, optional
        Called with (loss, lrs) after each batch (progress bars).

    Returns
    -------
    (mean loss, step after the epoch)
    """
    cl = device.startswith("cuda")
    if stage == 1:
        model.eval()
        model.cls_head.train()
        model.reg_head.train()
    else:
        model.train()
    params = [p for g in optimizer.param_groups for p in g["params"]]
    total, n = 0.0, 0
    for batch in loader:
        lrs = apply_schedule(optimizer, step, sched)
        x = batch_inputs(batch, device, train=True, gen=gen, aug=aug, channels_last=cl)
        label = batch["label"].to(device, non_blocking=True)
        target = batch["target"].to(device, non_blocking=True)
        with autocast_for(device):
            if stage == 1:
                with torch.no_grad():
                    feats = model.backbone(x)
                logit, reg = model.heads(feats.float())
            else:
                logit, reg = model(x)
        loss = loss_dual(logit, reg, label, target, pos_weight, regression_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip and grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()
        step += 1
        bs = len(label)
        total += float(loss.detach()) * bs
        n += bs
        if on_batch is not None:
            on_batch(float(loss.detach()), lrs)
    return total / max(n, 1), step


@torch.no_grad()
def predict(model: DualHeadModel, loader: DataLoader, device: str) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and regression outputs for an (unshuffled) loader, in dataset order.

    Returns
    -------
    (prob, regression) : float arrays of the dataset's length
    """
    model.eval()
    n = len(loader.dataset)  # type: ignore[arg-type]  # torch's Dataset stub has no __len__; ours do
    prob = np.empty(n, np.float32)
    reg = np.empty(n, np.float32)
    cl = device.startswith("cuda")
    for batch in loader:
        x = batch_inputs(batch, device, train=False, gen=None, channels_last=cl)
        with autocast_for(device):
            logit, r = model(x)
        idx = batch["index"].numpy()
        prob[idx] = torch.sigmoid(logit.float()).cpu().numpy()
        reg[idx] = r.float().cpu().numpy()
    return prob, reg
