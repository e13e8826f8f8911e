"""Affect estimators: timm checkpoint vs its ONNX export vs TorchScript agree; geometry baseline."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eifer.affect import create_estimator
from eifer.errors import EiferError

SIZE = 32  # input size the ``tiny_model`` fixture (conftest.py) was exported with


def _crops(n=7, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


def test_timm_onnx_torchscript_agree(tiny_model):
    d, model = tiny_model
    kw = dict(input_size=SIZE, batch_size=3, device="cpu", clip=False)
    timm_est = create_estimator("timm", path=d / "va.pth", arch="resnet10t", num_outputs=5, **kw)
    st_est = create_estimator("timm", path=d / "va.safetensors", arch="resnet10t", num_outputs=5, **kw)
    onnx_est = create_estimator("onnx", path=d / "va.onnx", **kw)
    ts_est = create_estimator("torchscript", path=d / "va.pt", **kw)
    crops = _crops()
    ref = timm_est.raw_outputs(crops)
    assert ref.shape == (7, 5) and np.std(ref) > 0
    for est in (st_est, onnx_est, ts_est):
        np.testing.assert_allclose(est.raw_outputs(crops), ref, atol=1e-5)
    # default head indices: valence and arousal are the last two outputs
    np.testing.assert_allclose(onnx_est.predict(crops), ref[:, [3, 4]], atol=1e-5)


def test_output_options(tiny_model):
    d, _ = tiny_model
    crops = _crops(4)
    raw = create_estimator("onnx", path=d / "va.onnx", input_size=SIZE, clip=False).raw_outputs(crops)
    est = create_estimator("onnx", path=d / "va.onnx", input_size=SIZE, valence_index=0, arousal_index=2)
    np.testing.assert_allclose(est.predict(crops), np.clip(raw[:, [0, 2]], -1, 1), atol=1e-5)
    bgr = create_estimator("onnx", path=d / "va.onnx", input_size=SIZE, channel_order="BGR", clip=False)
    np.testing.assert_allclose(bgr.raw_outputs(crops[..., ::-1].copy()), raw, atol=1e-5)
    mean = create_estimator("onnx", path=d / "va.onnx", input_size=SIZE, mean=(0.5, 0.5, 0.5), clip=False)
    assert not np.allclose(mean.raw_outputs(crops), raw, atol=1e-3)
    with pytest.raises(EiferError, match="shape"):
        est.predict(_crops(2)[:, :16])


def test_missing_model_and_unknown_name(tmp_path):
    with pytest.raises(EiferError, match="not found"):
        create_estimator("onnx", path=tmp_path / "nope.onnx")
    with pytest.raises(EiferError, match="unknown affect estimator"):
        create_estimator("affectnet-magic")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(EiferError, match="cannot load ONNX"):
        create_estimator("onnx", path=bad)


def test_geometry_recovers_planted_features():
    """Planted: valence drives mouth lift, arousal drives eye/brow/mouth opening (+ per-person offsets)."""
    rng = np.random.default_rng(0)
    rows = []
    for pid, offset in (("P1", 0.0), ("P2", 0.3)):
        v, a = rng.uniform(-1, 1, 300), rng.uniform(-1, 1, 300)
        rows.append(pd.DataFrame({
            "participant_id": pid, "valid": rng.random(300) > 0.1, "true_v": v, "true_a": a,
            "geo_mouth_lift": offset + 0.1 * v + rng.normal(0, 0.02, 300),
            "geo_mouth_width": 1.5 + offset + 0.05 * v + rng.normal(0, 0.02, 300),
            "geo_eye_open": 0.3 + offset + 0.05 * a + rng.normal(0, 0.01, 300),
            "geo_brow_raise": 0.5 + 0.1 * a + rng.normal(0, 0.02, 300),
            "geo_mouth_open": 0.05 + 0.05 * a + rng.normal(0, 0.02, 300)}))
    df = pd.concat(rows, ignore_index=True)
    # an offset of 0.3 inter-ocular distances in mouth lift is beyond any resting face: test the pure
    # per-participant centring here (the default holds the valence zero within reference_band of the
    # population-neutral face, see test_geometry_pose.py)
    out = create_estimator("geometry", reference_band=None).estimate(df)
    ok = out["valid"]
    assert out.loc[~ok, ["valence", "arousal"]].isna().all().all()
    assert out.loc[ok, ["valence", "arousal"]].abs().max().max() <= 1
    assert np.corrcoef(out.loc[ok, "valence"], out.loc[ok, "true_v"])[0, 1] > 0.9
    assert np.corrcoef(out.loc[ok, "arousal"], out.loc[ok, "true_a"])[0, 1] > 0.9
    # not planted: valence does not track arousal
    assert abs(np.corrcoef(out.loc[ok, "valence"], out.loc[ok, "true_a"])[0, 1]) < 0.2
    with pytest.raises(EiferError, match="geo_"):
        create_estimator("geometry").estimate(df.drop(columns="geo_mouth_lift"))
