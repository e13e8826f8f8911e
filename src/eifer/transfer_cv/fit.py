"""Staged fine-tuning with gradual unfreezing, best epoch by validation macro F1 (paper §3.5).

Phases: the heads alone for ``head_epochs`` (backbone frozen, in eval mode),
then one phase per entry of ``unfreeze_epochs`` with the top blocks of the
backbone trainable (:mod:`eifer.transfer_cv.unfreeze`). Each unfreezing phase has
its own AdamW (heads at ``head_lr``, backbone at ``lr``) on a per-batch linear
warm-up from ``lr_start`` over ``warmup_epochs`` then cosine decay. The loss,
pos_weight (from this fold's training labels), augmentation, epoch loop and
prediction are those of the main trainer (:mod:`eifer.train.loop`).

After every epoch the validation predictions are scored by the best macro F1
over the threshold grid; the epoch with the highest score is the fold's model
and its threshold is chosen on its validation predictions. A checkpoint
(current weights, optimiser, history, best weights) is written after every
epoch, so an interrupted fold resumes at its last finished epoch.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eifer.config import DEFAULTS
from eifer.model import DualHeadModel
from eifer.train.fit import CHECKPOINT, Phase, TrainSettings, fit_phases, load_checkpoint, restore_model
from eifer.train.images import CropDataset, make_loader
from eifer.train.loop import pos_weight_of, predict
from eifer.train.schedule import make_optimizer, stage_schedule
from eifer.train.threshold import select_threshold
from eifer.transfer_cv.unfreeze import apply_unfreeze, backbone_groups, frozen_bn_eval, unfreeze_schedule

_CV = DEFAULTS.transfer_cv


class _DefaultPaths(dict):
    """The config's (empty) ``pretrained_paths`` as a dataclass default: hashable, so a dataclass takes it
    like a value (a dict default would be refused); every :class:`CVSettings` copies it into its own dict."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))


@dataclass(frozen=True)
class CVSettings:
    """The transfer-CV settings as plain values (``transfer_cv`` section, paper §3.5; defaults: the paper profile).

    Batch size, weight decay, clipping, loss weights, augmentation, threshold
    grid, loader workers and device come from the shared
    :class:`eifer.train.fit.TrainSettings`. The transfer-CV stage builds both
    from ``run.config`` (:func:`eifer.transfer_cv.stage.cv_settings`).

    Examples
    --------
    >>> s = CVSettings(backbones=["resnet18"], unfreeze_epochs=[1, 1])
    >>> s.backbones, s.unfreeze_epochs, s.head_epochs
    (('resnet18',), (1, 1), 2)
    """

    backbones: tuple[str, ...] = tuple(_CV.backbones)
    pretrained_paths: Mapping[str, str] = _DefaultPaths(_CV.pretrained_paths)
    allow_random_init: bool = _CV.allow_random_init
    image_size: int = _CV.image_size
    head_epochs: int = _CV.head_epochs
    unfreeze_epochs: tuple[int, ...] = tuple(_CV.unfreeze_epochs)
    unfreeze_groups: tuple[int, ...] | None = None if _CV.unfreeze_groups is None else tuple(_CV.unfreeze_groups)
    lr: float = _CV.lr
    lr_start: float = _CV.lr_start
    warmup_epochs: int = _CV.warmup_epochs
    head_lr: float = _CV.head_lr
    keep_models: bool = _CV.keep_models

    def __post_init__(self) -> None:  # sequences given as lists become tuples: the settings stay immutable
        for name in ("backbones", "unfreeze_epochs", "unfreeze_groups"):
            value = getattr(self, name)
            object.__setattr__(self, name, None if value is None else tuple(value))
        object.__setattr__(self, "pretrained_paths", dict(self.pretrained_paths))


@dataclass
class GradualResult:
    """Outcome of :func:`fit_gradual`: the best epoch's model and its validation predictions."""

    model: DualHeadModel
    best_epoch: int
    best_f1: float
    threshold: float
    val_prob: np.ndarray
    pos_weight: float
    phases: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


def plan_phases(model: DualHeadModel, cv: CVSettings) -> list[dict[str, Any]]:
    """The fine-tuning phases of ``model`` under ``cv``: name, epochs and trainable top blocks.

    Examples
    --------
    >>> from eifer.model import create_model
    >>> [(p["name"], p["n_top"]) for p in plan_phases(create_model("resnet18"), CVSettings())]
    [('heads', 0), ('unfreeze1', 2), ('unfreeze2', 4), ('unfreeze3', 5)]
    """
    groups = backbone_groups(model.backbone)
    counts = unfreeze_schedule(len(groups), len(cv.unfreeze_epochs),
                               None if cv.unfreeze_groups is None else list(cv.unfreeze_groups))
    out: list[dict[str, Any]] = [{"name": "heads", "epochs": int(cv.head_epochs), "n_top": 0, "n_blocks": len(groups)}]
    out += [{"name": f"unfreeze{i + 1}", "epochs": int(e), "n_top": n, "n_blocks": len(groups)}
            for i, (e, n) in enumerate(zip(cv.unfreeze_epochs, counts))]
    return [p for p in out if p["epochs"] > 0]


def _optimizer(model: DualHeadModel, phase: dict[str, Any], cv: CVSettings, t: TrainSettings,
               groups: list[list[str]]) -> torch.optim.AdamW:
    stage = 1 if phase["n_top"] == 0 else 2
    opt = make_optimizer(model, stage, head_lr=cv.head_lr, backbone_lr_peak=cv.lr, weight_decay=t.weight_decay)
    apply_unfreeze(model, groups, phase["n_top"])  # after make_optimizer, which unfreezes the whole backbone
    for g in opt.param_groups:  # frozen tensors: out of the optimiser (and of weight decay)
        g["params"] = [p for p in g["params"] if p.requires_grad]
    return opt


def fit_gradual(model: DualHeadModel, train_ds: CropDataset, val_ds: CropDataset, cv: CVSettings,
                t: TrainSettings, *, seed: int, ckpt_dir: str | Path | None = None, device: str = "cpu",
                label: str = "fold") -> GradualResult:
    """Fine-tune ``model`` heads-first, then unfreezing the backbone top-down; keep the best epoch.

    Parameters
    ----------
    model : DualHeadModel
        Initial weights (ImageNet checkpoint, or random when allowed).
    train_ds, val_ds : CropDataset
        This fold's training and validation crops of one task.
    cv : CVSettings
        Phases, learning rates, warm-up.
    t : TrainSettings
        Shared settings: batch size, weight decay, clipping, regression weight,
        pos_weight mode, augmentation, threshold grid, loader workers.
    seed : int
        Seed of shuffling and augmentation (per epoch, see :func:`eifer.train.epoch_seed`).
    ckpt_dir : path-like, optional
        Folder of ``checkpoint.safetensors`` (resume); no checkpoints when None.
    device : str
    label : str
        Progress-bar title.

    Returns
    -------
    GradualResult
        Model with the best epoch's weights, its validation probabilities,
        threshold and macro F1, the phases and per-epoch history.

    Examples
    --------
    >>> res = fit_gradual(create_model("resnet18"), tr, va, CVSettings(), TrainSettings(), seed=0)  # doctest: +SKIP
    >>> res.best_epoch, res.threshold  # doctest: +SKIP
    """
    ckpt = Path(ckpt_dir) / CHECKPOINT if ckpt_dir is not None else None
    model.to(device)
    groups = backbone_groups(model.backbone)
    phases = plan_phases(model, cv)
    epochs = [(pi, e) for pi, p in enumerate(phases) for e in range(p["epochs"])]
    if not epochs:
        raise ValueError("transfer_cv: head_epochs and unfreeze_epochs are all 0; nothing to train")
    pos_weight = pos_weight_of(train_ds.labels.numpy(), t.pos_weight_mode)
    aug = {"p": t.aug_p, "brightness": tuple(t.brightness), "blur_sigma": tuple(t.blur_sigma)} if t.aug_p > 0 else None
    yv = val_ds.labels.numpy()
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"epoch": 0, "f1": -1.0, "state": None, "val_prob": None}
    state = load_checkpoint(ckpt) if ckpt is not None else None
    if state is not None:
        restore_model(model, state, ckpt)  # type: ignore[arg-type]  # state is None when ckpt is None
        history, best = state["history"], state["best"]
    val_loader = make_loader(val_ds, t.batch_size * 2, shuffle=False, num_workers=t.num_workers, device=device)

    def phase(pi: int, p: dict[str, Any]) -> Phase:
        stage = 1 if p["n_top"] == 0 else 2
        return Phase(pi, p["name"], p["epochs"], stage, lambda: _optimizer(model, p, cv, t, groups),
                     lambda steps: stage_schedule(stage, steps, p["epochs"], warmup_epochs=cv.warmup_epochs,
                                                  backbone_lr_start=cv.lr_start, backbone_lr_peak=cv.lr))

    def on_epoch(gi: int, ph: Phase, e: int, loss: float, optimizer: torch.optim.Optimizer) -> str:
        nonlocal best
        val_prob, _ = predict(model, val_loader, device)
        thr, f1 = select_threshold(yv, val_prob, t.threshold_grid)
        history.append({"epoch": gi + 1, "phase": ph.name, "n_top": phases[ph.key]["n_top"],
                        "train_loss": loss, "val_macro_f1": f1, "val_threshold": thr})
        if f1 > best["f1"]:  # ties keep the earlier epoch
            best = {"epoch": gi + 1, "f1": f1, "val_prob": val_prob,
                    "state": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}}
        return f"{label} {ph.name} e{e + 1} loss {loss:.3f} val F1 {f1:.3f}"

    hook = frozen_bn_eval(model)
    try:
        fit_phases(model, train_ds, [phase(pi, p) for pi, p in enumerate(phases)], batch_size=t.batch_size,
                   num_workers=t.num_workers, pos_weight=pos_weight, regression_weight=t.regression_weight,
                   grad_clip=t.grad_clip, aug=aug, seed=seed, device=device, label=label, ckpt=ckpt,
                   ckpt_key="phase", history=history, resume=state, on_epoch=on_epoch,
                   ckpt_extra=lambda: {"best": best})
    finally:
        hook.remove()
    model.load_state_dict(best["state"])
    thr, f1 = select_threshold(yv, best["val_prob"], t.threshold_grid)
    return GradualResult(model=model, best_epoch=int(best["epoch"]), best_f1=float(f1), threshold=thr,
                         val_prob=np.asarray(best["val_prob"]), pos_weight=pos_weight, phases=phases,
                         history=history)
