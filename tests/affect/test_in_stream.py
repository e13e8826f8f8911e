"""Learned estimators inside the frames stage (one decode) agree with the re-read path of run_affect."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from eifer.affect import create_estimator, estimate_video, read_estimates, run_affect, stream_estimator
from eifer.config import load_config
from eifer.frames import read_frames, run_frames
from eifer.runfolder import RunFolder

SIZE = 32  # input size the ``tiny_model`` fixture was exported with


@dataclass
class _Study:
    table: pd.DataFrame

    def videos(self) -> pd.DataFrame:
        return self.table


def test_in_stream_estimates_equal_re_read_estimates(synth_video_small, tiny_model, tmp_path):
    d, _ = tiny_model
    vids = [("P01", "V1"), ("P02", "V3")]
    study = _Study(pd.DataFrame([(p, v, "HAHV", synth_video_small / "videos" / p / f"{v}.mp4") for p, v in vids],
                                columns=["participant_id", "video_id", "domain", "path"]))
    options = {"input_size": SIZE, "device": "cpu"}
    cfg = load_config(profile="demo", overrides={
        "affect": {"estimator": "onnx", "path": str(d / "va.onnx"), "options": options, "batch_size": 16},
        "frames": {"n_jobs": 1}})
    run = RunFolder(tmp_path / "run", cfg).init()
    run_frames(study, run, stream_estimator(run.config.affect))
    est = create_estimator("onnx", path=d / "va.onnx", batch_size=16, **options)
    frames = read_frames(run)  # the frames stage's tables: the in-stream estimates, tagged with the key
    assert (frames["affect_source"] == est.key).all()
    ok = frames["valid"]
    assert ok.sum() > 40 and frames.loc[ok, ["est_valence", "est_arousal"]].notna().all().all()
    assert "valence" not in frames.columns
    # the re-read path cuts the same crops with the same function: same numbers
    part = frames[frames.video_id == "V1"].reset_index(drop=True)
    again = estimate_video(study.table.path[0], part, est)
    face = part["landmarks_found"].astype(bool)
    assert (face & ~part.valid).sum() > 0  # dropped frames with a face: estimated too, in both paths
    np.testing.assert_allclose(again.loc[face, "valence"], part.loc[face, "est_valence"], atol=1e-5)
    assert again.loc[~face, "valence"].isna().all()
    # affect stage: copies the in-stream estimates into its own tables; the frame tables stay as they are
    frame_bytes = {p: p.read_bytes() for p in sorted(run.path("frames").rglob("*.parquet"))}
    run_affect(study, run)
    assert {p: p.read_bytes() for p in frame_bytes} == frame_bytes
    va = read_estimates(run.root)
    assert (va["affect_source"] == est.key).all()
    has = frames["landmarks_found"].astype(bool)
    np.testing.assert_array_equal(va.loc[has, "valence"], frames.loc[has, "est_valence"])
    assert va.loc[~has, ["valence", "arousal"]].isna().all().all()
    assert (va["valid"] == frames["valid"]).all()  # validity kept beside the estimates
    # estimates already current -> nothing rewritten
    p = run.path("affect", "P01", "V1.parquet")
    mtime = p.stat().st_mtime_ns
    run_affect(study, run)
    assert p.stat().st_mtime_ns == mtime
    # another head index -> the affect stage re-reads the valid frames and refreshes the estimates
    run.config = load_config(profile="demo", overrides={
        "affect": {"estimator": "onnx", "path": str(d / "va.onnx"), "options": {**options, "valence_index": 0},
                   "batch_size": 16}, "frames": {"n_jobs": 1}})
    run_affect(study, run)
    assert {p: p.read_bytes() for p in frame_bytes} == frame_bytes
    new = read_estimates(run.root)
    raw = create_estimator("onnx", path=d / "va.onnx", clip=False, **options)
    assert (new["affect_source"] != est.key).all()
    np.testing.assert_allclose(new["arousal"], va["arousal"], atol=1e-5, equal_nan=True)
    assert not np.allclose(new.loc[ok, "valence"], va.loc[ok, "valence"])
    # another estimator crop (affect.crop_margin): another key, so the in-stream estimates are not reused
    run.config = load_config(profile="demo", overrides={
        "affect": {"estimator": "onnx", "path": str(d / "va.onnx"), "options": options, "batch_size": 16,
                   "crop_margin": 0.6}, "frames": {"n_jobs": 1}})
    run_affect(study, run)
    wide = read_estimates(run.root)
    assert (wide["affect_source"] != est.key).all()
    assert not np.allclose(wide.loc[ok, "valence"], va.loc[ok, "valence"])
    assert raw.input_size == SIZE


def test_pipeline_hands_the_frames_stage_its_image_estimator(tiny_model):
    """frames never imports affect: the pipeline builds the estimator and passes it to run_frames."""
    from eifer.frames import StreamEstimator
    from eifer.pipeline.stages import STAGES

    d, _ = tiny_model
    frames = next(s for s in STAGES if s.name == "frames")
    cfg = load_config(profile="demo", overrides={
        "affect": {"estimator": "onnx", "path": str(d / "va.onnx"), "options": {"input_size": SIZE, "device": "cpu"}}})
    handed = frames.handover(cfg)["estimator"]
    assert isinstance(handed, StreamEstimator) and handed.settings == cfg.affect.model_dump(mode="json")
    assert handed.build(handed.settings).key == create_estimator("onnx", path=d / "va.onnx", input_size=SIZE,
                                                                 device="cpu").key
    assert frames.handover(load_config(profile="demo")) == {}  # geometry: computed later from the frame tables
