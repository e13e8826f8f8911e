"""Batched V/A inference after the CPU frame units gives the in-stream path's numbers and tables (CPU)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from eifer.affect import create_estimator, stream_estimator
from eifer.affect.batched import affect_batched, frames_crops_unit, infer_affect_batched, pending_paths
from eifer.config import AffectConfig, load_config
from eifer.frames import part_path, read_frames, run_frames
from eifer.runfolder import RunFolder

SIZE = 32  # input size the ``tiny_model`` fixture was exported with


@dataclass
class _Study:
    table: pd.DataFrame

    def videos(self) -> pd.DataFrame:
        return self.table


def _study(root) -> _Study:
    vids = [("P01", "V1"), ("P02", "V3")]
    return _Study(pd.DataFrame([(p, v, "HAHV", root / "videos" / p / f"{v}.mp4") for p, v in vids],
                               columns=["participant_id", "video_id", "domain", "path"]))


def _cfg(d, mode: str, batch_size: int = 16):
    return load_config(profile="demo", overrides={
        "affect": {"estimator": "onnx", "path": str(d / "va.onnx"), "options": {"input_size": SIZE, "device": "cpu"},
                   "batch_size": batch_size, "batch_inference": mode},
        "frames": {"n_jobs": 1}})


def test_batched_equals_per_frame(tiny_model):
    d, _ = tiny_model
    crops = np.random.default_rng(1).integers(0, 256, (23, SIZE, SIZE, 3), dtype=np.uint8)
    est = create_estimator("torchscript", path=d / "va.pt", input_size=SIZE, device="cpu")
    one_by_one = np.concatenate([est.predict(crops[i:i + 1]) for i in range(len(crops))])
    for bs in (1, 5, 64):  # 5 does not divide 23: a short last batch
        got = infer_affect_batched(crops, est, "cpu", bs)
        assert got.shape == (23, 2) and got.dtype == np.float32
        np.testing.assert_allclose(got, one_by_one, atol=1e-5)
    # from a config: the estimator is built on the requested device
    cfg = AffectConfig(estimator="onnx", path=str(d / "va.onnx"), options={"input_size": SIZE})
    np.testing.assert_allclose(infer_affect_batched(crops, cfg, "cpu", 7), one_by_one, atol=1e-4)
    assert infer_affect_batched(crops[:0], est, "cpu", 4).shape == (0, 2)
    with pytest.raises(Exception, match="batch_size"):
        infer_affect_batched(crops, est, "cpu", 0)


def test_switch(monkeypatch):
    import eifer.affect.batched as b

    cfg = AffectConfig(estimator="onnx", batch_inference="auto")
    monkeypatch.setattr(b, "cuda_available", lambda: False)
    assert not affect_batched(cfg)  # CPU without the option: in-stream as before
    monkeypatch.setattr(b, "cuda_available", lambda: True)
    assert affect_batched(cfg)
    assert not affect_batched(cfg.model_copy(update={"batch_inference": "off"}))
    assert not affect_batched(cfg.model_copy(update={"options": {"device": "cpu"}}))


def test_stage_tables_identical_either_path(synth_video_small, tiny_model, tmp_path):
    d, _ = tiny_model
    study = _study(synth_video_small)
    tables = {}
    for mode in ("off", "on"):
        run = RunFolder(tmp_path / mode, _cfg(d, mode)).init()
        run_frames(study, run, stream_estimator(run.config.affect))
        tables[mode] = read_frames(run)
        assert not run.path("frames_pending").exists()  # pending crops are removed once estimated
    on, off = tables["on"], tables["off"]
    assert on["valid"].sum() > 40 and on.loc[on.valid, "est_valence"].notna().all()
    pd.testing.assert_frame_equal(on, off, check_exact=True)
    # another batch size: same numbers within float tolerance
    run = RunFolder(tmp_path / "bs5", _cfg(d, "on", batch_size=5)).init()
    run_frames(study, run, stream_estimator(run.config.affect))
    other = read_frames(run)
    pd.testing.assert_frame_equal(other.drop(columns=["est_valence", "est_arousal"]),
                                  off.drop(columns=["est_valence", "est_arousal"]))
    np.testing.assert_allclose(other[["est_valence", "est_arousal"]], off[["est_valence", "est_arousal"]],
                               atol=1e-5)


def test_resume_after_the_frame_unit(synth_video_small, tiny_model, tmp_path):
    """A crash after a video's crops were cut: the next run only runs its inference."""
    d, _ = tiny_model
    study = _study(synth_video_small)
    cfg = _cfg(d, "on")
    run = RunFolder(tmp_path / "r", cfg).init()
    out = part_path(run, "P01", "V1")
    job = {"key": "P01/V1", "participant_id": "P01", "video_id": "V1", "path": str(study.table.path[0]),
           "out": str(out), "frames_cfg": cfg.frames.model_dump(mode="json"),
           "affect_cfg": cfg.affect.model_dump(mode="json")}
    assert frames_crops_unit(job)["frames"] > 0
    table, crops = pending_paths(out, SIZE)
    assert table.exists() and crops.stat().st_size > 0 and not out.exists()
    import eifer.affect.batched as b

    assert b._pending_ready(job, SIZE) and not b._pending_ready(job, SIZE + 1)  # crops of another size: cut again
    mtime = table.stat().st_mtime_ns
    calls = []
    real = b.frames_crops_unit
    b.frames_crops_unit = lambda j, report=None: calls.append(j["key"]) or real(j, report)
    try:
        run_frames(study, run, stream_estimator(run.config.affect))
    finally:
        b.frames_crops_unit = real
    assert calls == ["P02/V3"]  # P01/V1 went straight to inference
    assert mtime and not table.exists() and not crops.exists()
    ref = RunFolder(tmp_path / "ref", _cfg(d, "off")).init()
    run_frames(study, ref, stream_estimator(ref.config.affect))
    pd.testing.assert_frame_equal(read_frames(run), read_frames(ref), check_exact=True)


def test_switch_does_not_redo_stages():
    """The path changes where the model runs, not the tables: not part of any stage fingerprint."""
    from eifer.pipeline.stages import config_payload

    on = load_config(overrides={"affect": {"batch_inference": "on"}})
    off = load_config(overrides={"affect": {"batch_inference": "off"}})
    assert config_payload(on, ("affect",)) == config_payload(off, ("affect",))
    assert config_payload(on, ("affect",)) != config_payload(load_config(overrides={"affect": {"path": "x"}}),
                                                             ("affect",))
