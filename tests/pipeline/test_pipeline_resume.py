"""`eifer run` killed with SIGKILL during frames and during training resumes to identical results;
a changed training setting reruns training and the stages after it only; more repetitions rerun split, then train."""
import atexit
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from eifer.config import load_config
from eifer.pipeline import STAGES, resolve_runner, run_pipeline

pytestmark = pytest.mark.slow


_CHILDREN: list[subprocess.Popen] = []


def _end_children():
    """Kill every `eifer run` this module started that still runs, with its workers.

    The children run in their own session (so a SIGKILL takes their workers too), which also
    keeps Ctrl-C in the terminal from reaching them: an interrupted `make test` must end them here.
    """
    while _CHILDREN:
        proc = _CHILDREN.pop()
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


atexit.register(_end_children)  # pytest stopped by Ctrl-C still exits through the interpreter


@pytest.fixture(autouse=True)
def _children_ended():
    try:
        yield
    finally:
        _end_children()


def _eifer_run(study, out, cfg_path):
    env = dict(os.environ, EIFER_NO_PROGRESS="1")
    # own process group: SIGKILL takes the worker processes down too, like a crash
    proc = subprocess.Popen([sys.executable, "-m", "eifer.cli", "run", str(study), "--out", str(out),
                             "-c", str(cfg_path)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _CHILDREN.append(proc)
    return proc


def _kill_when(proc, cond, timeout=300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if cond():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        if proc.poll() is not None:
            pytest.fail(f"eifer run ended before it could be killed:\n{proc.stderr.read()[-3000:]}")
        time.sleep(0.05)
    pytest.fail("condition for the kill never came")


def _log(run):
    return [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]


def _results(run):
    """Every table a run leaves (frame parts included), as bytes."""
    files = [p for p in run.rglob("*") if p.is_file() and p.suffix in (".csv", ".parquet", ".json")
             and p.parts[len(run.parts)] not in (".stages", "models", "cache")
             and p.name not in ("versions.json", "study.json")]
    return {str(p.relative_to(run)): p.read_bytes() for p in files}


def test_kill_and_resume_gives_identical_tables(synth_video_small, tiny_config, tiny_profile, tmp_path):
    n_videos = len(list((synth_video_small / "videos").glob("*/*.mp4")))
    ref = tmp_path / "ref"
    p = _eifer_run(synth_video_small, ref, tiny_config)
    assert p.wait() == 0, p.stderr.read()[-3000:]

    run = tmp_path / "killed"
    parts = lambda: list((run / "frames").glob("*/*.parquet"))  # noqa: E731
    p = _eifer_run(synth_video_small, run, tiny_config)
    _kill_when(p, lambda: len(parts()) >= 2)
    done_before = len(parts())
    assert done_before < n_videos, "frames stage finished before the kill"
    assert "frames" not in [r.get("stage") for r in _log(run) if r["event"] == "stage_done"]

    metas = lambda: list((run / "models").rglob("meta.json"))  # noqa: E731
    p = _eifer_run(synth_video_small, run, tiny_config)
    _kill_when(p, lambda: len(metas()) >= 1 and not (run / "predictions.parquet").exists())
    units_before = {m: m.stat().st_mtime_ns for m in metas()}
    # the resumed frames stage only did the videos the killed run had not finished
    assert sum(r["event"] == "frames_video" for r in _log(run)) == n_videos - done_before

    p = _eifer_run(synth_video_small, run, tiny_config)
    assert p.wait() == 0, p.stderr.read()[-3000:]
    # finished training units were not trained again
    assert all(m.stat().st_mtime_ns == t for m, t in units_before.items())
    ref_tables, run_tables = _results(ref), _results(run)
    assert "predictions.parquet" in ref_tables and "groups.csv" in ref_tables
    assert sorted(run_tables) == sorted(ref_tables)
    different = [k for k in ref_tables if ref_tables[k] != run_tables[k]]
    assert different == []

    # one training setting changed: training and what follows rerun, nothing before it
    cfg = load_config(tiny_config, overrides={"train": {"stage2_epochs": 1}})
    res = run_pipeline(synth_video_small, ref, cfg, show_progress=False)
    ran = set(res.loc[res["status"] == "ran", "stage"])
    after_train = {s.name for s in STAGES[STAGES.index(next(s for s in STAGES if s.name == "train")):]
                   if s.enabled(cfg) and resolve_runner(s) is not None}
    after_train -= {"transfer-cv"} if not cfg.transfer_cv.enabled else set()
    assert ran == after_train
    assert set(res.loc[res["status"] == "skipped", "stage"]) >= {"ei", "hrv", "labels", "frames", "affect",
                                                                 "cutoff", "select", "split"}
    assert tiny_profile["train"]["stage2_epochs"] == 2  # the reference really ran with another value

    # more repetitions: only the split stage writes splits.json, and its fingerprint covers
    # train.repetitions, so `eifer run` reruns split first, then train with the new repetition
    grown = load_config(tiny_config, overrides={"train": {"stage2_epochs": 1, "repetitions": 2}})
    res = run_pipeline(synth_video_small, ref, grown, show_progress=False)
    ran = res.loc[res["status"] == "ran", "stage"].tolist()
    assert ran[:2] == ["split", "train"], ran
    runs = json.loads((ref / "splits.json").read_text())["runs"]
    assert {k.rsplit("/", 1)[1] for k in runs} == {"rep0", "rep1"}
    assert set(pd.read_parquet(ref / "predictions.parquet")["rep"]) == {0, 1}
