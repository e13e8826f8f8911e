"""What `eifer run` prints: no third-party log lines, one-line warnings, --quiet = errors + summary;
and `eifer.load_run` on the finished run returns the tables it wrote."""
import os
import re
import subprocess
import sys

import pandas as pd
import pytest

import eifer
from eifer.errors import EiferError

THIRD_PARTY = re.compile(r"W0000|I0000|absl|TensorFlow Lite|inference_feedback_manager|landmark_projection|"
                         r"XNNPACK|UserWarning|^\s{2}\S.*=")  # the last: a source line printed under a warning


def _eifer(*args):
    env = {**os.environ, "EIFER_NO_PROGRESS": "1"}
    env.pop("EIFER_LOG_LEVEL", None)
    return subprocess.run([sys.executable, "-m", "eifer.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=1200)


@pytest.fixture(scope="module")
def video_run(synth_video_small, tiny_profile, tmp_path_factory):
    """A whole tiny run on a video study, through the command line, with its output."""
    import yaml

    tmp = tmp_path_factory.mktemp("out")
    cfg = tmp / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_profile))
    res = _eifer("run", synth_video_small, "--out", tmp / "run", "--config", cfg)
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp / "run", res


def test_run_prints_no_third_party_lines(video_run):
    _, res = video_run
    noisy = [line for line in (res.stdout + res.stderr).splitlines() if THIRD_PARTY.search(line)]
    assert noisy == []
    assert "stages:" in res.stdout and "report:" in res.stdout


def test_quiet_prints_only_the_summary(synth_novideo, tiny_config, tmp_path):
    normal = _eifer("run", synth_novideo, "--out", tmp_path / "a", "--config", tiny_config)
    assert normal.returncode == 0, normal.stderr
    # the HRV stage warns (columns undefined for short segments): one line, no source line of eifer
    warned = [line for line in normal.stderr.splitlines() if line.startswith("warning")]
    assert warned and not THIRD_PARTY.search(normal.stderr)
    quiet = _eifer("--quiet", "run", synth_novideo, "--out", tmp_path / "b", "--config", tiny_config)
    assert quiet.returncode == 0
    assert quiet.stderr == ""
    # the same summary as without --quiet (timings differ), and nothing else
    assert _masked(quiet.stdout, tmp_path / "b") == _masked(normal.stdout, tmp_path / "a")
    assert quiet.stdout.startswith("stages:")


def _masked(text, run):
    return re.sub(r"\d+(\.\d+)?", "N", text.replace(str(run), "RUN"))


def test_quiet_still_prints_errors(tmp_path):
    res = _eifer("--quiet", "run", tmp_path / "nostudy", "--out", tmp_path / "run")
    assert res.returncode == 1 and "nostudy" in res.stderr and res.stdout == ""


def test_load_run_returns_the_tables_as_written(video_run):
    run, _ = video_run
    res = eifer.load_run(run)
    csvs = sorted((run / "tables").glob("*.csv"))
    assert sorted(res.tables) == [p.stem for p in csvs]
    for k in (1, 2, 3, 4):
        pd.testing.assert_frame_equal(res.table(k), pd.read_csv(run / "tables" / f"table{k}.csv"))
    with pytest.raises(EiferError, match="Table 5 was not made.*transfer-cv"):
        res.table(5)  # transfer_cv is off in the tiny profile
    # the figures' data: Figure 7 is the cutoff sweep, the ROC curves the predictions
    pd.testing.assert_frame_equal(res.data("cutoff_sweep"), pd.read_csv(run / "cutoff_sweep.csv"))
    assert set(res.data("predictions")["composition"]) == {"direct", "transfer"}
    # every analysed frame with its estimates (SPEC §2: the affect columns travel with the frames)
    frames = res.data("frames")
    valid = frames["valid"].astype(bool)
    assert {"participant_id", "video_id", "frame", "reason", "valence", "arousal"} <= set(frames.columns)
    assert frames.loc[valid, ["valence", "arousal"]].notna().all().all() and valid.any()
    # dropped frames with a face carry their estimate too, validity beside it (issue #22)
    face = frames["landmarks_found"].astype(bool)
    assert frames.loc[face, ["valence", "arousal"]].notna().all().all() and (face & ~valid).any()
    assert "frames" in res.available()
    assert res.figures["figure7"].is_file() and list(res.stages["stage"])[:3] == ["ei", "hrv", "labels"]
    assert res.config.train.tasks == ["arousal"]


def test_load_run_on_a_folder_that_is_no_run(tmp_path):
    with pytest.raises(EiferError, match="not a run folder"):
        eifer.load_run(tmp_path)
