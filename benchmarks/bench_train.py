"""Training throughput: the real data pipeline vs the same model on in-memory tensors.

    .venv/bin/python benchmarks/bench_train.py                # demo size (12 participants, 40 frames/video, 64 px)
    .venv/bin/python benchmarks/bench_train.py --no-cache --workers 2

The real pipeline is what the trainer runs: CropDataset (PNG decode or the
in-memory cache, per ``train.cache_images``), DataLoader, uint8 -> float,
augmentation and ImageNet normalisation, then a stage-2 step. The reference
feeds pre-normalised float tensors straight to the same step. The ratio
(pipeline / in-memory) says whether decoding starves the model (target >= 0.9).
Runs alternate A/B and the best of each is reported, which damps the noise of
a shared machine.
"""
from __future__ import annotations

import argparse
import tempfile
import time

import torch

from eifer.config import load_config
from eifer.model import create_model
from eifer.train.images import CropDataset, augment_batch, make_loader, normalize_batch
from eifer.train.loop import loss_dual, train_epoch
from eifer.train.schedule import apply_schedule, make_optimizer, stage_schedule
from eifer.train.toy import make_toy_run


def _sched(cfg, steps):
    return stage_schedule(2, steps, 1, warmup_epochs=1, backbone_lr_start=cfg.backbone_lr_start,
                          backbone_lr_peak=cfg.backbone_lr_peak)


def pipeline_epoch(ds: CropDataset, cfg, seed: int) -> float:
    """Images/s of one stage-2 epoch through the real loader + augmentation."""
    torch.manual_seed(0)
    model = create_model(cfg.backbone)
    opt = make_optimizer(model, 2, head_lr=cfg.head_lr, backbone_lr_peak=cfg.backbone_lr_peak,
                         weight_decay=cfg.weight_decay)
    loader = make_loader(ds, cfg.batch_size, shuffle=True, seed=seed, num_workers=cfg.num_workers)
    aug = {"p": cfg.aug_p, "brightness": tuple(cfg.brightness), "blur_sigma": tuple(cfg.blur_sigma)}
    t0 = time.perf_counter()
    train_epoch(model, loader, opt, stage=2, sched=_sched(cfg, len(loader)), step=0, device="cpu", pos_weight=1.0,
                regression_weight=cfg.regression_weight, grad_clip=cfg.grad_clip, aug=aug,
                gen=torch.Generator().manual_seed(seed))
    return len(ds) / (time.perf_counter() - t0)


def memory_epoch(x: torch.Tensor, y: torch.Tensor, t: torch.Tensor, cfg, seed: int, aug: bool = False) -> float:
    """Images/s of the same step on in-memory tensors: no decode, no loader (``aug``: with the augmentation).

    ``x`` is pre-normalised, or in [0, 1] when ``aug`` (augmented and normalised per batch).
    """
    torch.manual_seed(0)
    model = create_model(cfg.backbone)
    model.train()
    opt = make_optimizer(model, 2, head_lr=cfg.head_lr, backbone_lr_peak=cfg.backbone_lr_peak,
                         weight_decay=cfg.weight_decay)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    bs = cfg.batch_size
    steps = -(-len(x) // bs)
    sched = _sched(cfg, steps)
    params = [p for g in opt.param_groups for p in g["params"]]
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for s in range(steps):
        idx = perm[s * bs:(s + 1) * bs]
        apply_schedule(opt, s, sched)
        xb = x[idx]
        if aug:
            xb = normalize_batch(augment_batch(xb, gen, cfg.aug_p, tuple(cfg.brightness), tuple(cfg.blur_sigma),
                                               inplace=True), inplace=True)
        logit, reg = model(xb)
        loss = loss_dual(logit, reg, y[idx], t[idx], 1.0, cfg.regression_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
    return len(x) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--participants", type=int, default=12)
    ap.add_argument("--frames", type=int, default=40, help="selected frames per video")
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--no-cache", action="store_true", help="decode PNGs every epoch (DataLoader workers)")
    ap.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: config)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    over = {"train": {"cache_images": not a.no_cache} | ({"num_workers": a.workers} if a.workers is not None else {})}
    cfg = load_config(profile=a.profile, overrides=over).train
    if a.threads:
        torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        make_toy_run(tmp, participants=a.participants, frames_per_video=a.frames, n_test_frames=1)
        import pandas as pd

        df = pd.read_parquet(f"{tmp}/dataset.parquet")
        t0 = time.perf_counter()
        ds = CropDataset(tmp, df, "valence", cfg.image_size, cache=cfg.cache_images)
        setup = time.perf_counter() - t0
        full = CropDataset(tmp, df, "valence", cfg.image_size, cache=True)
        raw = full.__getitems__(list(range(len(full))))["image"].float().div_(255.0)
        x = normalize_batch(raw)
        y, t = full.labels, full.targets
        pipe, mem, mem_aug = [], [], []
        for r in range(a.rounds):
            pipe.append(pipeline_epoch(ds, cfg, r))
            mem.append(memory_epoch(x, y, t, cfg, r))
            mem_aug.append(memory_epoch(raw, y, t, cfg, r, aug=True))
    p, m, ma = max(pipe), max(mem), max(mem_aug)
    print(f"backbone {cfg.backbone}, {cfg.image_size} px, batch {cfg.batch_size}, {len(df)} images, "
          f"cache {'on' if cfg.cache_images else 'off'} (setup {setup:.1f} s), workers {cfg.num_workers}, "
          f"torch threads {torch.get_num_threads()}")
    print(f"real data pipeline : {p:8.1f} images/s   (rounds: {', '.join(f'{v:.0f}' for v in pipe)})")
    print(f"in-memory tensors  : {m:8.1f} images/s   (rounds: {', '.join(f'{v:.0f}' for v in mem)})")
    print(f"in-memory + augment: {ma:8.1f} images/s   (rounds: {', '.join(f'{v:.0f}' for v in mem_aug)})")
    print(f"ratio pipeline / in-memory: {p / m:.3f}  (target >= 0.9)")
    print(f"ratio pipeline / in-memory with the same augmentation: {p / ma:.3f}  (cost of decoding + loading)")


if __name__ == "__main__":
    main()
