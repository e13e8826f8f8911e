"""Run-folder hardening (issue 13): nothing outside the run folder is deleted, no stage reruns for a
re-typed or copied study, one run at a time, stale temp files removed."""
import json
import os
import shutil
import subprocess
import sys

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
    with pytest.raises(EiferError, match="symlink that leads out(side)? of the run folder"):
        run_pipeline(study, out, CFG, stages=["ei"], show_progress=False)
    assert (victim / "precious.txt").read_text() == "keep me"


def test_same_study_by_relative_absolute_and_copied_path_reruns_nothing(synth_novideo, tmp_path, monkeypatch):
    out = tmp_path / "run"
    first = run_pipeline(synth_novideo, out, CFG, stages=["cutoff"], show_progress=False)
    assert {s for s, v in _status(first).items() if v == "ran"} == {"ei", "hrv", "labels", "cutoff"}
    before = (out / "groups.csv").read_bytes()
    monkeypatch.chdir(synth_novideo.parent)
    again = run_pipeline(synth_novideo.name, out, CFG, stages=["cutoff"], show_progress=False)  # relative
    assert {s for s, v in _status(again).items() if v == "ran"} == set()
    # a copy without its modification times (copytree with a plain byte copy), then every file touched
    copy = tmp_path / "elsewhere" / "study copy"
    shutil.copytree(synth_novideo, copy, copy_function=shutil.copyfile)
    for p in copy.rglob("*"):
        if p.is_file():
            os.utime(p, ns=(1_000_000_000, 1_000_000_000))
    again = run_pipeline(copy.resolve(), out, CFG, stages=["cutoff"], show_progress=False)  # absolute
    assert {s for s, v in _status(again).items() if v == "ran"} == set()
    assert (out / "groups.csv").read_bytes() == before
    # a real change of content still reruns the stage that reads it, and what follows
    ratings = copy / "ratings.csv"
    lines = ratings.read_text().splitlines()
    head, row = lines[0].split(","), lines[1].split(",")
    k = head.index("arousal")
    row[k] = "1" if row[k] != "1" else "2"
    ratings.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    changed = run_pipeline(copy, out, CFG, stages=["cutoff"], show_progress=False)
    ran = {s for s, v in _status(changed).items() if v == "ran"}
    assert "labels" in ran and "ei" not in ran and "hrv" not in ran


_HOLDER = """
import sys, time
from eifer.config import load_config
from eifer.runfolder import RunFolder
with RunFolder(sys.argv[1], load_config(profile="demo")).lock():
    print("locked", flush=True)
    time.sleep(60)
"""


def test_second_run_into_a_locked_folder_stops_naming_the_holder(ei_run):
    study, out = ei_run
    config_before = (out / "config.yaml").read_bytes()
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        other = load_config(profile="demo", seed=2, overrides={"cutoff": {"n_permutations": 0}})
        with pytest.raises(EiferError, match=rf"another eifer run \(pid {holder.pid}\) is writing to this run"):
            run_pipeline(study, out, other, stages=["ei"], show_progress=False)
        assert (out / "config.yaml").read_bytes() == config_before  # nothing written
    finally:
        holder.kill()
        holder.wait()
    # the lock dies with its holder (even by kill -9): the next run proceeds
    res = run_pipeline(study, out, CFG, stages=["ei"], show_progress=False)
    assert _status(res)["ei"] == "skipped"


def test_stale_temp_files_are_removed_at_the_next_run(ei_run, tmp_path):
    study, out = ei_run
    stale = [out / ".ei_scores.csv.k3x_9qzp.tmp", out / "cache" / "hrv" / ".P01-ab12.parquet.a1b2c3d4.tmp"]
    keep = [out / ".notes.tmp", out / "mine.a1b2c3d4.tmp", out / ".x.csv.TOOLONG12.tmp"]
    outside = tmp_path / "outside"
    outside.mkdir()
    keep.append(outside / ".ei_scores.csv.k3x_9qzp.tmp")
    # (a link leading out of the run folder is refused before anything is written: tests/test_reliability.py)
    for p in stale + keep:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("half-written")
    run_pipeline(study, out, CFG, stages=["ei"], show_progress=False)
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in keep)
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    removed = [r["files"] for r in log if r["event"] == "stale_temp_removed"]
    assert removed == [sorted(str(p.relative_to(out)) for p in stale)]
