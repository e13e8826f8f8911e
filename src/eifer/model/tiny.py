"""``eifer_tinycnn``: a small CNN registered in timm's model registry.

Used by the demo profile and the tests, where a real backbone (even
``resnet10t``) would not fit the CPU budget. Registered through timm, so
``timm.create_model("eifer_tinycnn", num_classes=0)`` and
:func:`eifer.model.create_model` treat it like any other backbone.
"""
from __future__ import annotations

from typing import Any

import torch
from timm.models import register_model
from torch import nn


class TinyCNN(nn.Module):
    """Stride-2 conv-BN-ReLU stages, global average pooling, optional classifier."""

    def __init__(self, num_classes: int = 0, in_chans: int = 3, widths: tuple[int, ...] = (16, 32, 64, 128),
                 **_: object):
        super().__init__()
        layers: list[nn.Module] = []
        c = in_chans
        for w in widths:
            layers += [nn.Conv2d(c, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            c = w
        self.features = nn.Sequential(*layers)
        self.num_features = c
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes) if num_classes else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.global_pool(self.features(x)).flatten(1))


@register_model
def eifer_tinycnn(pretrained: bool = False, **kwargs: Any) -> TinyCNN:
    """Tiny CNN backbone (no pretrained weights exist; ``pretrained`` must be False)."""
    if pretrained:
        raise ValueError("eifer_tinycnn has no pretrained weights")
    for k in ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir"):
        kwargs.pop(k, None)
    return TinyCNN(**kwargs)
