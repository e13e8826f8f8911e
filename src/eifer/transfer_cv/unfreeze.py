"""Gradual top-down unfreezing of a timm backbone (paper §3.5).

The backbone's parameters are split into *blocks*, ordered from the input
(stem) to the output (top):

* timm models that define ``group_matcher`` (ResNet, VGG, EfficientNet,
  MobileNet, ConvNeXt, ViT, ...) use their coarse grouping — ResNet50: stem,
  layer1..layer4; VGG16: each of the 13 convolutions, then the pre-logits
  MLP; parameters no rule matches (a neck or head) form the top block;
* any other module falls back to module order: its top-level children that
  hold parameters, descending while there is only one (a ``Sequential``).

Fine-tuning is a sequence of phases: first the newly initialised heads alone
(backbone frozen), then in unfreezing phase ``i`` the top ``n_i`` blocks are
trainable and the rest stay frozen. ``n_i`` comes from the config
(``transfer_cv.unfreeze_groups``; a count above the number of blocks means
all of them) or, by default, is spread evenly so that the last phase trains
the whole backbone: ``n_i = ceil((i + 1) * n_blocks / n_phases)``.

A frozen block is frozen completely: its weights get no gradient and its
BatchNorm layers keep their running statistics (they run in eval mode, as
Keras does for frozen layers), see :func:`frozen_bn_eval`.
"""
from __future__ import annotations

import math

from timm.models import group_parameters
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.hooks import RemovableHandle

from eifer.errors import EiferError
from eifer.model import DualHeadModel


def _fallback_groups(module: nn.Module, prefix: str = "") -> list[list[str]]:
    children = [(n, c) for n, c in module.named_children() if any(True for _ in c.parameters())]
    own = [f"{prefix}{n}" for n, _ in module.named_parameters(recurse=False)]
    if len(children) == 1 and not own:
        name, child = children[0]
        inner = _fallback_groups(child, f"{prefix}{name}.")
        if len(inner) > 1:
            return inner
    groups = [[f"{prefix}{name}.{p}" for p, _ in c.named_parameters()] for name, c in children]
    return groups + ([own] if own else [])


def backbone_groups(backbone: nn.Module) -> list[list[str]]:
    """Parameter names of the backbone's blocks, bottom (stem) first, top last.

    Parameters
    ----------
    backbone : torch.nn.Module
        A timm model (or any module).

    Returns
    -------
    list of list of str
        One list of parameter names (as in ``backbone.named_parameters()``) per
        block; every parameter appears in exactly one block.

    Examples
    --------
    >>> import timm
    >>> g = backbone_groups(timm.create_model("resnet18", num_classes=0))
    >>> len(g), g[0][0], g[-1][0]
    (5, 'conv1.weight', 'layer4.0.conv1.weight')
    """
    matcher = None
    if hasattr(backbone, "group_matcher"):
        try:
            matcher = backbone.group_matcher(coarse=True)  # type: ignore[operator]  # timm's method (hasattr above)
        except (NotImplementedError, TypeError):
            matcher = None
    if matcher:
        grouped = group_parameters(backbone, matcher)
        groups = [list(grouped[k]) for k in sorted(grouped)]
    else:
        groups = _fallback_groups(backbone)
    groups = [g for g in groups if g]
    if not groups:
        raise EiferError(f"backbone {type(backbone).__name__}: has no parameters to unfreeze")
    return groups


def unfreeze_schedule(n_groups: int, n_phases: int, counts: list[int] | None = None) -> list[int]:
    """Number of top blocks trainable in each unfreezing phase.

    Parameters
    ----------
    n_groups : int
        Blocks of the backbone (:func:`backbone_groups`).
    n_phases : int
        Unfreezing phases (after the heads-only phase).
    counts : list of int, optional
        Explicit counts per phase (``transfer_cv.unfreeze_groups``): positive,
        non-decreasing; values above ``n_groups`` mean all blocks.

    Returns
    -------
    list of int
        Non-decreasing counts in ``1..n_groups``; by default the last is ``n_groups``.

    Examples
    --------
    >>> unfreeze_schedule(5, 3), unfreeze_schedule(14, 3), unfreeze_schedule(5, 2, [1, 99])
    ([2, 4, 5], [5, 10, 14], [1, 5])
    """
    if n_phases < 0 or n_groups < 1:
        raise EiferError(f"unfreeze schedule: need >= 1 block and >= 0 phases, got {n_groups} and {n_phases}")
    if counts is None:
        return [math.ceil((i + 1) * n_groups / n_phases) for i in range(n_phases)]
    if len(counts) != n_phases:
        raise EiferError(f"config transfer_cv.unfreeze_groups has {len(counts)} entries but "
                         f"transfer_cv.unfreeze_epochs has {n_phases}; give one block count per unfreezing phase")
    if any(c < 1 for c in counts) or any(b < a for a, b in zip(counts, counts[1:])):
        raise EiferError(f"config transfer_cv.unfreeze_groups {counts}: counts must be >= 1 and non-decreasing "
                         "(blocks are unfrozen top-down and stay unfrozen)")
    return [min(int(c), n_groups) for c in counts]


def apply_unfreeze(model: DualHeadModel, groups: list[list[str]], n_top: int) -> list[str]:
    """Make the heads and the top ``n_top`` backbone blocks trainable, freeze the rest.

    Parameters
    ----------
    model : eifer.model.DualHeadModel
        Model with ``backbone``, ``cls_head`` and ``reg_head``.
    groups : list of list of str
        :func:`backbone_groups` of ``model.backbone``.
    n_top : int
        Trainable top blocks (0 = heads only).

    Returns
    -------
    list of str
        Names (in ``model.named_parameters()``) of the trainable backbone parameters.
    """
    trainable = {name for g in groups[len(groups) - n_top:] for name in g} if n_top > 0 else set()
    out = []
    for name, p in model.backbone.named_parameters():
        p.requires_grad_(name in trainable)
        if name in trainable:
            out.append(f"backbone.{name}")
    for p in model.head_parameters():
        p.requires_grad_(True)
    return out


def frozen_bn_eval(model: nn.Module) -> RemovableHandle:
    """Keep BatchNorm layers whose parameters are all frozen in eval mode while ``model`` trains.

    Registers a forward pre-hook on ``model`` (undone with ``handle.remove()``):
    before every training-mode forward, each BatchNorm layer without a
    trainable parameter is switched to eval, so frozen blocks keep their
    running statistics.

    Returns
    -------
    torch.utils.hooks.RemovableHandle
    """
    def _hook(module: nn.Module, args: object) -> None:
        if not module.training:
            return
        for m in module.modules():
            if isinstance(m, _BatchNorm) and m.training:
                ps = list(m.parameters(recurse=False))
                if ps and not any(p.requires_grad for p in ps):
                    m.eval()

    return model.register_forward_pre_hook(_hook)
