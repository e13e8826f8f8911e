"""Session-wide fixtures shared by every test package.

Synthetic studies are generated once per test session (they are read-only
for tests: copy one before modifying it):

* ``synth_novideo`` — 12 participants, seed 0, tables + ECG, no videos.
* ``synth_novideo_null`` — the same with ``null=True`` (no planted group difference).
* ``synth_video_small`` — 6 participants × 4 videos × 4 s at 10 fps, seed 0, 320×240;
  ``frames_run`` — its run folder after the frames and affect stages (shared by the frames and
  select tests).

Ground truth lives in ``<study>/_truth/`` (see docs/interfaces.md).
"""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("EIFER_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _cli_output_level(monkeypatch):
    """An `eifer` command invoked in-process sets the output level for the whole process
    (eifer.logs.configure_output): undo it after each test, so no other test runs under it."""
    import warnings

    monkeypatch.setenv("EIFER_LOG_LEVEL", "")
    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)


@pytest.fixture(scope="session")
def synth_novideo(tmp_path_factory):
    """Path to a 12-participant synthetic study without videos (seed 0)."""
    from eifer.synth import synth_study

    return synth_study(tmp_path_factory.mktemp("synth_novideo") / "study", participants=12, seed=0,
                       no_video=True, show_progress=False)


@pytest.fixture(scope="session")
def synth_novideo_null(tmp_path_factory):
    """Path to a 12-participant ``null`` study without videos (seed 0): no planted group effect."""
    from eifer.synth import synth_study

    return synth_study(tmp_path_factory.mktemp("synth_novideo_null") / "study", participants=12, seed=0,
                       no_video=True, null=True, show_progress=False)


@pytest.fixture(scope="session")
def synth_video_small(tmp_path_factory):
    """Path to a tiny video study: 6 participants × 4 videos × 4 s at 10 fps (seed 0)."""
    from eifer.synth import synth_study

    return synth_study(tmp_path_factory.mktemp("synth_video_small") / "study", participants=6, seed=0,
                       video_seconds=4, fps=10, show_progress=False)


@pytest.fixture(scope="session")
def frames_run(synth_video_small, tmp_path_factory):
    """RunFolder after run_frames + run_affect (geometry estimator) on ``synth_video_small``."""
    from eifer.affect import run_affect
    from eifer.config import load_config
    from eifer.frames import run_frames
    from eifer.runfolder import RunFolder
    from eifer.study import load_study

    cfg = load_config(profile="demo", overrides={"affect": {"estimator": "geometry"}})
    run = RunFolder(tmp_path_factory.mktemp("frames_run"), cfg).init()
    study = load_study(synth_video_small)
    run_frames(study, run)
    run_affect(study, run)
    return study, run


@pytest.fixture(scope="session")
def ray_cluster():
    """A local 2-CPU Ray cluster (started once, ~2 s). Its workers find eifer and tests/ (unit
    functions of tests/_parallel_units.py) on PYTHONPATH, as cluster nodes find an installed eifer."""
    from pathlib import Path

    ray = pytest.importorskip("ray")
    here = Path(__file__).parent
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(here.parent / "src"), str(here)] + ([old] if old else []))
    # "local": a cluster of its own, never one another test (or `ray start`) left an address file for
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old
