"""`eifer synth` on the command line."""
import pandas as pd
from typer.testing import CliRunner

from eifer.cli import app


def test_cli_writes_a_study_and_rejects_bad_sizes(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["synth", "--out", str(tmp_path / "s"), "--participants", "3", "--seed", "4",
                              "--no-video", "--null", "--jobs", "1"])
    assert res.exit_code == 0, res.output
    truth = pd.read_csv(tmp_path / "s" / "_truth" / "participants.csv")
    assert len(truth) == 3 and truth.consistency.nunique() == 1
    assert (tmp_path / "s" / "ecg" / "P03.csv").is_file() and not (tmp_path / "s" / "videos").exists()

    bad = runner.invoke(app, ["synth", "--out", str(tmp_path / "b"), "--width", "321", "--no-video"])
    assert bad.exit_code == 1 and "width and height must be even" in bad.output
    assert "--no-video" in runner.invoke(app, ["synth", "--help"]).output


def test_rewriting_a_synthetic_folder_removes_stale_media(tmp_path):
    from eifer.synth import synth_study

    kw = dict(seed=0, video_seconds=0.5, fps=4, segment_seconds=(10, 10, 5), show_progress=False, n_jobs=1)
    root = synth_study(tmp_path / "s", participants=3, **kw)
    assert (root / "videos" / "P03").is_dir()
    synth_study(root, participants=2, no_video=True, **kw)
    assert not (root / "videos").exists() and not (root / "ecg" / "P03.csv").exists()
    assert (root / "ecg" / "P02.csv").is_file() and not (root / "_truth" / "frames.parquet").exists()
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "videos").mkdir()  # not a synthetic folder: nothing is deleted
    synth_study(tmp_path / "user", participants=2, no_video=True, **kw)
    assert (tmp_path / "user" / "videos").is_dir()


def test_stimulus_segments_are_never_shorter_than_the_videos(tmp_path):
    from eifer.synth import synth_study

    root = synth_study(tmp_path / "s", participants=2, no_video=True, video_seconds=40,
                       segment_seconds=(10, 20, 5), show_progress=False, n_jobs=1)
    seg = pd.read_csv(root / "ecg" / "segments.csv")
    length = (seg.offset_s - seg.onset_s).groupby(seg.segment.str[0]).max()
    assert length.to_dict() == {"V": 40, "b": 10, "r": 5}


def test_synth_defaults_come_from_one_place():
    import dataclasses
    import inspect

    from eifer.synth import SYNTH, DemoStudy, synth_study

    api = inspect.signature(synth_study).parameters
    command = inspect.signature(next(c.callback for c in app.registered_commands if c.name == "synth")).parameters
    for f in dataclasses.fields(SYNTH):
        assert api[f.name].default == getattr(SYNTH, f.name), f.name
        if f.name in command:  # the command line offers all but segment_seconds and ecg_fs
            assert command[f.name].default.default == getattr(SYNTH, f.name), f.name
    assert len(set(command) & {f.name for f in dataclasses.fields(SYNTH)}) == 9
    # `eifer demo` states the demo study's own defaults
    text = " ".join(CliRunner().invoke(app, ["demo", "--help"], terminal_width=200).output.split())
    assert f"(default: {DemoStudy.participants})" in text and f"(default {DemoStudy.video_seconds:g} s)" in text


def test_the_command_line_does_not_import_the_synthesizer():
    import subprocess
    import sys

    code = "import sys, eifer.cli; print('eifer.synth.study' in sys.modules, 'numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.split() == ["False", "False"]
