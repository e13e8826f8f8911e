"""Run-folder hardening (issue 13): nothing outside the run folder is deleted, no stage reruns for a
re-typed or copied study, one run at a time, stale temp files removed."""
import json
import os

import pytest

from eifer.config import load_config
from eifer.errors import EiferError
from eifer.pipeline import run_pipeline

CFG = load_config(profile="demo", overrides={"cutoff": {"n_permutations": 0}})


def _status(res):
    return dict(zip(res["stage"], res["status"]))


@pytest.fixture
def ei_run(synth_novideo, tmp_path):
    out = tmp_path / "run"
    run_pipeline(synth_novideo, out, CFG, stages=["ei"], show_progress=False)
    return synth_novideo, out


@pytest.mark.parametrize("bad", ["../victim", "ABS", "sub/../../victim"])
def test_crafted_stage_record_deletes_nothing_outside(ei_run, tmp_path, bad):
    study, out = ei_run
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    rec_file = out / ".stages" / "ei.json"
    rec = json.loads(rec_file.read_text())
    rec["fingerprint"] = "made-under-other-settings"  # so the stage's outputs count as stale
    rec["outputs"] = [str(victim) if bad == "ABS" else bad]
    rec_file.write_text(json.dumps(rec))
    with pytest.raises(EiferError, match=r"ei\.json: path .* leads outside the run folder"):
        run_pipeline(study, out, CFG, stages=["ei"], show_progress=False)
    assert (victim / "precious.txt").read_text() == "keep me"
    assert (out / "ei_scores.csv").is_file()  # refused before any delete


def test_symlink_out_of_the_run_folder_is_not_followed(ei_run, tmp_path):
    study, out = ei_run
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    (out / "link").symlink_to(victim)
    rec_file = out / ".stages" / "ei.json"
    rec = json.loads(rec_file.read_text())
    rec["fingerprint"], rec["outputs"] = "other", ["link/precious.txt"]
    rec_file.write_text(json.dumps(rec))
    with pytest.raises(EiferError, match="symlink that leads outside the run folder"):
        run_pipeline(study, out, CFG, stages=["ei"], show_progress=False)
    assert (victim / "precious.txt").read_text() == "keep me"
