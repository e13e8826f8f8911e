"""44-participant synthetic studies (planted and null), run once per session
through the real stage runners: ei → hrv → labels → cutoff.

Demo profile (time + frequency HRV) with 40 shuffles for the permutation
test; videos are not needed for the EI grouping.
"""
import pytest

N_PARTICIPANTS = 44


def _run_participant_stages(tmp_path_factory, name: str, null: bool):
    from eifer.config import load_config
    from eifer.cutoff import run_cutoff
    from eifer.ei import run_ei
    from eifer.hrv import run_hrv
    from eifer.labels import run_labels
    from eifer.runfolder import RunFolder
    from eifer.study import load_study
    from eifer.synth import synth_study

    base = tmp_path_factory.mktemp(name)
    root = synth_study(base / "study", participants=N_PARTICIPANTS, seed=0, no_video=True, null=null,
                       planted_cutoff=830, show_progress=False)
    study = load_study(root, validate_media=False)
    cfg = load_config(profile="demo", overrides={"cutoff": {"n_permutations": 40}}, seed=0)
    run = RunFolder(base / "run", cfg).init()
    outputs = []
    for runner in (run_ei, run_hrv, run_labels, run_cutoff):
        outputs += runner(study, run)
    return {"study": study, "run": run, "outputs": outputs}


@pytest.fixture(scope="session")
def planted44(tmp_path_factory):
    """Planted study (cutoff 830) and its run folder after the participant-level stages."""
    return _run_participant_stages(tmp_path_factory, "planted44", null=False)


@pytest.fixture(scope="session")
def null44(tmp_path_factory):
    """Null study (no group difference) and its run folder."""
    return _run_participant_stages(tmp_path_factory, "null44", null=True)
