"""Broken videos: a clear message naming the file, recorded, and the rest of the study processed."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eifer.config import load_config
from eifer.errors import EiferError
from eifer.frames import extract_video, read_frames, run_frames
from eifer.frames.analyzer import FaceAnalyzer
from eifer.runfolder import RunFolder


@dataclass
class _Study:
    """The one method run_frames uses: ``videos()`` (the study loader would refuse broken media)."""

    table: pd.DataFrame

    def videos(self) -> pd.DataFrame:
        return self.table


@pytest.fixture(scope="module")
def broken_study(synth_video_small, tmp_path_factory):
    from eifer.synth.faces import make_identity, render_face
    from eifer.synth.video import encode_video

    d = tmp_path_factory.mktemp("broken")
    good = d / "good.mp4"
    shutil.copy(synth_video_small / "videos" / "P01" / "V1.mp4", good)
    data = good.read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (d / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(np.random.default_rng(0).integers(0, 256, 4000,
                                                                                                         dtype=np.uint8)))
    (d / "empty.mp4").write_bytes(b"")
    ident = make_identity(np.random.default_rng(1))
    encode_video(d / "noface.mp4", (render_face(ident, scene="empty") for _ in range(8)), 10, 320, 240)
    rows = [("P1", name, d / f"{name}.mp4") for name in ("good", "truncated", "corrupt", "empty", "noface")]
    return _Study(pd.DataFrame(rows, columns=["participant_id", "video_id", "path"]).assign(domain="HAHV"))


def test_bad_videos_reported_and_rest_processed(broken_study, tmp_path):
    cfg = load_config(profile="demo", overrides={"affect": {"estimator": "geometry"}, "frames": {"n_jobs": 1}})
    run = RunFolder(tmp_path / "run", cfg).init()
    outputs = run_frames(broken_study, run)
    problems = pd.read_csv(run.path("frames", "problems.csv")).set_index("video_id")
    assert set(problems.index) == {"truncated", "corrupt", "empty", "noface"}
    for vid in ("truncated", "corrupt", "empty"):
        assert f"{vid}.mp4" in problems.loc[vid, "problem"]  # names the file
        assert not problems.loc[vid, "processed"]
    assert "empty (0 bytes)" in problems.loc["empty", "problem"]
    assert "no face found in any" in problems.loc["noface", "problem"]
    frames = read_frames(run)
    assert set(frames["video_id"]) == {"good", "noface"}
    assert frames.loc[frames.video_id == "good", "valid"].mean() > 0.5
    assert (frames.loc[frames.video_id == "noface", "reason"] == "no_face").all()
    assert "frames/P1/good.parquet" in outputs
    # a second run redoes only what failed (finished parts are kept) and reports the same
    mtime = run.path("frames", "P1", "good.parquet").stat().st_mtime_ns
    run_frames(broken_study, run)
    assert run.path("frames", "P1", "good.parquet").stat().st_mtime_ns == mtime
    assert len(pd.read_csv(run.path("frames", "problems.csv"))) == 4


def test_extract_video_errors_name_the_file(broken_study):
    cfg = load_config().frames
    for name in ("corrupt", "empty"):
        path = Path(broken_study.table.set_index("video_id").loc[name, "path"])
        with pytest.raises(EiferError, match=f"{name}.mp4"):
            extract_video(path, FaceAnalyzer.from_config(cfg))
    with pytest.raises(EiferError, match="not found"):
        extract_video(path.with_name("missing.mp4"))
    with pytest.raises(TypeError, match="FaceAnalyzer"):  # a config section is not the analyzer
        extract_video(path, cfg)
