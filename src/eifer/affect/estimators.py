"""Learned valence/arousal estimators on aligned face crops (batch inference).

All image estimators take ``uint8`` RGB crops of shape (N, S, S, 3), cut by
:func:`eifer.frames.crop.align_crop` at ``S = input_size``, and return an
(N, 2) float array of (valence, arousal) clipped to [-1, 1].

Defaults follow the published HSEmotion / EmotiEffLib valence-arousal models
(224 px, ImageNet mean/std, RGB, valence and arousal = the last two outputs).
Nothing is downloaded: every estimator reads a local file.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eifer.config import DEFAULTS
from eifer.errors import EiferError
from eifer.io import hash_file, hash_obj

if TYPE_CHECKING:
    import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageEstimator:
    """Shared preprocessing and output handling; subclasses implement :meth:`_forward`.

    ``crop_margin``, ``crop_eye_y`` and ``crop_iod_fraction`` are the geometry of
    the input crops (:func:`eifer.frames.crop.estimator_crop`; set from
    ``affect.crop_*`` by :func:`eifer.affect.estimator_from_config`); they are
    part of :attr:`key`, so estimates cut with other crops are never reused.
    """

    needs_images = True
    crop_margin: float = DEFAULTS.affect.crop_margin
    crop_eye_y: float = DEFAULTS.affect.crop_eye_y
    crop_iod_fraction: float = DEFAULTS.affect.crop_iod_fraction

    def __init__(self, path: str | Path, input_size: int = 224, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, channel_order: str = "RGB", valence_index: int = -2,
                 arousal_index: int = -1, clip: bool = True, batch_size: int = 64, device: str = "auto"):
        if path is None:
            raise EiferError(f"affect.path is not set: the {type(self).__name__} needs a local model file "
                             "(or set affect.estimator: geometry for the weight-free baseline)")
        self.path = Path(path)
        if not self.path.is_file():
            raise EiferError(f"{path}: affect model file not found (affect.path must name a local file)")
        if channel_order not in ("RGB", "BGR"):
            raise EiferError(f"affect channel_order must be 'RGB' or 'BGR', got {channel_order!r}")
        self.input_size = int(input_size)
        self.mean = np.asarray(mean, np.float32).reshape(1, 3, 1, 1)
        self.std = np.asarray(std, np.float32).reshape(1, 3, 1, 1)
        self.channel_order = channel_order
        self.valence_index, self.arousal_index = int(valence_index), int(arousal_index)
        self.clip = clip
        self.batch_size = int(batch_size)
        self.device = device

    @property
    def key(self) -> str:
        """Identity of model file + settings (decides whether stored estimates are current)."""
        return hash_obj([type(self).__name__, hash_file(self.path), self.input_size, self.mean.tolist(),
                         self.std.tolist(), self.channel_order, self.valence_index, self.arousal_index, self.clip,
                         self.crop_margin, self.crop_eye_y, self.crop_iod_fraction])

    def preprocess(self, crops: np.ndarray) -> np.ndarray:
        """uint8 (N, S, S, 3) RGB → float32 (N, 3, S, S) normalised."""
        if crops.ndim != 4 or crops.shape[1:] != (self.input_size, self.input_size, 3):
            raise EiferError(f"expected crops of shape (N, {self.input_size}, {self.input_size}, 3), "
                             f"got {crops.shape}")
        x = crops[..., ::-1] if self.channel_order == "BGR" else crops
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
        return (x - self.mean) / self.std

    def _forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def raw_outputs(self, crops: np.ndarray) -> np.ndarray:
        """All model outputs, (N, K), in batches of ``batch_size``."""
        outs = [self._forward(self.preprocess(crops[i:i + self.batch_size]))
                for i in range(0, len(crops), self.batch_size)]
        return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """(valence, arousal) per crop, shape (N, 2).

        Examples
        --------
        >>> est = create_estimator("onnx", path="va.onnx")  # doctest: +SKIP
        >>> est.predict(crops)[:, 0]  # valence  # doctest: +SKIP
        """
        if len(crops) == 0:
            return np.zeros((0, 2), np.float32)
        out = self.raw_outputs(crops)
        va = out[:, [self.valence_index, self.arousal_index]].astype(np.float32)
        return np.clip(va, -1.0, 1.0) if self.clip else va


class OnnxEstimator(ImageEstimator):
    """Any ONNX model through onnxruntime (CUDA provider when available).

    ``threads`` sets onnxruntime's intra-op threads (None: its default, all cores).
    """

    def __init__(self, path: str | Path, threads: int | None = None, **kwargs: Any):
        super().__init__(path, **kwargs)
        import onnxruntime as ort

        available = ort.get_available_providers()
        providers = ["CPUExecutionProvider"]
        if self.device != "cpu" and "CUDAExecutionProvider" in available:
            providers.insert(0, "CUDAExecutionProvider")
        try:
            opts = ort.SessionOptions()
            if threads is not None:
                opts.intra_op_num_threads = int(threads)
            self.session = ort.InferenceSession(str(self.path), sess_options=opts, providers=providers)
        except Exception as exc:
            raise EiferError(f"{self.path}: cannot load ONNX model ({exc})") from exc
        self.input_name = self.session.get_inputs()[0].name

    def _forward(self, x: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self.input_name: x})[0]
        return np.asarray(out).reshape(len(x), -1)


class _TorchEstimator(ImageEstimator):
    def _setup(self, model: torch.nn.Module) -> None:
        from eifer.utils import pick_device

        self.torch_device = pick_device(self.device)
        self.model = model.to(self.torch_device).eval()

    def _forward(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.model(torch.from_numpy(x).to(self.torch_device))
        if isinstance(out, (tuple, list)):
            out = out[0]
        return out.float().reshape(len(x), -1).cpu().numpy()


class TimmEstimator(_TorchEstimator):
    """A timm architecture with a local checkpoint (``.pth``/``.pt`` or ``.safetensors``).

    Parameters
    ----------
    path : path-like
        Checkpoint: a state dict, or a dict holding one under ``state_dict`` / ``model``.
    arch : str
        timm model name, e.g. ``"tf_efficientnetv2_l"``.
    num_outputs : int
        Size of the model's output layer (the head is built with this many).
    """

    def __init__(self, path: str | Path, arch: str = "tf_efficientnetv2_l", num_outputs: int = 10,
                 **kwargs: Any):
        super().__init__(path, **kwargs)
        import timm

        from eifer.model import read_state_dict  # here: importing eifer.affect (its readers) needs no torch

        self.arch, self.num_outputs = arch, int(num_outputs)
        model = timm.create_model(arch, pretrained=False, num_classes=self.num_outputs)
        # one reader of weight files for the whole package (refuses pickled code)
        sd = read_state_dict(self.path)
        model.load_state_dict({k.removeprefix("module."): v for k, v in sd.items()})
        self._setup(model)

    @property
    def key(self) -> str:
        return hash_obj([super().key, self.arch, self.num_outputs])


class TorchScriptEstimator(_TorchEstimator):
    """A TorchScript file (``torch.jit.save``) mapping (N, 3, S, S) to (N, K)."""

    def __init__(self, path: str | Path, **kwargs: Any):
        super().__init__(path, **kwargs)
        import torch

        try:
            model = torch.jit.load(str(self.path), map_location="cpu")
        except Exception as exc:
            raise EiferError(f"{self.path}: cannot load TorchScript model ({exc})") from exc
        self._setup(model)
