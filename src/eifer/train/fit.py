"""Two-stage fine-tuning of one model with per-epoch checkpoints (paper §3.3).

Stage 1: backbone frozen, heads trained for ``stage1_epochs``. Stage 2: all
weights, backbone and head groups on the warm-up + cosine schedule, for
``stage2_epochs``. After every epoch the model, optimiser and history are
written atomically to ``<ckpt_dir>/checkpoint.safetensors``; a restarted fit
continues from the last finished epoch. Checkpoints hold no pickle: tensors go
into a safetensors file and everything else (optimiser hyper-parameters,
history) into JSON in its header, so a checkpoint swapped in a shared run
folder cannot run code when a fit resumes. Every epoch draws its shuffling and augmentation
from ``epoch_seed(seed, epoch)``, so on CPU an interrupted-and-resumed fit
ends with exactly the weights of an uninterrupted one.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from eifer.config import DEFAULTS
from eifer.errors import EiferError
from eifer.evaluate.metrics import metrics_binary
from eifer.io import atomic_path
from eifer.model import DualHeadModel
from eifer.train.images import CropDataset, make_loader
from eifer.train.loop import pos_weight_of, predict, train_epoch
from eifer.train.schedule import make_optimizer, stage_schedule
from eifer.train.threshold import select_threshold
from eifer.utils import pick_device, progress

_T = DEFAULTS.train


@dataclass(frozen=True)
class TrainSettings:
    """The training settings as plain values (``train`` section, paper §3.3; defaults: the paper profile).

    What :func:`fit_two_stage` and :func:`eifer.train.core.train_all` read; the
    train stage builds one from ``run.config`` (:func:`eifer.train.stage.train_settings`),
    a notebook may write its own. ``gpus_per_train_unit`` is ``executor.gpus_per_train_unit``.

    Examples
    --------
    >>> s = TrainSettings(backbone="eifer_tinycnn", repetitions=2, tasks=["arousal"])
    >>> s.tasks, s.stage1_epochs, s.threshold_grid
    (('arousal',), 4, (0.2, 0.8, 0.01))
    """

    backbone: str = _T.backbone
    pretrained_path: str | None = _T.pretrained_path
    image_size: int = _T.image_size
    batch_size: int = _T.batch_size
    stage1_epochs: int = _T.stage1_epochs
    stage2_epochs: int = _T.stage2_epochs
    warmup_epochs: int = _T.warmup_epochs
    head_lr: float = _T.head_lr
    backbone_lr_start: float = _T.backbone_lr_start
    backbone_lr_peak: float = _T.backbone_lr_peak
    weight_decay: float = _T.weight_decay
    grad_clip: float = _T.grad_clip
    regression_weight: float = _T.regression_weight
    pos_weight_mode: str = _T.pos_weight_mode
    aug_p: float = _T.aug_p
    brightness: tuple[float, float] = _T.brightness
    blur_sigma: tuple[float, float] = _T.blur_sigma
    threshold_grid: tuple[float, float, float] = _T.threshold_grid
    repetitions: int = _T.repetitions
    compositions: tuple[str, ...] = tuple(_T.compositions)
    tasks: tuple[str, ...] = tuple(_T.tasks)
    num_workers: int = _T.num_workers
    cache_images: bool = _T.cache_images
    device: str = _T.device
    stage1_schedule: str = _T.stage1_schedule
    allow_random_init: bool = _T.allow_random_init
    n_jobs: int = _T.n_jobs
    gpus_per_train_unit: float = DEFAULTS.executor.gpus_per_train_unit

    def __post_init__(self) -> None:  # sequences given as lists become tuples: the settings stay immutable
        for name in ("brightness", "blur_sigma", "threshold_grid", "compositions", "tasks"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass
class FitResult:
    """Outcome of :func:`fit_two_stage`."""

    model: DualHeadModel
    history: list[dict[str, Any]] = field(default_factory=list)
    val_prob: np.ndarray | None = None
    pos_weight: float = 1.0


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of one epoch's shuffling and augmentation."""
    return (int(seed) * 1_000_003 + 7919 * (epoch + 1)) % (2**63)


CHECKPOINT = "checkpoint.safetensors"


def _ckpt_encode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    # Every container is tagged, so decoding restores int dict keys (optimiser
    # state), tuples (betas) and numpy arrays exactly.
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().to("cpu").contiguous().clone()
        return {"t": key}
    if isinstance(obj, np.ndarray):
        key = f"t{len(tensors)}"
        tensors[key] = torch.from_numpy(np.ascontiguousarray(obj)).clone()
        return {"n": key}
    if isinstance(obj, dict):
        return {"d": [[_ckpt_encode(k, tensors), _ckpt_encode(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"l" if isinstance(obj, list) else "u": [_ckpt_encode(v, tensors) for v in obj]}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"checkpoint: cannot store a {type(obj).__name__}")


def _ckpt_decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if not isinstance(obj, dict):
        return obj
    (tag, val), = obj.items()
    if tag == "t":
        return tensors[val]
    if tag == "n":
        return tensors[val].numpy()
    if tag == "d":
        return {_ckpt_decode(k, tensors): _ckpt_decode(v, tensors) for k, v in val}
    items = [_ckpt_decode(v, tensors) for v in val]
    return items if tag == "l" else tuple(items)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (nested dicts/lists of tensors, arrays and plain values) to a safetensors file.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / CHECKPOINT
    >>> save_checkpoint(p, {"epoch_done": 2, "state": {0: {"step": torch.tensor(3.0)}}, "betas": (0.9, 0.99)})
    >>> back = load_checkpoint(p)
    >>> back["epoch_done"], back["state"][0]["step"].item(), back["betas"]
    (2, 3.0, (0.9, 0.99))
    """
    tensors: dict[str, torch.Tensor] = {}
    meta = json.dumps(_ckpt_encode(state, tensors))
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"eifer_checkpoint": meta})


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The state :func:`save_checkpoint` wrote, or None when ``path`` does not exist.

    Only safetensors data and JSON are parsed, never a pickle: a file that is
    not an eifer checkpoint is refused with :class:`EiferError`.
    """
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            meta = (fh.metadata() or {})["eifer_checkpoint"]
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        return _ckpt_decode(json.loads(meta), tensors)
    except Exception as e:  # any parse failure means: not a checkpoint eifer wrote
        raise EiferError(f"{path}: not a checkpoint written by eifer ({type(e).__name__}: {e}); eifer loads "
                         "only safetensors checkpoints, never pickles. Delete the file to restart this fit "
                         "from its first epoch.") from None


def checkpoint_incomplete(path: Path) -> str | None:
    """Why ``path`` is a checkpoint whose write never completed, or None (absent, whole, or damaged otherwise).

    Checkpoints are renamed into place only after they are written, but the
    rename may reach the disk before the data do (a crash or power loss
    before the file system flushed them), and a run folder copied by a copy
    that stopped holds files cut short. A safetensors file starts with its
    header's length and the header gives every tensor's byte range, so "cut
    short" is exact: the file is shorter than its own header says. Anything
    else (a whole file with the wrong tensors, a pickle, another format) is
    not incomplete and stays an error for :func:`load_checkpoint`.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / CHECKPOINT
    >>> save_checkpoint(p, {"epoch_done": 1, "w": torch.zeros(64)})
    >>> checkpoint_incomplete(p) is None
    True
    >>> _ = p.write_bytes(p.read_bytes()[:-8])
    >>> checkpoint_incomplete(p).split(":")[0]
    'tensor data cut short'
    """
    if not path.is_file():
        return None
    size = path.stat().st_size
    if size == 0:
        return "empty file"
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            return f"header length cut short: {size} bytes"
        n = int.from_bytes(head, "little")
        if n > size - 8:
            return f"header cut short: {size} of {8 + n} bytes" if n < (1 << 27) else None  # 128 MiB: not ours
        try:
            header = json.loads(fh.read(n))
            ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return None  # whole but not a safetensors header: load_checkpoint names it
    need = 8 + n + max(ends, default=0)
    return f"tensor data cut short: {size} of {need} bytes" if size < need else None


def restart_if_incomplete(ckpt: Path, *, log_root: str | Path, unit: str) -> bool:
    """Delete a checkpoint cut short (:func:`checkpoint_incomplete`) so its unit starts again; log it.

    The event ``checkpoint_restarted`` (unit, file, reason) goes to
    ``log_root/log.jsonl``. Returns True when a checkpoint was discarded.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / CHECKPOINT).write_bytes(b"")
    >>> restart_if_incomplete(d / CHECKPOINT, log_root=d, unit="u1"), (d / CHECKPOINT).exists()
    (True, False)
    >>> json.loads((d / "log.jsonl").read_text())["reason"]
    'empty file'
    """
    why = checkpoint_incomplete(ckpt)
    if why is None:
        return False
    ckpt.unlink()
    from eifer.runfolder import append_log

    append_log(log_root, "checkpoint_restarted", unit=unit, file=str(ckpt), reason=why,
               note="the checkpoint was never completed; the unit restarts from its first epoch")
    return True


def restore_model(model: torch.nn.Module, state: dict[str, Any], ckpt: Path) -> None:
    """Load a checkpoint's weights into ``model``; a checkpoint of another model is an :class:`EiferError`."""
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError, TypeError, AttributeError) as e:
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise EiferError(f"{ckpt}: checkpoint does not fit this model ({first}); it was written by another "
                         "backbone or edited. Delete the file to restart this fit from its first epoch.") from None


def _aug(cfg: TrainSettings) -> dict[str, Any]:
    return {"p": cfg.aug_p, "brightness": tuple(cfg.brightness), "blur_sigma": tuple(cfg.blur_sigma)}


@dataclass(frozen=True)
class Phase:
    """One phase of a phased fine-tuning: ``epochs`` epochs under one optimizer and one LR schedule.

    Two-stage fine-tuning (paper §3.3) is two phases; gradual unfreezing (§3.5)
    is one phase per unfreezing step. ``key`` is recorded in the checkpoint: a
    resumed fit restores the optimizer state only into the phase it was saved in.
    """

    key: int
    name: str
    epochs: int
    stage: int  # 1: heads only (backbone frozen, in eval mode); 2: the backbone trains too
    make_optimizer: Callable[[], torch.optim.Optimizer]
    schedule: Callable[[int], dict]  # steps per epoch -> the phase's stage_schedule


def fit_phases(model: DualHeadModel, train_ds: CropDataset, phases: list[Phase], *, batch_size: int,
               num_workers: int, pos_weight: float, regression_weight: float, grad_clip: float,
               aug: dict[str, Any] | None, seed: int, device: str, label: str, ckpt: Path | None, ckpt_key: str,
               history: list[dict[str, Any]], resume: dict[str, Any] | None,
               on_epoch: Callable[[int, Phase, int, float, torch.optim.Optimizer], str],
               ckpt_extra: Callable[[], dict[str, Any]] = dict,
               batch_text: Callable[[Phase, int, float], str] | None = None) -> None:
    """The one resumable epoch loop of every fine-tuning: phases, per-epoch seeds, checkpoints.

    Epoch ``g`` (counted over all phases) draws its shuffling and augmentation
    from ``epoch_seed(seed, g)``. After every epoch ``on_epoch(g, phase, e, loss,
    optimizer)`` validates and records (appending to ``history``) and returns
    the progress text; then ``{"epoch_done", ckpt_key: phase.key, "model",
    "optimizer", "history", **ckpt_extra()}`` is written to ``ckpt``.
    ``resume`` is a loaded checkpoint (its model weights already in ``model``):
    the loop starts after its last finished epoch.
    """
    epochs = [(pi, e) for pi, ph in enumerate(phases) for e in range(ph.epochs)]
    start = resume["epoch_done"] if resume is not None else 0
    steps = -(-len(train_ds) // batch_size)
    optimizer: torch.optim.Optimizer | None = None
    current = None
    with progress() as bar:
        task = bar.add_task(label, total=len(epochs) * steps, completed=start * steps)
        for gi in range(start, len(epochs)):
            pi, e = epochs[gi]
            phase = phases[pi]
            if current != pi:
                optimizer, current = phase.make_optimizer(), pi
                if resume is not None and resume.get(ckpt_key) == phase.key:
                    optimizer.load_state_dict(resume["optimizer"])
            assert optimizer is not None  # made above on the first epoch of every phase
            sched = phase.schedule(steps)
            es = epoch_seed(seed, gi)
            torch.manual_seed(es)
            loader = make_loader(train_ds, batch_size, shuffle=True, seed=es, num_workers=num_workers, device=device)
            gen = torch.Generator().manual_seed(es)

            def _tick(loss: float, lrs: dict[str, float]) -> None:
                # called only within this epoch's iteration, so the loop variables are the current ones
                if batch_text is None:
                    bar.advance(task)
                else:
                    bar.update(task, advance=1, description=batch_text(phase, e, loss))  # noqa: B023

            loss, _ = train_epoch(model, loader, optimizer, stage=phase.stage, sched=sched, step=e * steps,
                                  device=device, pos_weight=pos_weight, regression_weight=regression_weight,
                                  grad_clip=grad_clip, aug=aug, gen=gen, on_batch=_tick)
            bar.update(task, description=on_epoch(gi, phase, e, loss, optimizer))
            if ckpt is not None:
                save_checkpoint(ckpt, {"epoch_done": gi + 1, ckpt_key: phase.key, "model": model.state_dict(),
                                       "optimizer": optimizer.state_dict(), "history": history, **ckpt_extra()})


def fit_two_stage(model: DualHeadModel, train_ds: CropDataset, val_ds: CropDataset, cfg: TrainSettings, *,
                  seed: int, ckpt_dir: str | Path | None = None, device: str = DEFAULTS.train.device,
                  label: str = "fit") -> FitResult:
    """Train ``model`` with the two-stage protocol; resume from ``ckpt_dir`` when a checkpoint exists.

    Parameters
    ----------
    model : DualHeadModel
        Initial weights (random, pretrained or an EI-specific model for transfer).
    train_ds, val_ds : CropDataset
        Training and validation crops of one task.
    cfg : TrainSettings
        Epochs, learning rates, batch size, augmentation, clipping, loss weights.
    seed : int
        Seed of the run (shuffling, augmentation, any dropout).
    ckpt_dir : path-like, optional
        Folder for ``checkpoint.safetensors``; no checkpoints when None.
    device : str
        ``"cpu"`` (fp32) or ``"cuda"`` (bf16 autocast, channels_last); ``"auto"`` picks CUDA when present.
    label : str
        Progress-bar title.

    Returns
    -------
    FitResult
        Trained model (on ``device``), per-epoch history (loss, lrs, validation
        ROC-AUC and best macro F1), validation probabilities of the final model.

    Examples
    --------
    >>> res = fit_two_stage(create_model("eifer_tinycnn"), tr, va, TrainSettings(), seed=1)  # doctest: +SKIP
    """
    ckpt = Path(ckpt_dir) / CHECKPOINT if ckpt_dir is not None else None
    device = pick_device(device)
    model.to(device)
    if device.startswith("cuda"):
        model.to(memory_format=torch.channels_last)
    pos_weight = pos_weight_of(train_ds.labels.numpy(), cfg.pos_weight_mode)
    history: list[dict[str, Any]] = []
    state = load_checkpoint(ckpt) if ckpt is not None else None
    if state is not None:
        restore_model(model, state, ckpt)  # type: ignore[arg-type]  # state is None when ckpt is None
        history = state["history"]
    val_loader = make_loader(val_ds, cfg.batch_size * 2, shuffle=False, num_workers=cfg.num_workers, device=device)
    yv = val_ds.labels.numpy()
    last: dict[str, Any] = {"val_prob": None}

    def phase(stage: int, n_epochs: int) -> Phase:
        return Phase(stage, f"stage{stage}", n_epochs, stage,
                     lambda: make_optimizer(model, stage, head_lr=cfg.head_lr, backbone_lr_peak=cfg.backbone_lr_peak,
                                            weight_decay=cfg.weight_decay),
                     lambda steps: stage_schedule(stage, steps, n_epochs, warmup_epochs=cfg.warmup_epochs,
                                                  backbone_lr_start=cfg.backbone_lr_start,
                                                  backbone_lr_peak=cfg.backbone_lr_peak,
                                                  stage1_schedule=cfg.stage1_schedule))

    def on_epoch(gi: int, ph: Phase, e: int, loss: float, optimizer: torch.optim.Optimizer) -> str:
        val_prob, _ = predict(model, val_loader, device)
        last["val_prob"] = val_prob
        m = metrics_binary(yv, val_prob, (val_prob >= 0.5).astype(int))
        _, f1 = select_threshold(yv, val_prob, cfg.threshold_grid)
        history.append({"epoch": gi + 1, "stage": ph.stage, "train_loss": loss, "val_roc_auc": m["roc_auc"],
                        "val_best_f1": f1, "lr": {g["name"]: g["lr"] for g in optimizer.param_groups}})
        return f"{label} s{ph.stage} e{e + 1}/{ph.epochs} loss {loss:.3f} val AUC {m['roc_auc']:.3f} F1 {f1:.3f}"

    fit_phases(model, train_ds, [phase(1, cfg.stage1_epochs), phase(2, cfg.stage2_epochs)],
               batch_size=cfg.batch_size, num_workers=cfg.num_workers, pos_weight=pos_weight,
               regression_weight=cfg.regression_weight, grad_clip=cfg.grad_clip,
               aug=_aug(cfg) if cfg.aug_p > 0 else None, seed=seed, device=device, label=label, ckpt=ckpt,
               ckpt_key="stage", history=history, resume=state, on_epoch=on_epoch,
               batch_text=lambda ph, e, loss: f"{label} s{ph.stage} e{e + 1}/{ph.epochs} loss {loss:.3f}")
    val_prob = last["val_prob"]
    if val_prob is None:  # resumed after the last epoch had finished
        val_prob, _ = predict(model, val_loader, device)
    return FitResult(model=model, history=history, val_prob=val_prob, pos_weight=pos_weight)
