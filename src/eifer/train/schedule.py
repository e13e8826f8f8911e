"""Parameter groups, optimiser and the per-batch learning-rate schedule (paper §3.3, SPEC §3).

Stage 2: the backbone group warms linearly from ``backbone_lr_start`` to
``backbone_lr_peak`` over the warm-up steps, then follows a cosine decay to 0
at the last step; the head group has the same shape with peak ``head_lr``.
Stage 1 (backbone frozen) trains the heads with the same warm-up + cosine
shape by default (``train.stage1_schedule: warmup_cosine``; paper §3.3: "in
both stages"), or at a constant ``head_lr`` (``constant``, the demo's
choice). The learning rate is a pure function of the step, so a resumed run
needs only the step count.
"""
from __future__ import annotations

import math

import torch

from eifer.config import DEFAULTS
from eifer.model import DualHeadModel


def lr_factor(step: int, total_steps: int, warmup_steps: int, start_factor: float, decay: bool = True) -> float:
    """Multiplier of the peak learning rate at ``step`` (0-based).

    Linear from ``start_factor`` (step 0) to 1 (step ``warmup_steps``), then
    ``0.5 (1 + cos(pi t))`` with ``t`` from 0 at the end of warm-up to 1 at
    ``total_steps``. ``decay=False`` keeps 1 after the warm-up (constant).

    Examples
    --------
    >>> lr_factor(0, 100, 30, 0.2), lr_factor(30, 100, 30, 0.2)
    (0.2, 1.0)
    >>> round(lr_factor(65, 100, 30, 0.2), 6)
    0.5
    """
    if warmup_steps > 0 and step < warmup_steps:
        return start_factor + (1.0 - start_factor) * step / warmup_steps
    if not decay:
        return 1.0
    span = max(1, total_steps - warmup_steps)
    t = min(1.0, (step - warmup_steps) / span)
    return 0.5 * (1.0 + math.cos(math.pi * t))


def make_optimizer(model: DualHeadModel, stage: int, *, head_lr: float, backbone_lr_peak: float,
                   weight_decay: float) -> torch.optim.AdamW:
    """AdamW with a ``heads`` group and, in stage 2, a ``backbone`` group.

    Stage 1 freezes the backbone (``requires_grad=False``) and leaves it out of
    the optimiser, so weight decay cannot touch it either.
    """
    for p in model.backbone.parameters():
        p.requires_grad_(stage == 2)
    groups = [{"name": "heads", "params": model.head_parameters(), "lr": head_lr, "peak_lr": head_lr}]
    if stage == 2:
        groups.append({"name": "backbone", "params": list(model.backbone.parameters()),
                       "lr": backbone_lr_peak, "peak_lr": backbone_lr_peak})
    return torch.optim.AdamW(groups, lr=head_lr, weight_decay=weight_decay)


def apply_schedule(optimizer: torch.optim.Optimizer, step: int, sched: dict) -> dict[str, float]:
    """Set every group's lr for ``step`` of a :func:`stage_schedule`; returns ``{group name: lr}``."""
    f = lr_factor(step, sched["total"], sched["warmup"], sched["start_factor"], sched["decay"])
    out: dict[str, float] = {}
    for g in optimizer.param_groups:
        g["lr"] = g["peak_lr"] * f
        out[g.get("name", str(len(out)))] = g["lr"]
    return out


def stage_schedule(stage: int, steps_per_epoch: int, epochs: int, *, warmup_epochs: int,
                   backbone_lr_start: float, backbone_lr_peak: float,
                   stage1_schedule: str = DEFAULTS.train.stage1_schedule) -> dict:
    """Schedule of a stage: ``{"total", "warmup", "start_factor", "decay"}`` (steps are batches).

    Examples
    --------
    >>> s = stage_schedule(2, 10, 6, warmup_epochs=3, backbone_lr_start=2e-5, backbone_lr_peak=1e-4)
    >>> s["total"], s["warmup"], s["start_factor"], s["decay"]
    (60, 30, 0.2, True)
    >>> stage_schedule(1, 10, 4, warmup_epochs=3, backbone_lr_start=2e-5, backbone_lr_peak=1e-4)["decay"]
    True
    >>> stage_schedule(1, 10, 4, warmup_epochs=3, backbone_lr_start=2e-5, backbone_lr_peak=1e-4,
    ...                stage1_schedule="constant")["decay"]
    False
    """
    total = steps_per_epoch * epochs
    if stage == 1 and stage1_schedule == "constant":
        return {"total": total, "warmup": 0, "start_factor": 1.0, "decay": False}
    return {"total": total, "warmup": min(warmup_epochs, epochs) * steps_per_epoch,
            "start_factor": backbone_lr_start / backbone_lr_peak, "decay": True}
