"""The dual-head facial expression model (paper §3.3).

A timm backbone with ``num_classes=0`` produces a feature vector shared by a
one-logit classification head and a one-output regression head. Initial
weights only ever come from a local file: a timm/torch ``.pth``/``.pt`` or a
``.safetensors`` state dict, the backbone of a timm affect-estimator
checkpoint (its classifier is dropped), or an eifer dual-head checkpoint
(transfer: heads included). Nothing is downloaded.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, cast

import timm
import torch
from torch import nn

from eifer.errors import EiferError
from eifer.model import tiny as _tiny  # noqa: F401  (registers eifer_tinycnn with timm)

_PREFIXES = ("module.", "model.", "backbone.", "encoder.")


class DualHeadModel(nn.Module):
    """Backbone + classification head (1 logit) + regression head (1 value).

    ``forward(x)`` returns ``(logit, regression)``, each of shape ``(N,)``.
    """

    def __init__(self, backbone: nn.Module, num_features: int):
        super().__init__()
        self.backbone = backbone
        self.cls_head = nn.Linear(num_features, 1)
        self.reg_head = nn.Linear(num_features, 1)

    def heads(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cls_head(feats).squeeze(1), self.reg_head(feats).squeeze(1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.backbone(x))

    def head_parameters(self) -> list[nn.Parameter]:
        return list(self.cls_head.parameters()) + list(self.reg_head.parameters())


#: Largest safetensors header read (bytes). A header is ~100 bytes per tensor: the largest timm
#: checkpoints (< 5,000 tensors) need < 1 MiB; 16 MiB refuses a damaged length before it is allocated.
MAX_SAFETENSORS_HEADER = 16 << 20
_ST_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2,
                   "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def check_safetensors_header(path: str | Path) -> None:
    """:class:`EiferError` unless ``path`` has a sane safetensors header (read without loading a tensor).

    The 8-byte length must fit the file and :data:`MAX_SAFETENSORS_HEADER`; the
    header must be a JSON object whose every tensor has a known dtype, a shape
    and byte offsets that lie in the file and match dtype x shape.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise EiferError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
        n = int.from_bytes(head, "little")
        if n > MAX_SAFETENSORS_HEADER or 8 + n > size:
            raise EiferError(f"{path}: damaged safetensors file: its header claims {n:,} bytes (file: {size:,} "
                             f"bytes; at most {MAX_SAFETENSORS_HEADER:,} are read)")
        raw = fh.read(n)
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise EiferError(f"{path}: damaged safetensors file: the header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise EiferError(f"{path}: damaged safetensors file: the header is not a JSON object")
    data = size - 8 - n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        ok = False
        if isinstance(info, dict) and info.get("dtype") in _ST_DTYPE_BYTES:
            shape, offsets = info.get("shape"), info.get("data_offsets")
            if isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape) \
                    and isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets):
                begin, end = offsets
                nbytes = math.prod(shape) * _ST_DTYPE_BYTES[info["dtype"]]
                ok = 0 <= begin <= end <= data and end - begin == nbytes
        if not ok:
            raise EiferError(f"{path}: damaged safetensors file: tensor {name!r} has a bad dtype, shape or "
                             f"byte range ({str(info)[:120]}; {data:,} data bytes)")


def check_weights_file(path: str | Path) -> None:
    """Read a weights file the way :func:`read_state_dict` will, or raise :class:`EiferError` saying why.

    Run before a stage deletes anything, so a damaged file stops a run with
    its finished models intact (safetensors: the header only; torch files:
    the weights, loaded with ``weights_only=True``).
    """
    path = Path(path).expanduser()
    if path.suffix == ".safetensors":
        if not path.is_file():
            raise EiferError(f"{path}: weights file not found")
        check_safetensors_header(path)
    else:
        read_state_dict(path)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a state dict from ``.safetensors`` or a torch file (weights only, no pickle code)."""
    path = Path(path).expanduser()  # as the preflight reads it: "~/w.pt" is the user's home
    if not path.is_file():
        raise EiferError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            check_safetensors_header(path)
            from safetensors.torch import load_file

            sd: Any = load_file(str(path))
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except EiferError:
        raise
    except Exception as exc:  # corrupt file, unsupported pickle, ...
        raise EiferError(f"{path}: cannot read weights: {exc}") from exc
    for key in ("state_dict", "model", "model_state", "net"):  # common checkpoint wrappers
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise EiferError(f"{path}: not a state dict of tensors")
    return sd


def load_weights(model: DualHeadModel, path: str | Path, min_backbone_match: float = 0.9) -> dict[str, int]:
    """Load local weights into ``model``; returns counts of matched tensors.

    Keys are matched after stripping common prefixes (``module.``, ``model.``,
    ``backbone.``); tensors of the backbone's classifier or of other shapes are
    ignored. ``cls_head.*``/``reg_head.*`` are loaded when present (eifer
    checkpoints). Fails when fewer than ``min_backbone_match`` of the
    backbone's tensors are found — almost always a checkpoint of another
    architecture.
    """
    sd = read_state_dict(path)
    bb_own = model.backbone.state_dict()
    head_own = {f"cls_head.{k}": v for k, v in model.cls_head.state_dict().items()}
    head_own.update({f"reg_head.{k}": v for k, v in model.reg_head.state_dict().items()})
    bb_new: dict[str, torch.Tensor] = {}
    head_new: dict[str, torch.Tensor] = {}
    for key, val in sd.items():
        if key in head_own and head_own[key].shape == val.shape:
            head_new[key] = val
            continue
        k = key
        while k.startswith(_PREFIXES):
            k = k.split(".", 1)[1]
        if k in bb_own and bb_own[k].shape == val.shape:
            bb_new[k] = val
    n_bb = sum(1 for k in bb_own if not k.endswith("num_batches_tracked"))
    n_hit = sum(1 for k in bb_new if not k.endswith("num_batches_tracked"))
    if n_bb and n_hit / n_bb < min_backbone_match:
        raise EiferError(f"{path}: only {n_hit} of {n_bb} backbone tensors match this architecture; "
                         "is it a checkpoint of a different backbone?")
    model.backbone.load_state_dict(bb_new, strict=False)
    if head_new:
        model.load_state_dict(head_new, strict=False)
    return {"backbone": n_hit, "backbone_total": n_bb, "heads": len(head_new)}


def create_model(backbone: str, pretrained_path: str | Path | None = None, *, allow_random_init: bool = True,
                 **timm_kwargs: Any) -> DualHeadModel:
    """Build the dual-head model on a timm backbone, with local initial weights.

    Parameters
    ----------
    backbone : str
        Any timm model name (``tf_efficientnetv2_l`` in the paper, ``eifer_tinycnn`` in the demo).
    pretrained_path : path-like, optional
        Local ``.pth``/``.pt``/``.safetensors``: a timm backbone, an affect estimator
        built on it, or an eifer dual-head checkpoint.
    allow_random_init : bool
        When False and no ``pretrained_path`` is given, raise instead of starting from random weights.
    **timm_kwargs
        Passed to ``timm.create_model``.

    Returns
    -------
    DualHeadModel

    Examples
    --------
    >>> m = create_model("eifer_tinycnn")
    >>> logit, reg = m(torch.zeros(2, 3, 32, 32)); logit.shape
    torch.Size([2])
    """
    if pretrained_path is None and not allow_random_init:
        raise EiferError(
            f"backbone {backbone!r}: no initial weights configured. The paper fine-tunes an "
            "AffectNet-pretrained network; eifer never downloads weights. Put a local checkpoint "
            "(timm .pth/.safetensors, or an affect estimator built on this backbone) on disk and set "
            "train.pretrained_path: /path/to/weights in your config YAML, or set "
            "train.allow_random_init: true to train from random weights.")
    try:
        bb = timm.create_model(backbone, pretrained=False, num_classes=0, **timm_kwargs)
    except RuntimeError as exc:  # unknown model name
        raise EiferError(f"backbone {backbone!r}: {exc}") from exc
    # models with a pre-logits block (VGG's fc6/fc7, MobileNetV3's conv head) output head_hidden_size
    model = DualHeadModel(bb, int(getattr(bb, "head_hidden_size", None) or cast(int, bb.num_features)))
    if pretrained_path is not None:
        load_weights(model, pretrained_path)
    return model
