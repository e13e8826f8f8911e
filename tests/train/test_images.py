"""Crop decoding, cache, augmentation and normalisation."""
import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from eifer.errors import EiferError
from eifer.train.images import CropDataset, augment_batch, batch_inputs, make_loader, normalize_batch


def _crops(tmp_path, n=6, size=40):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        img = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        cv2.imwrite(str(tmp_path / f"{i}.png"), img)
        rows.append({"crop_path": f"{i}.png", "valence_label": i % 2, "valence": 0.1 * i})
    return pd.DataFrame(rows)


def test_dataset_cache_equals_disk_and_batches_are_rgb(tmp_path):
    df = _crops(tmp_path)
    a = CropDataset(tmp_path, df, "valence", 32)
    b = CropDataset(tmp_path, df, "valence", 32, cache=True)
    ba, bb = a.__getitems__([4, 1]), b.__getitems__([4, 1])
    assert ba["image"].shape == (2, 3, 32, 32) and ba["image"].dtype == torch.uint8
    assert torch.equal(ba["image"], bb["image"])
    raw = cv2.resize(cv2.imread(str(tmp_path / "4.png")), (32, 32), interpolation=cv2.INTER_AREA)
    assert np.array_equal(ba["image"][0].permute(1, 2, 0).numpy(), raw[:, :, ::-1])  # BGR -> RGB
    assert ba["label"].tolist() == [0.0, 1.0] and np.allclose(ba["target"].numpy(), [0.4, 0.1])
    seen = torch.cat([x["index"] for x in make_loader(a, 4, shuffle=True, seed=1)])
    assert sorted(seen.tolist()) == list(range(6))
    again = torch.cat([x["index"] for x in make_loader(a, 4, shuffle=True, seed=1)])
    assert torch.equal(seen, again)  # seeded shuffling


def test_missing_crop_is_named(tmp_path):
    df = _crops(tmp_path, 2)
    (tmp_path / "1.png").unlink()
    with pytest.raises(EiferError, match="1.png"):
        CropDataset(tmp_path, df, "valence", 32, cache=True)


def test_augmentations_each_with_probability_p():
    x = torch.rand(400, 3, 24, 24)
    g = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
    assert torch.equal(augment_batch(x, g(0), p=0.0), x)  # p = 0: untouched
    assert torch.equal(augment_batch(x, g(3), p=0.5), augment_batch(x, g(3), p=0.5))  # seeded
    y = augment_batch(x, g(1), p=1.0, brightness=(1.0, 1.0), blur_sigma=(1.0, 1.0))
    assert torch.allclose(y[:, 0], y[:, 1]) and torch.allclose(y[:, 1], y[:, 2])  # grayscale
    assert y.std() < x.std() * 0.6  # blurred noise loses variance
    # brightness alone (grayscale and blur off by making them no-ops): factor within [0.8, 1.2]
    z = augment_batch(x * 0.5, g(2), p=1.0, brightness=(0.8, 1.2), blur_sigma=(1e-3, 1e-3))
    gray = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    ratio = (z[:, 0] / (0.5 * gray)).flatten(1).median(1).values
    assert ratio.min() >= 0.8 - 1e-4 and ratio.max() <= 1.2 + 1e-4 and ratio.std() > 0.05
    # with p = 0.5 about half of the images are converted to grayscale
    w = augment_batch(x, g(5), p=0.5, brightness=(1.0, 1.0), blur_sigma=(1e-3, 1e-3))
    frac = (w[:, 0] - w[:, 2]).abs().flatten(1).max(1).values.lt(1e-6).float().mean()
    assert 0.4 < frac < 0.6


def test_normalisation_and_no_augmentation_at_eval():
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    assert torch.allclose(normalize_batch(mean.clone()), torch.zeros(1, 3, 4, 4), atol=1e-6)
    batch = {"image": torch.randint(0, 255, (2, 3, 8, 8), dtype=torch.uint8)}
    aug = {"p": 1.0, "brightness": (0.8, 1.2), "blur_sigma": (0.1, 1.5)}
    ev = batch_inputs(batch, "cpu", train=False, gen=torch.Generator(), aug=aug)
    assert torch.allclose(ev, normalize_batch(batch["image"].float() / 255), atol=1e-5)
    tr = batch_inputs(batch, "cpu", train=True, gen=torch.Generator().manual_seed(0), aug=aug)
    assert not torch.allclose(tr, ev)
