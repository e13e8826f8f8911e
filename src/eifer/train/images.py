"""Face crops as training batches: decode, resize, augment, normalise.

Decoding (PNG -> uint8 RGB at the model's input size) happens in the
:class:`CropDataset`, in DataLoader worker processes or once up front into an
in-memory cache. Augmentation and ImageNet normalisation run on whole batches
on the training device (:func:`augment_batch`, :func:`normalize_batch`), so a
GPU does them for free and the CPU decoders only decode. Augmentation draws
from an explicit ``torch.Generator``, which makes an epoch reproducible from
its seed alone (what resume-after-crash relies on).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from eifer.config import DEFAULTS
from eifer.errors import EiferError
from eifer.utils import pick_device

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def read_crop(path: str | Path, size: int) -> np.ndarray:
    """Read one crop as RGB uint8 ``(size, size, 3)``; a clear error if unreadable."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise EiferError(f"{path}: face crop missing or not a readable image")
    if img.shape[0] != size or img.shape[1] != size:
        interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
        img = cv2.resize(img, (size, size), interpolation=interp)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


class CropDataset(Dataset):
    """Selected face crops with a task's binary label and continuous estimate.

    Parameters
    ----------
    root : path-like
        Folder the ``crop_path`` column is relative to (the run folder).
    table : DataFrame
        Rows with ``crop_path``, the label column and the estimate column.
    task : {"arousal", "valence"}
        Label column ``<task>_label``, regression target ``<task>``.
    image_size : int
        Side of the square model input.
    cache : bool
        Decode every crop once (threads) and keep them in memory as one uint8 array.

    Examples
    --------
    >>> ds = CropDataset(run_root, dataset_df, "arousal", 64)  # doctest: +SKIP
    >>> batch = ds.__getitems__([0, 1]); batch["image"].shape  # doctest: +SKIP
    torch.Size([2, 3, 64, 64])
    """

    def __init__(self, root: str | Path, table: pd.DataFrame, task: str, image_size: int, cache: bool = False):
        self.root = Path(root)
        rel = table["crop_path"].astype(str)
        bad = [p for p in rel.unique() if Path(p).is_absolute() or ".." in Path(p).parts]
        if bad:  # the tables are the run's own: a path leaving the run folder was written by someone else
            raise EiferError(f"{self.root}: crop_path {bad[0]!r} ({len(bad)} such) does not lie inside the run "
                             "folder; eifer reads crops only from it. Rerun the select stage (eifer select "
                             "--force).")
        self.paths = [str(self.root / p) for p in rel]
        self.labels = torch.as_tensor(table[f"{task}_label"].to_numpy(np.float32))
        self.targets = torch.as_tensor(table[task].to_numpy(np.float32))
        self.size = int(image_size)
        self.images: np.ndarray | None = None
        if cache:
            self.images = decode_crops(self.paths, self.size)

    def __len__(self) -> int:
        return len(self.paths)

    def _images(self, idx: list[int]) -> np.ndarray:
        if self.images is not None:
            return self.images[idx]
        return np.stack([read_crop(self.paths[i], self.size) for i in idx])

    def __getitems__(self, idx: list[int]) -> dict[str, torch.Tensor]:
        # whole-batch fetch: one stack instead of per-item collation
        idx = list(idx)
        img = torch.from_numpy(self._images(idx)).permute(0, 3, 1, 2).contiguous()
        t = torch.as_tensor(idx)
        return {"image": img, "label": self.labels[t], "target": self.targets[t], "index": t}

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        b = self.__getitems__([i])
        return {k: v[0] for k, v in b.items()}


def decode_crops(paths: list[str], size: int, threads: int = 8) -> np.ndarray:
    """Decode many crops in parallel threads (OpenCV releases the GIL) into one array."""
    out = np.empty((len(paths), size, size, 3), np.uint8)

    def _one(i: int) -> None:
        out[i] = read_crop(paths[i], size)

    with ThreadPoolExecutor(max_workers=threads) as ex:
        list(ex.map(_one, range(len(paths))))
    return out


def _passthrough(batch: Any) -> Any:
    return batch


def make_loader(ds: CropDataset, batch_size: int, *, shuffle: bool, seed: int = 0,
                num_workers: int = DEFAULTS.train.num_workers, device: str = DEFAULTS.train.device,
                drop_last: bool = False) -> DataLoader:
    """DataLoader over whole-batch fetches; seeded shuffling; workers only when not cached.

    Parameters
    ----------
    ds : CropDataset
    batch_size : int
    shuffle : bool
        Shuffle with a generator seeded by ``seed`` (one seed per epoch for resumability).
    seed : int
    num_workers : int
        Decoder processes (ignored when the dataset is cached in memory).
    device : str
        Pinned memory when it is (or ``auto`` picks) CUDA.
    drop_last : bool

    Returns
    -------
    torch.utils.data.DataLoader
    """
    gen = torch.Generator().manual_seed(int(seed) % (2**63))
    workers = 0 if ds.images is not None else int(num_workers)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=gen, num_workers=workers,
                      collate_fn=_passthrough, pin_memory=pick_device(device).startswith("cuda"), drop_last=drop_last,
                      persistent_workers=False, prefetch_factor=4 if workers else None)


def normalize_batch(x: torch.Tensor, inplace: bool = False, scale: float = 1.0) -> torch.Tensor:
    """float NCHW in [0, ``scale``] -> ImageNet-normalised (one multiply-add per pixel)."""
    mean = torch.tensor(IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    a, b = 1.0 / (scale * std), -mean / std
    return x.mul_(a).add_(b) if inplace else x * a + b


def _gaussian_kernels(sigma: torch.Tensor, radius: int) -> torch.Tensor:
    r = torch.arange(-radius, radius + 1, dtype=sigma.dtype, device=sigma.device)
    k = torch.exp(-0.5 * (r[None, :] / sigma[:, None]) ** 2)
    return k / k.sum(1, keepdim=True)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, radius: int) -> torch.Tensor:
    """Blur each image of NCHW ``x`` with its own σ (kernel ``2 radius + 1``, reflected borders).

    CPU: OpenCV per image (a depthwise conv2d is several times slower there);
    CUDA: two grouped 1-D convolutions.
    """
    m, c, h, w = x.shape
    if x.device.type == "cpu":
        a = x.permute(0, 2, 3, 1).contiguous().numpy()
        out = np.empty_like(a)
        for i in range(m):
            out[i] = cv2.GaussianBlur(a[i], (2 * radius + 1, 2 * radius + 1), float(sigma[i]),
                                      borderType=cv2.BORDER_REFLECT_101).reshape(h, w, c)
        return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()
    kk = _gaussian_kernels(sigma.to(x.device, x.dtype), radius).repeat_interleave(c, 0)
    y = torch.nn.functional.pad(x.reshape(1, m * c, h, w), (radius,) * 4, mode="reflect")
    y = torch.nn.functional.conv2d(y, kk.view(m * c, 1, 1, -1), groups=m * c)
    y = torch.nn.functional.conv2d(y, kk.view(m * c, 1, -1, 1), groups=m * c)
    return y.view(m, c, h, w)


def augment_batch(x: torch.Tensor, gen: torch.Generator, p: float = DEFAULTS.train.aug_p,
                  brightness: tuple[float, float] = DEFAULTS.train.brightness,
                  blur_sigma: tuple[float, float] = DEFAULTS.train.blur_sigma, inplace: bool = False) -> torch.Tensor:
    """Paper §3.3 augmentation, each transform applied per image with probability ``p``.

    Random grayscale, brightness × U(lo, hi), Gaussian blur with σ ~ U(lo, hi).
    Random numbers come from ``gen`` (a CPU generator), so the result does not
    depend on the device or on DataLoader workers.

    Parameters
    ----------
    x : Tensor
        float NCHW in [0, 1].
    gen : torch.Generator
        CPU generator.
    p : float
    brightness, blur_sigma : (float, float)
    inplace : bool
        Modify ``x`` instead of a copy (the trainer's own fresh batch).

    Returns
    -------
    Tensor
        Augmented batch, same shape, clipped to [0, 1].

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> augment_batch(torch.rand(4, 3, 16, 16), g).shape
    torch.Size([4, 3, 16, 16])
    """
    n = x.shape[0]
    u = torch.rand(n, 3, generator=gen)
    bright = torch.empty(n).uniform_(brightness[0], brightness[1], generator=gen)
    sigma = torch.empty(n).uniform_(blur_sigma[0], blur_sigma[1], generator=gen)
    dev, dt = x.device, x.dtype
    if not inplace:
        x = x.clone()
    gray_idx = torch.nonzero(u[:, 0] < p).flatten().to(dev)
    if len(gray_idx):
        g = x[gray_idx]
        g = (0.299 * g[:, 0:1] + 0.587 * g[:, 1:2] + 0.114 * g[:, 2:3]).expand(-1, 3, -1, -1)
        x.index_copy_(0, gray_idx, g.contiguous())
    factor = torch.where(u[:, 1] < p, bright, torch.ones(n)).to(dev, dt).view(n, 1, 1, 1)
    x.mul_(factor)
    blur_idx = torch.nonzero(u[:, 2] < p).flatten()
    if len(blur_idx):
        radius = max(1, int(math.ceil(3 * blur_sigma[1])))
        idx = blur_idx.to(dev)
        x.index_copy_(0, idx, gaussian_blur(x[idx], sigma[blur_idx], radius))
    return x.clamp_(0, 1)


def batch_inputs(batch: dict[str, torch.Tensor], device: str, *, train: bool, gen: torch.Generator | None,
                 aug: dict[str, Any] | None = None, channels_last: bool = False) -> torch.Tensor:
    """uint8 batch -> float, (augmented when training), normalised model input on ``device``."""
    x = batch["image"].to(device, non_blocking=True).float()
    if train and aug is not None and gen is not None:
        x = augment_batch(x.div_(255.0), gen, **aug, inplace=True)  # on the device: free on a GPU
        x = normalize_batch(x, inplace=True)
    else:
        x = normalize_batch(x, inplace=True, scale=255.0)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x
