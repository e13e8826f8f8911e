"""`eifer run` refuses the media `eifer validate` refuses, with the same messages, before any stage (item 10)."""
from __future__ import annotations

import pytest
from test_validate import write_video
from typer.testing import CliRunner

from eifer.cli import app
from eifer.config import load_config
from eifer.errors import StudyValidationError
from eifer.pipeline import run_pipeline
from eifer.study import validate_study


def test_run_stops_on_truncated_and_wrong_fps_video_like_validate(tiny, tmp_path):
    longer = tmp_path / "long.mp4"
    write_video(longer, n_frames=45)
    data = longer.read_bytes()
    (tiny / "videos/P02/v1.mp4").write_bytes(data[: int(len(data) * 0.9)])  # truncated
    write_video(tiny / "videos/P03/v4.mp4", n_frames=30, fps=30)  # 30 fps in a 15 fps study
    expected = [str(p) for p in validate_study(tiny)]
    assert len(expected) == 2 and expected[0].startswith("videos/P02/v1.mp4: video is truncated")
    assert expected[1].startswith("videos/P03/v4.mp4: video runs at 30 fps but study.yaml video.fps is 15")
    out = tmp_path / "run"
    with pytest.raises(StudyValidationError) as exc:
        run_pipeline(tiny, out, load_config(profile="demo"), show_progress=False)
    assert [str(p) for p in exc.value.problems] == expected
    assert not (out / ".stages").exists() and not (out / "log.jsonl").exists()  # no stage started
    res = CliRunner().invoke(app, ["run", str(tiny), "--out", str(tmp_path / "run2")])
    assert res.exit_code == 1 and all(e in res.output for e in expected), res.output
