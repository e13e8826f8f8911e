"""Valence/arousal estimation (the paper's "mechanical evaluator", §3.2.1).

``create_estimator(name, **kwargs)`` builds one of the registered estimators:

========== ==============================================================
name        what
========== ==============================================================
builtin     shipped FER2013 mini-Xception, classes on Russell's circumplex
onnx        any ONNX file via onnxruntime (HSEmotion-style defaults)
timm        timm architecture + local ``.pth``/``.safetensors`` checkpoint
torchscript a TorchScript file
geometry    face-mesh geometry, per-participant normalised (demo baseline)
========== ==============================================================

Image estimators run inside the frames stage on the decoded stream (one
decode per video); with ``affect.batch_inference`` (``auto``: when a GPU is
available) the frame units keep the aligned crops and the model runs batched
afterwards, one inference unit per GPU (:mod:`eifer.affect.batched`).
``run_affect`` writes the estimates into the affect stage's own tables
(``RUN/affect/<pid>/<vid>.parquet``), copying the in-stream ones when they are
current; :func:`read_estimates` is the one reader of them (the frame tables
with ``valence``/``arousal`` joined in).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eifer.affect.builtin import BuiltinEstimator
from eifer.affect.estimators import ImageEstimator, OnnxEstimator, TimmEstimator, TorchScriptEstimator
from eifer.affect.geometry import GeometryEstimator
from eifer.errors import EiferError

if TYPE_CHECKING:
    from eifer.config import AffectConfig
    from eifer.frames import StreamEstimator

_REGISTRY: dict[str, Callable[..., Any]] = {
    "builtin": BuiltinEstimator,
    "onnx": OnnxEstimator,
    "timm": TimmEstimator,
    "torchscript": TorchScriptEstimator,
    "geometry": GeometryEstimator,
}


def register_estimator(name: str, factory: Callable[..., Any]) -> None:
    """Add an estimator under ``name`` (a class or factory taking keyword arguments)."""
    _REGISTRY[name] = factory


def create_estimator(name: str, **kwargs: Any) -> Any:
    """Build a registered estimator.

    Parameters
    ----------
    name : {"onnx", "timm", "torchscript", "geometry"} or a registered name
    **kwargs
        Passed to the estimator (e.g. ``path``, ``input_size``, ``arch``).

    Returns
    -------
    estimator with ``needs_images``, ``key`` and ``predict(crops)`` (image
    estimators) or ``estimate(frames)`` (geometry).

    Examples
    --------
    >>> create_estimator("geometry").needs_images
    False
    """
    if name not in _REGISTRY:
        raise EiferError(f"unknown affect estimator {name!r}; choose one of {sorted(_REGISTRY)}")
    return _REGISTRY[name](**kwargs)


def estimator_from_config(cfg: AffectConfig) -> Any:
    """Build the estimator named by an :class:`eifer.config.AffectConfig`.

    An image estimator gets its input-crop geometry from ``affect.crop_*``.
    """
    kwargs = dict(cfg.options)
    if cfg.estimator != "geometry":
        kwargs.setdefault("path", cfg.path)
        kwargs.setdefault("batch_size", cfg.batch_size)
    est = create_estimator(cfg.estimator, **kwargs)
    if getattr(est, "needs_images", False):
        est.crop_margin, est.crop_eye_y, est.crop_iod_fraction = cfg.crop_margin, cfg.crop_eye_y, cfg.crop_iod_fraction
    return est


def _build_from_settings(settings: dict[str, Any]) -> Any:
    """Worker side of :func:`stream_estimator`: the estimator from dumped :class:`AffectConfig` settings."""
    from eifer.config import AffectConfig

    return estimator_from_config(AffectConfig.model_validate(settings))


def stream_estimator(cfg: AffectConfig) -> StreamEstimator | None:
    """What the pipeline hands the frames stage: the configured image estimator, or None.

    None for an estimator that needs no images (``geometry``: the affect stage
    computes it from the frame tables). Builds the estimator once here so a bad
    setting (e.g. no model file) fails once rather than in every worker.

    Examples
    --------
    >>> from eifer.config import AffectConfig
    >>> stream_estimator(AffectConfig(estimator="geometry")) is None
    True
    """
    if cfg.estimator == "geometry" or not estimator_from_config(cfg).needs_images:
        return None
    from eifer.affect.batched import affect_batched, run_frames_batched
    from eifer.frames import StreamEstimator

    return StreamEstimator(cfg.model_dump(mode="json"), _build_from_settings,
                           run_frames_batched if affect_batched(cfg) else None)


from eifer.affect.stage import (  # noqa: E402
    affect_part_path,
    estimate_video,
    iter_estimates,
    read_estimates,
    run_affect,
)

__all__ = ["create_estimator", "register_estimator", "estimator_from_config", "ImageEstimator", "BuiltinEstimator",
           "OnnxEstimator",
           "TimmEstimator", "TorchScriptEstimator", "GeometryEstimator", "estimate_video", "run_affect",
           "stream_estimator", "read_estimates", "iter_estimates", "affect_part_path"]
