"""One frames + affect run over the small synthetic video study, shared by the frames tests."""
from __future__ import annotations

import pytest


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
