"""The pipeline on a Ray cluster of real nodes writes the same tables, byte for byte, as under ``local``,
after losing a worker node mid-stage and its driver mid-run.

The cluster is Ray's own multi-node test utility (``ray.cluster_utils.Cluster``): a head and worker
nodes on this machine, each with its own raylet, object store and worker processes, joined by
``executor.address`` as a cluster started with ``ray start`` is. eifer's driver is the command line,
run in a subprocess with ``--quiet``, as a user runs it.
"""
from __future__ import annotations

import contextlib
import filecmp
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from eifer.logs import NATIVE_NOISE

SRC = Path(__file__).resolve().parents[2] / "src"
NODE = {"num_cpus": 1, "object_store_memory": 100 * 2**20}  # Ray's minimum store; the units pass small results


def _tables(root: Path) -> dict[str, Path]:
    """Every table, crop, model and cache file of a run folder, except logs and timing records."""
    skip = {"log.jsonl", "config.yaml"}  # config.yaml names the executor
    out = {}
    for f in sorted(root.rglob("*")):
        rel = f.relative_to(root).as_posix()
        if f.is_file() and f.name not in skip and not rel.startswith(".stages/") and rel != ".lock":
            out[rel] = f
    return out


def _same(a: Path, b: Path) -> bool:
    if a.name == "meta.json":  # a training unit's wall-clock seconds differ; nothing else may
        ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
        ja.pop("seconds", None), jb.pop("seconds", None)
        return ja == jb
    if a.suffix == ".pt":  # torch.save writes a random serialization id; the weights must be equal
        import torch

        sa, sb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
        return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    return filecmp.cmp(a, b, shallow=False)


def _events(run: Path, event: str, stage: str | None = None, since: int = 0) -> list[dict]:
    """The run log's ``event`` records (of ``stage``), from line ``since`` on."""
    log = run / "log.jsonl"
    lines = log.read_text().splitlines()[since:] if log.exists() else []
    recs = [json.loads(line) for line in lines if line.endswith("}")]  # (a line being appended is not whole yet)
    return [r for r in recs if r["event"] == event and (stage is None or r.get("stage") == stage)]


def _busy_workers(node) -> list[int]:
    """Pids of the node's Ray workers now running a unit (Ray titles a busy worker ``ray::<task>``)."""
    raylet = node.all_processes["raylet"][0].process.pid
    busy = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            title = (proc / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == raylet and title.startswith(b"ray::_ray_call"):
            busy.append(int(proc.name))
    return busy


def _lose_node_mid_unit(cluster, node, deadline: float) -> None:
    """Freeze a worker of ``node`` while it runs a unit, then remove the node: the unit was mid-run when
    its node went away (as when a machine fails), not finished a moment before."""
    while time.monotonic() < deadline:
        for pid in _busy_workers(node):
            os.kill(pid, signal.SIGSTOP)
            if pid in _busy_workers(node):  # still in the unit: it cannot finish now
                cluster.remove_node(node)
                with contextlib.suppress(ProcessLookupError):  # frozen, it may outlive its raylet: end it
                    os.kill(pid, signal.SIGKILL)
                return
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.02)
    raise AssertionError("no unit ran on the node to be removed")


def _wait(cond, deadline: float, what: str, driver: subprocess.Popen) -> None:
    while not cond():
        if driver.poll() is not None:
            raise AssertionError(f"the driver ended (exit {driver.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def cluster(monkeypatch):
    """A head node and one worker node, one CPU each. Their Ray workers find this eifer on PYTHONPATH."""
    pytest.importorskip("ray")
    from ray._common.utils import reset_ray_address
    from ray.cluster_utils import Cluster

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    temp = tempfile.mkdtemp(prefix="eifer-ray-")  # short: Ray's socket paths live under it
    c = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False, "temp_dir": temp})
    reset_ray_address()  # no address file: another Ray user on this machine must not join this test's cluster
    try:
        c.add_node(**NODE, temp_dir=temp)
        c.wait_for_nodes()
        yield c
    finally:
        c.shutdown()
        shutil.rmtree(temp, ignore_errors=True)  # the nodes' session logs


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_cluster_run_survives_a_lost_node_and_a_killed_driver_with_the_local_tables(
        cluster, synth_video_small, tmp_path, tiny_profile, request):
    """HRV (6 participants), frames (24 videos), training (2 units per phase), 2 units at once.

    Driver 1 runs HRV on both nodes and is killed (SIGKILL) mid-frames; driver 2 resumes, loses the
    worker node in the middle of a frame unit, gets a new worker node, and loses it in the middle of
    a training unit. The run folder equals a ``local`` run's.
    """
    phases: dict[str, float] = {}  # seconds of each phase, printed (pytest -s) to see where the time goes
    clock = [time.monotonic()]

    def phase(name: str) -> None:
        phases[name] = round(time.monotonic() - clock[0], 1)
        clock[0] = time.monotonic()

    over = {**tiny_profile, "frames": {"n_jobs": 2}, "hrv": {"n_jobs": 2},
            "train": {**tiny_profile["train"], "n_jobs": 2}}
    env = {**os.environ, "EIFER_NO_PROGRESS": "1"}

    def eifer_run(out: Path, executor: dict) -> list[str]:
        cfg = tmp_path / f"{out.name}.yaml"
        cfg.write_text(yaml.safe_dump({**over, "executor": executor}))
        return [sys.executable, "-m", "eifer.cli", "--quiet", "run", str(synth_video_small), "--out", str(out),
                "-c", str(cfg), "--stage", "train"]

    # the reference: the same run under `local`, alongside the cluster run (most of the cluster run's time
    # is process and worker start-up, not CPU work, so the two overlap well)
    local_run = tmp_path / "local"
    local_out = open(tmp_path / "out_local.txt", "wb")
    local_driver = subprocess.Popen(eifer_run(local_run, {"kind": "local"}), stdout=local_out,
                                    stderr=subprocess.STDOUT, env=env)

    def end_local() -> None:
        if local_driver.poll() is None:
            local_driver.kill()
            local_driver.wait()
        local_out.close()

    request.addfinalizer(end_local)  # also when the test fails before awaiting it

    head = cluster.head_node.node_id
    (w1,) = cluster.worker_nodes
    run = tmp_path / "ray"
    cmd = eifer_run(run, {"kind": "ray", "address": cluster.address})
    n_videos = len(list((synth_video_small / "videos").rglob("*.mp4")))

    def tables() -> dict[str, tuple[int, int]]:
        return {f.relative_to(run).as_posix(): (f.stat().st_ino, f.stat().st_mtime_ns)
                for f in (run / "frames").glob("*/*.parquet")}

    # driver 1: killed once the frames stage has written a table (HRV is done by then)
    with open(tmp_path / "out1.txt", "wb") as out:
        driver = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            _wait(lambda: len(tables()) >= 1, time.monotonic() + 600, "a frame table", driver)
        finally:
            driver.kill()
            driver.wait()
    phase("driver 1 (HRV, frames until a table)")
    deadline = time.monotonic() + 60  # Ray ends a dead driver's units; then nothing writes into the run folder
    while any(_busy_workers(n) for n in cluster.list_all_nodes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    phase("Ray ends the dead driver's units")
    before = tables()
    assert 1 <= len(before) < n_videos
    all_videos = {f"frames/{v.parent.name}/{v.stem}.parquet" for v in (synth_video_small / "videos").rglob("*.mp4")}

    # driver 2: resumes; the worker node is lost mid-frames, a new one joins and is lost mid-training
    since = len((run / "log.jsonl").read_text().splitlines())
    with open(tmp_path / "out2.txt", "wb") as out:
        driver = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 600  # generous: a guard against a hang on a loaded machine
            _wait(lambda: any(r["node"] == w1.node_id for r in _events(run, "unit_placed", "frames", since)),
                  deadline, "a frame unit finished on the worker node", driver)
            phase("driver 2 until a frame unit on the worker node")
            _lose_node_mid_unit(cluster, w1, deadline)
            w2 = cluster.add_node(**NODE, temp_dir=cluster.head_node.get_temp_dir_path())
            phase("node lost, new node added")
            _wait(lambda: _events(run, "stage_start", "train", since), deadline, "the training stage", driver)
            phase("driver 2 until train")
            _lose_node_mid_unit(cluster, w2, deadline)
            phase("node lost mid-train")
            assert driver.wait(timeout=max(1.0, deadline - time.monotonic())) == 0, \
                (tmp_path / "out2.txt").read_text()
        finally:
            if driver.poll() is None:
                driver.kill()
    phase("driver 2 to the end")
    assert local_driver.wait(timeout=600) == 0, (tmp_path / "out_local.txt").read_text()
    phase("the local run's rest")
    for name in ("out1.txt", "out2.txt"):  # the same quiet terminal as the local executor
        text = (tmp_path / name).read_text()
        noise = [ln for ln in text.splitlines() if NATIVE_NOISE.match(ln.encode()) or "XNNPACK" in ln
                 or re.match(r"\((_ray_call|raylet)\b", ln.strip())]
        assert not noise, f"{name}: {noise}"
    assert "stages:" in (tmp_path / "out2.txt").read_text()

    # resumed, not redone: driver 2 ran the frame units of exactly the videos driver 1 had not finished
    redone = {r["video"] for r in _events(run, "frames_video", since=since)}
    assert redone == {k.removeprefix("frames/").removesuffix(".parquet") for k in all_videos - set(before)}

    # units on both nodes, and units lost with a node run again on another node
    def placed(stage: str) -> list[dict]:
        return _events(run, "unit_placed", stage)

    assert {r["node"] for r in placed("hrv")} == {head, w1.node_id}
    assert {head, w1.node_id} <= {r["node"] for r in placed("frames")}
    for stage, lost in (("frames", w1.node_id), ("train", w2.node_id)):
        # the unit that was running on the lost node: Ray ran it again (attempt 1), on a node still there
        again = [r for r in placed(stage) if r["attempt"] >= 1]
        assert again and all(r["node"] != lost for r in again), f"{stage}: {placed(stage)}"
    resumed = [r["unit"] for r in _events(run, "unit_placed", "frames", since)]
    assert len(resumed) == len(set(resumed)) == n_videos - len(before)  # each remaining unit once

    # the same run folder as the local run's (no temp file of a lost unit left behind)
    local, ray = _tables(local_run), _tables(run)
    assert sorted(local) == sorted(ray)
    differ = [k for k in local if not _same(local[k], ray[k])]
    assert not differ, f"differ between local and ray: {differ}"
    phase("checks")
    print("phases (s):", phases)
