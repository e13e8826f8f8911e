"""An independent numpy forward pass of fer's ``emotion_model.hdf5`` (Keras 2.0.5 mini-Xception).

Used by ``tools/convert_fer_model.py`` to make the *reference outputs* the
PyTorch rebuild and the exported ONNX are checked against, because TensorFlow
(the original runtime) cannot be relied on here. It is written separately
from the PyTorch rebuild on purpose:

* it walks the Keras graph stored in the file (``model_config``: layer
  classes, names, settings and inbound nodes) instead of a hand-built
  architecture, so a wrong layer order or a missed branch in the rebuild
  shows up as a mismatch;
* it computes in float64, NHWC, with TensorFlow's own ``same`` padding rule
  (``pad_total = max((out - 1) * stride + k - in, 0)``, the smaller half
  before), so a padding slip in the rebuild shows up too.

Only the layer types of this file are implemented; any other raises.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np


def _weights(f: Any, name: str) -> dict[str, np.ndarray]:
    group = f["model_weights"][name]
    out = {}
    for w in group.attrs.get("weight_names", []):
        w = w.decode() if isinstance(w, bytes) else str(w)
        out[w.split("/")[-1].split(":")[0]] = np.asarray(group[w], dtype=np.float64)
    return out


def _same_pad(n: int, k: int, s: int) -> tuple[int, int]:
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _pad(x: np.ndarray, k: tuple[int, int], s: tuple[int, int], padding: str, value: float) -> np.ndarray:
    if padding == "valid":
        return x
    if padding != "same":
        raise ValueError(f"padding {padding!r} not implemented")
    ph, pw = _same_pad(x.shape[1], k[0], s[0]), _same_pad(x.shape[2], k[1], s[1])
    return np.pad(x, ((0, 0), ph, pw, (0, 0)), constant_values=value)


def _windows(x: np.ndarray, k: tuple[int, int], s: tuple[int, int]) -> np.ndarray:
    """(N, Ho, Wo, kh, kw, C) view of the k-sized windows at stride s (x already padded)."""
    n, h, w, c = x.shape
    ho, wo = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    win = np.lib.stride_tricks.sliding_window_view(x, k, axis=(1, 2))  # (N, H-kh+1, W-kw+1, C, kh, kw)
    win = win[:, ::s[0], ::s[1]][:, :ho, :wo]
    return win.transpose(0, 1, 2, 4, 5, 3)


def _conv(x: np.ndarray, kernel: np.ndarray, s: tuple[int, int], padding: str) -> np.ndarray:
    k = kernel.shape[:2]
    win = _windows(_pad(x, k, s, padding, 0.0), k, s)
    return np.einsum("nhwijc,ijco->nhwo", win, kernel)


def _depthwise(x: np.ndarray, kernel: np.ndarray, s: tuple[int, int], padding: str) -> np.ndarray:
    k = kernel.shape[:2]
    win = _windows(_pad(x, k, s, padding, 0.0), k, s)
    return np.einsum("nhwijc,ijc->nhwc", win, kernel[..., 0])


def forward_numpy(hdf5_path: str, x: np.ndarray) -> np.ndarray:
    """Class probabilities (N, 7) of the Keras model in ``hdf5_path`` for inputs ``x`` (N, 64, 64, 1).

    ``x`` is what fer feeds the model: grey values scaled to [-1, 1].
    """
    import h5py

    with h5py.File(hdf5_path, "r") as f:
        cfg = json.loads(f.attrs["model_config"])["config"]
        acts: dict[str, np.ndarray] = {}
        for layer in cfg["layers"]:
            cls, c, name = layer["class_name"], layer["config"], layer["name"]
            ins = [acts[node[0]] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
            w = _weights(f, name) if cls not in ("InputLayer", "Activation", "Add", "MaxPooling2D",
                                                 "GlobalAveragePooling2D") else {}
            if cls == "InputLayer":
                y = np.asarray(x, dtype=np.float64)
            elif cls == "Conv2D":
                y = _conv(ins[0], w["kernel"], tuple(c["strides"]), c["padding"])
                if c["use_bias"]:
                    y = y + w["bias"]
            elif cls == "SeparableConv2D":
                s = tuple(c["strides"])
                y = _depthwise(ins[0], w["depthwise_kernel"], s, c["padding"])
                y = _conv(y, w["pointwise_kernel"], (1, 1), "valid")
                if c["use_bias"]:
                    y = y + w["bias"]
            elif cls == "BatchNormalization":
                y = (ins[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + c["epsilon"]) * w["gamma"] + w["beta"]
            elif cls == "MaxPooling2D":
                k, s = tuple(c["pool_size"]), tuple(c["strides"])
                y = _windows(_pad(ins[0], k, s, c["padding"], -np.inf), k, s).max(axis=(3, 4))
            elif cls == "Add":
                y = np.sum(ins, axis=0)
            elif cls == "GlobalAveragePooling2D":
                y = ins[0].mean(axis=(1, 2))
            else:
                y = ins[0]
            if c.get("activation", "linear") == "relu":
                y = np.maximum(y, 0.0)
            elif c.get("activation", "linear") == "softmax":
                e = np.exp(y - y.max(axis=-1, keepdims=True))
                y = e / e.sum(axis=-1, keepdims=True)
            elif c.get("activation", "linear") != "linear":
                raise ValueError(f"{name}: activation {c['activation']!r} not implemented")
            acts[name] = y
        return acts[cfg["output_layers"][0][0]]
