"""Learned valence/arousal off the per-frame CPU path: crops from the CPU units, inference batched on a GPU.

With a learned (image) estimator and ``affect.batch_inference`` on (``auto``:
when CUDA is available) the frames stage runs in two kinds of unit:

1. **frame units** (CPU, one per video): decode once, detect, mesh, quality —
   exactly :func:`eifer.frames.extract_video` — but the aligned crops of the
   usable frames go to ``RUN/frames_pending/<pid>/<vid>.crops.u8`` (raw uint8,
   N × S × S × 3) instead of through the model, and the table to
   ``RUN/frames_pending/<pid>/<vid>.parquet`` (with a ``crop_index`` column);
2. **inference units** (one GPU each, ``Resources(gpus=1)``; one per video,
   so N GPUs run N at once): :func:`infer_affect_batched` on those crops, then
   the same provisional quality rule, and the final
   ``RUN/frames/<pid>/<vid>.parquet`` is written atomically; the pending files
   are removed.

The final table is the one the in-stream path writes (same crops, same model,
same batches; tests compare them on CPU). A crash between the two resumes at
the inference. Videos go through in waves so at most a few videos' crops are
on disk at a time (a six-minute 30 fps video is ≈ 1.6 GB of 224-px crops).
"""
from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eifer.config import DEFAULTS
from eifer.errors import EiferError
from eifer.io import atomic_path, write_parquet, write_text

if TYPE_CHECKING:
    from eifer.config import AffectConfig

# videos per wave = this × CPU workers: bounds the crops waiting on disk
_WAVE_PER_WORKER = 4
_ESTIMATORS: dict[str, Any] = {}  # one model load per worker process


def cuda_available() -> bool:
    """CUDA usable by torch or by onnxruntime."""
    try:
        import torch

        if torch.cuda.is_available():
            return True
    except ImportError:  # pragma: no cover
        pass
    try:
        import onnxruntime as ort

        return "CUDAExecutionProvider" in ort.get_available_providers()
    except ImportError:  # pragma: no cover
        return False


def affect_batched(cfg: AffectConfig) -> bool:
    """Whether the frames stage uses the batched path for an :class:`eifer.config.AffectConfig`.

    ``on``/``off`` decide; ``auto`` = batched when CUDA is available and the
    estimator's ``device`` option is not ``cpu``. The geometry estimator never is.

    Examples
    --------
    >>> from eifer.config import AffectConfig
    >>> affect_batched(AffectConfig(estimator="onnx", batch_inference="on"))
    True
    >>> affect_batched(AffectConfig(estimator="onnx", batch_inference="auto", options={"device": "cpu"}))
    False
    >>> affect_batched(AffectConfig(estimator="geometry", batch_inference="on"))
    False
    """
    if cfg.estimator == "geometry" or cfg.batch_inference == "off":
        return False
    if cfg.batch_inference == "on":
        return True
    return cfg.options.get("device", "auto") != "cpu" and gpus_available()


def gpus_available() -> bool:
    """CUDA here, or GPUs in the Ray cluster when the ``ray`` executor is in use (the driver may have none)."""
    if cuda_available():
        return True
    from eifer.parallel import get_executor

    spec = get_executor()
    if spec.kind != "ray":
        return False
    import ray

    from eifer.parallel import ensure_ray

    ensure_ray(spec)
    return ray.cluster_resources().get("GPU", 0) > 0


def inference_device(cfg: AffectConfig) -> str:
    """``cuda`` or ``cpu`` for the inference units (the estimator's ``device`` option; ``auto`` = a GPU if any)."""
    device = str(cfg.options.get("device", "auto"))
    if device == "auto":
        return "cuda" if gpus_available() else "cpu"
    return device


def _estimator(affect_cfg: dict[str, Any], device: str) -> Any:
    """The configured estimator on ``device``, built once per process."""
    from eifer.affect import estimator_from_config
    from eifer.config import AffectConfig

    key = json.dumps([affect_cfg, device], sort_keys=True, default=str)
    if key not in _ESTIMATORS:
        cfg = AffectConfig.model_validate(affect_cfg)
        cfg = cfg.model_copy(update={"options": {**cfg.options, "device": device}})
        _ESTIMATORS[key] = estimator_from_config(cfg)
    return _ESTIMATORS[key]


def infer_affect_batched(crops: np.ndarray, estimator: Any, device: str = "auto",
                         batch_size: int = DEFAULTS.affect.batch_size) -> np.ndarray:
    """(valence, arousal) for a stack of aligned crops, ``batch_size`` at a time.

    Parameters
    ----------
    crops : ndarray (N, S, S, 3) uint8
        Aligned RGB crops at the estimator's ``input_size`` (a memory map is
        fine: only one batch is read at a time).
    estimator : image estimator or eifer.config.AffectConfig
        A built estimator (used on the device it was built for), or the
        config to build one on ``device``.
    device : str
        ``auto`` (CUDA when present), ``cuda`` or ``cpu``; used when
        ``estimator`` is a config.
    batch_size : int

    Returns
    -------
    ndarray (N, 2) float32, the same numbers as ``estimator.predict`` on each crop.

    Examples
    --------
    >>> import numpy as np
    >>> class Mean:  # any object with ``predict`` and ``batch_size`` works
    ...     batch_size = 8
    ...     def predict(self, x):
    ...         m = x.reshape(len(x), -1).mean(1, dtype=np.float32) / 255
    ...         return np.stack([m, -m], 1)
    >>> crops = np.full((5, 4, 4, 3), 255, np.uint8)
    >>> infer_affect_batched(crops, Mean(), batch_size=2).tolist()
    [[1.0, -1.0], [1.0, -1.0], [1.0, -1.0], [1.0, -1.0], [1.0, -1.0]]
    """
    if batch_size < 1:
        raise EiferError(f"affect batch_size must be >= 1, got {batch_size}")
    if not hasattr(estimator, "predict"):  # a config: build the estimator on the device
        dev = inference_device(estimator) if device == "auto" else device
        estimator = _estimator(estimator.model_dump(mode="json"), dev)
    est = copy.copy(estimator)  # shares the model; only the batch size differs
    est.batch_size = int(batch_size)
    out = [np.asarray(est.predict(np.ascontiguousarray(crops[i:i + batch_size])), np.float32)
           for i in range(0, len(crops), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 2), np.float32)


# --- the two kinds of unit -------------------------------------------------------
def pending_paths(out: str | Path, size: int) -> tuple[Path, Path]:
    """``RUN/frames/<pid>/<vid>.parquet`` → its pending table and ``size``-px crops under ``RUN/frames_pending``.

    The crop size is in the name, so crops cut for another estimator input size are never used.
    """
    out = Path(out)
    d = out.parents[2] / "frames_pending" / out.parent.name
    return d / out.name, d / f"{out.stem}.crops{int(size)}.u8"


def _pending_ready(job: dict[str, Any], size: int) -> bool:
    table, crops = pending_paths(job["out"], size)
    return table.exists() and crops.exists()


class _CropSpool:
    """Crops streamed to a temporary file beside the target, renamed on :meth:`close`."""

    def __init__(self, path: Path):
        self._atomic = atomic_path(path)
        self._fh = open(self._atomic.__enter__(), "wb")
        self.rows: list[int] = []

    def __call__(self, rows: list[int], crops: np.ndarray) -> None:
        self._fh.write(np.ascontiguousarray(crops, np.uint8).tobytes())
        self.rows.extend(rows)

    def close(self, ok: bool) -> None:
        self._fh.close()
        if ok:
            self._atomic.__exit__(None, None, None)
        else:
            self._atomic.__exit__(EiferError, EiferError(), None)


def frames_crops_unit(job: dict[str, Any], report: Callable | None = None) -> dict[str, Any]:
    """Frame unit (CPU): extract one video, keep its crops for batched inference; writes the pending files.

    Runs under :func:`eifer.frames.parallel.run_jobs` like the in-stream unit
    (an :class:`EiferError` becomes that video's problem row).
    """
    from eifer.config import FramesConfig
    from eifer.frames.analyzer import FaceAnalyzer
    from eifer.frames.extract import extract_video

    # built on the CPU: this unit only needs the crop size (the model runs in the inference unit)
    est = _estimator(job["affect_cfg"], "cpu")
    table, crops_path = pending_paths(job["out"], est.input_size)
    for old in crops_path.parent.glob(f"{Path(job['out']).stem}.crops*.u8"):  # cut for another input size
        old.unlink()
    spool = _CropSpool(crops_path)
    try:
        fc = FramesConfig.model_validate(job["frames_cfg"])
        df = extract_video(job["path"], FaceAnalyzer.from_config(fc), job["participant_id"], job["video_id"], est,
                           report, crop_sink=spool, ear_threshold=fc.ear_threshold, every_nth=fc.every_nth)
    except BaseException:
        spool.close(ok=False)
        raise
    spool.close(ok=True)
    idx = np.full(len(df), -1, np.int64)
    idx[spool.rows] = np.arange(len(spool.rows))
    df["crop_index"] = idx
    note = Path(job["out"]).with_suffix(".problem.txt")
    if df.attrs.get("problem"):
        write_text(note, df.attrs["problem"] + "\n")
    elif note.exists():
        note.unlink()
    write_parquet(table, df)  # last: its presence means the crops are complete
    return {"frames": len(df), "valid": int(df["valid"].sum()), "problem": df.attrs.get("problem", "")}


def infer_affect_unit(job: dict[str, Any]) -> dict[str, Any]:
    """Inference unit (one GPU): estimate V/A for one video's pending crops, write its frame table."""
    from eifer.config import FramesConfig
    from eifer.frames.analyzer import FaceAnalyzer
    from eifer.frames.extract import quality_provisional

    key = job["key"]
    try:
        est = _estimator(job["affect_cfg"], job["device"])
        table, crops_path = pending_paths(job["out"], est.input_size)
        df = pd.read_parquet(table)
        rows = np.flatnonzero(df["crop_index"].to_numpy() >= 0)
        rows = rows[np.argsort(df["crop_index"].to_numpy()[rows])]
        s = est.input_size
        n_bytes = os.path.getsize(crops_path)
        if n_bytes != len(rows) * s * s * 3:
            raise EiferError(f"{crops_path}: {n_bytes} bytes, expected {len(rows)} crops of {s}x{s}x3")
        crops = (np.memmap(crops_path, np.uint8, mode="r", shape=(len(rows), s, s, 3)) if len(rows)
                 else np.zeros((0, s, s, 3), np.uint8))
        va = infer_affect_batched(crops, est, job["device"], job["batch_size"])
        del crops
    except EiferError as exc:
        return {"key": key, "ok": False, "error": str(exc)}
    # as extract_video fills them for the in-stream path, then the same provisional rule
    e = np.full((len(df), 2), np.nan)
    e[rows] = va
    df = df.drop(columns="crop_index")
    df["est_valence"], df["est_arousal"] = e[:, 0], e[:, 1]
    df["affect_source"] = est.key
    fc = FramesConfig.model_validate(job["frames_cfg"])
    df = quality_provisional(df, FaceAnalyzer.from_config(fc), fc.ear_threshold)
    write_parquet(job["out"], df)
    table.unlink()
    crops_path.unlink()
    for d in (table.parent, table.parent.parent):  # tidy: the pending folders go when empty
        try:
            d.rmdir()
        except OSError:
            break
    return {"key": key, "ok": True, "frames": len(df), "valid": int(df["valid"].sum())}


def run_frames_batched(jobs: list[dict[str, Any]], n_jobs: int = 0) -> list[dict[str, Any]]:
    """Run the frames-stage ``jobs`` (as built by :func:`eifer.frames.run_frames`) on the batched path.

    Frame units run like the in-stream ones (``frames.n_jobs`` at once); inference
    units ask for one GPU each: under the ``ray`` executor N GPUs run N videos
    at once, locally they run one by one in this process (one GPU).

    Returns
    -------
    list of dict
        In job order, shaped like the in-stream path's results (``key``, ``ok``,
        ``frames``, ``valid`` or ``error``).
    """
    from eifer.config import AffectConfig
    from eifer.frames.parallel import run_jobs
    from eifer.parallel import Resources, get_executor, map_units
    from eifer.utils import n_workers

    if not jobs:
        return []
    cfg = AffectConfig.model_validate(jobs[0]["affect_cfg"])
    size = _estimator(jobs[0]["affect_cfg"], "cpu").input_size
    device = inference_device(cfg)
    gpu = device.startswith("cuda")
    on_ray = get_executor().kind == "ray"
    results: dict[str, dict[str, Any]] = {}
    wave = _WAVE_PER_WORKER * n_workers(n_jobs)
    for w in range(0, len(jobs), wave):
        part = jobs[w:w + wave]
        todo = [j for j in part if not _pending_ready(j, size)]  # resume: crops already cut
        for r in run_jobs(frames_crops_unit, todo, n_jobs, desc="frames"):
            results[r["key"]] = r
        infer = [{**j, "device": device, "batch_size": cfg.batch_size} for j in part
                 if results.get(j["key"], {"ok": True})["ok"]]
        res = Resources(cpus=1, gpus=1) if gpu else Resources(cpus=1)
        workers = (0 if on_ray else 1) if gpu else n_jobs
        for r in map_units(infer_affect_unit, infer, resources=res, workers=workers, desc="affect inference"):
            results[r["key"]] = r
    return [results[j["key"]] for j in jobs]
