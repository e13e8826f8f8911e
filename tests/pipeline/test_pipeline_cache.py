"""Stage caching: unchanged stages are skipped, a changed stage reruns with everything downstream."""
import json

import pytest

from eifer.config import load_config
from eifer.errors import EiferError
from eifer.pipeline import run_pipeline


def _events(run, event):
    lines = [json.loads(x) for x in run.joinpath("log.jsonl").read_text().splitlines()]
    return [r["stage"] for r in lines if r["event"] == event]


def _status(res):
    return dict(zip(res["stage"], res["status"]))


@pytest.fixture(scope="module")
def novideo_run(synth_novideo, tmp_path_factory):
    out = tmp_path_factory.mktemp("pipe") / "run"
    cfg = load_config(profile="demo", overrides={"cutoff": {"n_permutations": 0}})
    first = run_pipeline(synth_novideo, out, cfg, show_progress=False)
    return synth_novideo, out, cfg, first


def test_first_run_runs_what_the_study_allows(novideo_run):
    _, out, _, first = novideo_run
    st = _status(first)
    for stage in ("ei", "hrv", "labels", "cutoff", "report"):
        assert st[stage] == "ran", stage
    # no videos in this study: frame stages and what needs them are blocked, not crashed
    assert st["frames"] == "blocked" and st["affect"] == "blocked" and st["train"] == "blocked"
    assert (out / "groups.csv").is_file() and (out / "report" / "index.html").is_file()
    assert json.loads((out / "study.json").read_text())["participants"] == 12
    for f in ("config.yaml", "versions.json", "log.jsonl"):
        assert (out / f).is_file()


def test_unchanged_rerun_skips_everything(novideo_run):
    study, out, cfg, _ = novideo_run
    before = {p: (out / p).read_bytes() for p in ("ei_scores.csv", "groups.csv", "cutoff_sweep.csv")}
    again = run_pipeline(study, out, cfg, show_progress=False)
    assert {s for s, v in _status(again).items() if v == "ran"} == set()
    assert {p: (out / p).read_bytes() for p in before} == before


def test_changed_cutoff_config_reruns_cutoff_and_downstream_only(novideo_run):
    study, out, cfg, _ = novideo_run
    n_done = len(_events(out, "stage_done"))
    cfg2 = load_config(profile="demo", overrides={"cutoff": {"n_permutations": 0, "step": 20}})
    res = run_pipeline(study, out, cfg2, show_progress=False)
    assert {s for s, v in _status(res).items() if v == "ran"} == {"cutoff", "report"}
    assert _events(out, "stage_done")[n_done:] == ["cutoff", "report"]
    assert "cutoff" in _events(out, "stage_invalidated")
    sweep = (out / "cutoff_sweep.csv").read_text().splitlines()[1:]
    steps = {round(float(b.split(",")[0]) - float(a.split(",")[0])) for a, b in zip(sweep, sweep[1:])}
    assert steps == {20}


def test_unknown_stage_is_a_clear_error(novideo_run):
    study, out, cfg, _ = novideo_run
    with pytest.raises(EiferError, match="unknown stage 'trian'"):
        run_pipeline(study, out, cfg, stages=["trian"], show_progress=False)


def test_new_seed_redoes_only_seeded_stages(novideo_run):
    study, out, _, _ = novideo_run
    cfg = load_config(profile="demo", seed=99, overrides={"cutoff": {"n_permutations": 0, "step": 20}})
    res = run_pipeline(study, out, cfg, show_progress=False)
    # ei, hrv and labels draw no random numbers: a new seed leaves them cached
    assert {s for s, v in _status(res).items() if v == "ran"} == {"cutoff", "report"}
