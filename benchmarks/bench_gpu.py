"""GPU path of the paper profile: training images/s (real loader vs in-memory) and learned-estimator frames/s.

    python benchmarks/bench_gpu.py                       # paper: EfficientNetV2-L, 224 px, batch 32, CUDA if present
    python benchmarks/bench_gpu.py --quick --device cpu  # tiny sizes: checks the script on a CPU (a few minutes)

Training (paper profile; timm EfficientNetV2-L from random weights, nothing
downloaded; bf16 autocast and channels_last on CUDA, fp32 on CPU, exactly as
:func:`eifer.train.loop.train_epoch` runs them):

* **real pipeline**: a synthetic crop set (``eifer.train.toy.make_toy_run``: PNG crops at
  ``select.crop_size``) through ``CropDataset`` + ``make_loader`` (DataLoader
  workers per ``train.num_workers``, pinned memory on CUDA), augmentation and
  normalisation on the device, a stage-2 step;
* **in-memory**: the same ``train_epoch`` on batches already on the device
  (uint8, same augmentation): no decode, no loader, no host-to-device copy.

The ratio says whether loading starves the GPU (target >= 0.9).

Learned-estimator inference (``eifer.affect`` timm estimator on the same
architecture, random weights saved to a temporary file): frames/s **per frame**
(batch 1, a model call per crop) vs **batched**
(:func:`eifer.affect.batched.infer_affect_batched`, ``--infer-batch`` crops per call).

The device is chosen as the trainer chooses it (:func:`eifer.utils.pick_device`
on ``train.device``: CUDA when present). Rounds alternate A/B; the best of each
is printed, with all rounds.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _rounds(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _setup(cfg, device: str):
    from eifer.model import create_model
    from eifer.train.schedule import make_optimizer

    torch.manual_seed(0)
    model = create_model(cfg.backbone).to(device)
    if device.startswith("cuda"):
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(model, 2, head_lr=cfg.head_lr, backbone_lr_peak=cfg.backbone_lr_peak,
                         weight_decay=cfg.weight_decay)
    return model, opt


def train_images_per_s(cfg, batches, n_images: int, device: str, seed: int) -> float:
    """Images/s of one stage-2 epoch of :func:`eifer.train.loop.train_epoch` over ``batches`` (a loader or a list)."""
    from eifer.train.loop import train_epoch
    from eifer.train.schedule import stage_schedule

    model, opt = _setup(cfg, device)
    aug = {"p": cfg.aug_p, "brightness": tuple(cfg.brightness), "blur_sigma": tuple(cfg.blur_sigma)}
    steps = len(batches)
    sched = stage_schedule(2, steps + 1, 1, warmup_epochs=1, backbone_lr_start=cfg.backbone_lr_start,
                           backbone_lr_peak=cfg.backbone_lr_peak)
    kw = {"stage": 2, "sched": sched, "device": device, "pos_weight": 1.0,
          "regression_weight": cfg.regression_weight, "grad_clip": cfg.grad_clip, "aug": aug}
    warm = [next(iter(batches))]  # cudnn autotuning, lazy CUDA init, allocator: outside the timing
    train_epoch(model, warm, opt, step=0, gen=torch.Generator().manual_seed(seed), **kw)
    _sync(device)
    t0 = time.perf_counter()
    train_epoch(model, batches, opt, step=1, gen=torch.Generator().manual_seed(seed), **kw)
    _sync(device)
    return n_images / (time.perf_counter() - t0)


def bench_train(a, device: str, tmp: Path) -> dict[str, list[float]]:
    import pandas as pd

    from eifer.config import load_config
    from eifer.train.images import CropDataset, make_loader
    from eifer.train.toy import make_toy_run

    over = {"train": {"backbone": a.backbone, "image_size": a.image_size, "batch_size": a.batch,
                      "cache_images": False} | ({"num_workers": a.workers} if a.workers is not None else {})}
    full = load_config(profile="paper", overrides=over)
    cfg = full.train
    make_toy_run(tmp, participants=a.participants, frames_per_video=a.frames, n_test_frames=1,
            size=a.crop_size or full.select.crop_size)
    df = pd.read_parquet(tmp / "dataset.parquet")
    ds = CropDataset(tmp, df, "valence", cfg.image_size, cache=False)
    cached = CropDataset(tmp, df, "valence", cfg.image_size, cache=True)
    bs = cfg.batch_size
    order = torch.randperm(len(cached), generator=torch.Generator().manual_seed(0)).tolist()
    mem = [{k: v.to(device) for k, v in cached.__getitems__(order[i:i + bs]).items()}
           for i in range(0, len(order), bs)]
    print(f"training: {cfg.backbone}, {cfg.image_size} px, batch {bs}, {len(df)} images "
          f"(crops {a.crop_size or full.select.crop_size} px on disk), DataLoader workers {cfg.num_workers}, "
          f"{'bf16 autocast + channels_last' if device.startswith('cuda') else 'fp32'}")
    out: dict[str, list[float]] = {"pipeline": [], "memory": []}
    for r in range(a.rounds):
        loader = make_loader(ds, bs, shuffle=True, seed=r, num_workers=cfg.num_workers, device=device)
        out["pipeline"].append(train_images_per_s(cfg, loader, len(ds), device, r))
        out["memory"].append(train_images_per_s(cfg, mem, len(ds), device, r))
    return out


def bench_infer(a, device: str, tmp: Path) -> dict[str, list[float]]:
    import timm
    from safetensors.torch import save_file

    from eifer.affect import create_estimator
    from eifer.affect.batched import infer_affect_batched

    torch.manual_seed(0)
    path = tmp / "va.safetensors"
    save_file(timm.create_model(a.backbone, pretrained=False, num_classes=10).state_dict(), str(path))
    est = create_estimator("timm", path=path, arch=a.backbone, num_outputs=10, input_size=a.image_size,
                           device=device)
    crops = np.random.default_rng(0).integers(0, 256, (a.infer_frames, a.image_size, a.image_size, 3), np.uint8)
    n1 = max(1, a.infer_frames // 8)  # per frame is slow: fewer frames
    infer_affect_batched(crops[:2], est, device, 2)  # warm-up
    print(f"inference: timm {a.backbone} estimator, {a.image_size} px, fp32, {a.infer_frames} crops batched "
          f"by {a.infer_batch}, {n1} crops one by one")
    out: dict[str, list[float]] = {"per_frame": [], "batched": []}
    for _ in range(a.rounds):
        t0 = time.perf_counter()
        for i in range(n1):
            est.predict(crops[i:i + 1])
        out["per_frame"].append(n1 / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        infer_affect_batched(crops, est, device, a.infer_batch)
        out["batched"].append(a.infer_frames / (time.perf_counter() - t0))
    return out


def main() -> None:
    from eifer.config import load_config
    from eifer.utils import pick_device

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default=None, help="auto | cpu | cuda (default: train.device of the paper profile)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (64 px, a few images): checks the script")
    ap.add_argument("--backbone", default=None, help="timm name (default: the paper's tf_efficientnetv2_l)")
    ap.add_argument("--image-size", type=int, default=None)
    ap.add_argument("--batch", type=int, default=None, help="training batch (default: the paper's 32)")
    ap.add_argument("--participants", type=int, default=None)
    ap.add_argument("--frames", type=int, default=None, help="selected frames per video in the toy set")
    ap.add_argument("--crop-size", type=int, default=None, help="crop side on disk (default select.crop_size)")
    ap.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: train.num_workers)")
    ap.add_argument("--infer-frames", type=int, default=None)
    ap.add_argument("--infer-batch", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (default: torch's choice; 1 on a shared, loaded machine)")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--skip-infer", action="store_true")
    a = ap.parse_args()
    paper = load_config(profile="paper")
    quick = {"image_size": 64, "batch": 8, "participants": 1, "frames": 8, "crop_size": 72, "infer_frames": 32,
             "infer_batch": 16, "rounds": 1}
    full = {"image_size": paper.train.image_size, "batch": paper.train.batch_size, "participants": 12,
            "frames": 40, "crop_size": None, "infer_frames": 2048, "infer_batch": 256, "rounds": 3}
    for k, v in (quick if a.quick else full).items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    a.backbone = a.backbone or paper.train.backbone
    if a.threads:
        torch.set_num_threads(a.threads)
    device = pick_device(a.device or paper.train.device)
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(device)
    else:
        name = f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {device} ({name}); torch {torch.__version__}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if not a.skip_train:
            r = bench_train(a, device, Path(tmp) / "train")
            p, m = max(r["pipeline"]), max(r["memory"])
            print(f"  real loader + train loop: {p:9.1f} images/s  (rounds: {_rounds(r['pipeline'])})")
            print(f"  in-memory tensors       : {m:9.1f} images/s  (rounds: {_rounds(r['memory'])})")
            print(f"  ratio loader / in-memory: {p / m:.3f}  (target >= 0.9)")
        if not a.skip_infer:
            r = bench_infer(a, device, Path(tmp))
            one, bat = max(r["per_frame"]), max(r["batched"])
            print(f"  per frame (batch 1)     : {one:9.1f} frames/s  (rounds: {_rounds(r['per_frame'])})")
            print(f"  batched ({a.infer_batch:>4})          : {bat:9.1f} frames/s  (rounds: {_rounds(r['batched'])})")
            print(f"  ratio batched / per frame: {bat / one:.2f}")


if __name__ == "__main__":
    main()
