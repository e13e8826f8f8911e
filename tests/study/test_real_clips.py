"""Real face clips at their native frame rates validate and go through the frames stage, timed by
their timestamps (issue #25: "real clips at their native rates, one variable-rate file, validate and run").

One participant of the tiny study (tests/study/conftest.py) gets four videos, without ``video.fps``:

- v1: ``single_face.mp4`` (H.264, 30 fps), remuxed into .mov (packets copied, timestamps kept);
- v2: ``face_noface.mov`` (HEVC, ≈26.4 fps), copied unchanged;
- v3: ``single_face.mp4``'s frames encoded at 23.67 fps (a phone rate);
- v4: the same frames with planted uneven timestamps (variable frame rate).

Data: ``../shared/realdata/faces`` (identifiable people: everything is written under tmp_path).
"""
from __future__ import annotations

import fractions
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
import yaml

FACES = Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata" / "faces"
pytestmark = pytest.mark.skipif(not (FACES / "videos").is_dir(), reason=f"real face data not found at {FACES}")

# planted frame gaps of 33, 42 and 67 ms (≈30, 24 and 15 fps) in a seeded order: the VFR clip's timestamps
VFR_GAPS_MS = np.random.default_rng(25).choice([33, 42, 67], 71)


def _conftest():
    spec = importlib.util.spec_from_file_location("_study_conftest", Path(__file__).with_name("conftest.py"))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _remux(src: Path, dst: Path) -> None:
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        for pkt in inp.demux(s_in):
            if pkt.dts is None:
                continue
            pkt.stream = s_out
            out.mux(pkt)


def _reencode(src: Path, dst: Path, *, rate: fractions.Fraction | None = None,
              pts_ms: np.ndarray | None = None) -> None:
    with av.open(str(src)) as inp:
        frames = [f.to_ndarray(format="rgb24") for f in inp.decode(video=0)]
    with av.open(str(dst), "w") as out:
        s = out.add_stream("libx264", rate=rate if rate is not None else 30)
        s.height, s.width = frames[0].shape[:2]
        s.pix_fmt = "yuv420p"
        if pts_ms is not None:
            s.codec_context.time_base = fractions.Fraction(1, 1000)
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = int(pts_ms[i]), fractions.Fraction(1, 1000)
            for pkt in s.encode(frame):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)


def _frame_times(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.array([f.time for f in c.decode(video=0)], dtype=float)


def _cli(*args):
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""), "EIFER_NO_PROGRESS": "1"}
    return subprocess.run([sys.executable, "-m", "eifer.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.fixture(scope="module")
def real_study(tmp_path_factory) -> Path:
    """The tiny study cut to participant P01, whose four videos are the real clips above."""
    root = _conftest().build_study(tmp_path_factory.mktemp("realclips") / "study", videos=False)
    for rel in ("participants.csv", "ratings.csv", "ei_responses.csv", "ecg/segments.csv"):
        df = pd.read_csv(root / rel, dtype=str)
        df.loc[df["participant_id"] == "P01"].to_csv(root / rel, index=False)
    for pid in ("P02", "P03"):
        (root / "ecg" / f"{pid}.csv").unlink()
    meta = yaml.safe_load((root / "study.yaml").read_text())
    meta["video"] = {"extension": "mov"}  # no fps: each clip runs at its own rate
    (root / "study.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    vids = root / "videos" / "P01"
    vids.mkdir(parents=True)
    _remux(FACES / "videos" / "single_face.mp4", vids / "v1.mov")
    shutil.copyfile(FACES / "videos" / "face_noface.mov", vids / "v2.mov")
    _reencode(FACES / "videos" / "single_face.mp4", vids / "v3.mov", rate=fractions.Fraction(2367, 100))
    _reencode(FACES / "videos" / "single_face.mp4", vids / "v4.mov", pts_ms=np.r_[0, np.cumsum(VFR_GAPS_MS)])
    return root


def test_real_clips_are_at_their_native_rates(real_study):
    from eifer.frames.decode import video_fps

    vids = real_study / "videos" / "P01"
    assert video_fps(vids / "v1.mov") == pytest.approx(30, abs=0.01)
    assert video_fps(vids / "v2.mov") == pytest.approx(26.4, abs=0.05)
    assert video_fps(vids / "v3.mov") == pytest.approx(23.67, abs=0.01)
    gaps = np.round(np.diff(_frame_times(vids / "v4.mov")) * 1000)
    assert gaps.tolist() == VFR_GAPS_MS.tolist()  # the planted variable rate is in the file


def test_real_clips_validate_and_the_frames_stage_times_frames_by_timestamp(real_study, tmp_path):
    from eifer.study import validate_study

    assert [str(p) for p in validate_study(real_study)] == []
    res = _cli("validate", real_study)
    assert res.returncode == 0, res.stdout + res.stderr

    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({"frames": {"every_nth": 1, "n_jobs": 1}}))
    run = tmp_path / "run"
    res = _cli("frames", real_study, "--out", run, "--config", tmp_path / "cfg.yaml")
    assert res.returncode == 0, res.stdout + res.stderr
    vids = real_study / "videos" / "P01"
    for vid in ("v1", "v2", "v3", "v4"):
        df = pd.read_parquet(run / "frames" / "P01" / f"{vid}.parquet").sort_values("frame")
        truth = _frame_times(vids / f"{vid}.mov")
        assert len(df) == len(truth), vid  # every frame analysed (every_nth 1)
        np.testing.assert_allclose(df["time_s"].to_numpy(), truth, atol=1e-3, err_msg=vid)
        assert df["face_found"].astype(bool).any(), vid  # the man's face is found in every clip
    v4 = pd.read_parquet(run / "frames" / "P01" / "v4.parquet").sort_values("frame")
    planted = np.r_[0, np.cumsum(VFR_GAPS_MS)] / 1000
    np.testing.assert_allclose(v4["time_s"].to_numpy() - v4["time_s"].iloc[0], planted, atol=1e-3)
    # the 26.4 fps clip's last frame lies one frame before its end, not where index / 30 would put it
    v2 = pd.read_parquet(run / "frames" / "P01" / "v2.parquet")
    with av.open(str(vids / "v2.mov")) as c:
        s = c.streams.video[0]
        duration, n = float(s.duration * s.time_base), s.frames or len(v2)
    assert v2["time_s"].max() == pytest.approx(duration - 1 / 26.4, abs=0.01)
    assert abs(v2["time_s"].max() - (n - 1) / 30) > 0.5
    v3 = pd.read_parquet(run / "frames" / "P01" / "v3.parquet")
    assert v3["time_s"].max() == pytest.approx((len(v3) - 1) / 23.67, abs=1e-3)
