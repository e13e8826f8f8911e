"""Frame-stage throughput under the ``local`` and ``ray`` executors, and where Ray's time goes.

One synthetic study (eifer.synth, in a temporary folder); the whole frame stage
(:func:`eifer.frames.run_frames`: one unit per video, decode + detect + mesh +
quality) is run into fresh run folders, alternately under

* ``local``: ``--workers`` spawned processes, the pool kept between runs (as
  between the stages of a run), and
* ``ray``: ``--workers`` units at once on a Ray cluster: ``--ray two-node`` (the
  default) joins a cluster of two real nodes made with Ray's multi-node test
  utility (``ray.cluster_utils.Cluster``: head + worker node, each its own
  raylet, object store and workers, ``--workers`` CPUs split between them), as
  ``executor.address`` joins a cluster started with ``ray start``; ``--ray
  local`` lets Ray start one node.

The first run of each is ``cold`` (workers start, import, build MediaPipe's
graphs); then ``--rounds`` rounds of (local, ray) warm runs, alternating so
that the background load of a shared machine biases both alike. Printed: the
median and range of frames/s of each, the ratio ray / local (goal >= 0.9 warm),
and, per unit as measured *inside* the worker: wall seconds, CPU seconds
(user + sys of the worker process, ``os.times``), CPU milliseconds per frame,
whether the MediaPipe graphs were already built in that process, the thread
settings (``OMP_NUM_THREADS``, OpenCV's threads, the process's thread count);
and per run: the slot-seconds not spent inside a unit (scheduling, transfers,
progress notes; ``workers x stage wall - sum of unit walls``), and the CPU
seconds Ray's own processes (GCS, raylets, agents) used during the run.
The load average is printed before and after: wall-clock figures on a shared
machine are noisy, CPU ms per frame much less so.

Usage::

    python benchmarks/bench_executor.py [--participants 2] [--seconds 6] [--fps 15] [--workers 2]
                                        [--rounds 3] [--ray two-node|local]
"""
from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def timed_job(fn: Callable, job: dict[str, Any], report: Callable) -> dict[str, Any]:
    """Run one frame unit and add what it cost, measured inside the worker that ran it."""
    import cv2

    from eifer.frames import analyzer

    cached = bool(analyzer._SHARED)
    t0, c0 = time.time(), os.times()
    out = fn(job, report)
    t1, c1 = time.time(), os.times()
    threads = int(next((ln.split()[1] for ln in Path("/proc/self/status").read_text().splitlines()
                        if ln.startswith("Threads:")), "0"))
    return {**out, "t0": t0, "t1": t1, "cpu": (c1.user - c0.user) + (c1.system - c0.system), "pid": os.getpid(),
            "cached": cached, "omp": os.environ.get("OMP_NUM_THREADS", "-"), "cv2_threads": cv2.getNumThreads(),
            "threads": threads}


def ray_system_cpu() -> float:
    """CPU seconds used so far by Ray's own processes on this machine (GCS, raylets, agents, not workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if (b"gcs_server" in cmd or b"raylet" in cmd or b"dashboard" in cmd or b"log_monitor" in cmd
                or b"runtime_env" in cmd or b"monitor.py" in cmd) and not cmd.startswith(b"ray::"):
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def stage_run(study, root: Path, name: str, kind: str, workers: int, address: str | None) -> dict[str, Any]:
    """One frame-stage run into a fresh run folder: wall seconds, frames, per-unit records, Ray's system CPU."""
    from eifer.config import load_config
    from eifer.frames import parallel as fpar
    from eifer.frames import run_frames
    from eifer.parallel import use_executor
    from eifer.runfolder import RunFolder

    cfg = load_config(profile="demo", overrides={"frames": {"n_jobs": workers},
                                                      "executor": {"kind": kind, "address": address}})
    run = RunFolder(root / name, cfg).init()
    units: list[dict[str, Any]] = []
    orig = fpar.run_jobs

    def run_jobs(fn, jobs, n_jobs=0, desc="videos"):
        res = orig(functools.partial(timed_job, fn), jobs, n_jobs, desc)
        units.extend(res)
        return res

    fpar.run_jobs = run_jobs
    try:
        with use_executor(cfg):
            sys0, t0 = ray_system_cpu(), time.perf_counter()
            run_frames(study, run)
            dt, sys1 = time.perf_counter() - t0, ray_system_cpu()
    finally:
        fpar.run_jobs = orig
    shutil.rmtree(root / name, ignore_errors=True)
    return {"kind": kind, "wall": dt, "frames": sum(u["frames"] for u in units), "units": units,
            "ray_sys_cpu": sys1 - sys0, "workers": workers}


def unit_overhead(kind: str, n: int = 40) -> float:
    """Milliseconds per trivial unit (a no-op) through map_units with 2 at once, on the current executor."""
    from eifer.parallel import map_units

    map_units(abs, list(range(-4, 0)), workers=2, executor=kind)  # warm: workers started
    t0 = time.perf_counter()
    map_units(abs, list(range(-n, 0)), workers=2, executor=kind)
    return (time.perf_counter() - t0) / n * 1000


def start_two_node_cluster(workers: int):
    """A Ray cluster of two real nodes on this machine (head + worker, ``workers`` CPUs split between them,
    100 MB object store each) and its address; this process is not connected to it yet."""
    from ray._common.utils import reset_ray_address
    from ray.cluster_utils import Cluster

    src = str(Path(__file__).resolve().parents[1] / "src")  # the nodes' workers import this eifer
    here = str(Path(__file__).resolve().parent)  # and this module (timed_job)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (src, here, os.environ.get("PYTHONPATH")) if p)
    head_cpus = max(1, workers // 2)
    node = {"object_store_memory": 100 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "num_cpus": head_cpus, "include_dashboard": False})
    reset_ray_address()  # nobody else on this machine joins it by accident
    cluster.add_node(**node, num_cpus=max(1, workers - head_cpus))
    cluster.wait_for_nodes()
    return cluster, cluster.address


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    fps = [r["frames"] / r["wall"] for r in runs]
    units = [u for r in runs for u in r["units"]]
    wall_in = sum(u["t1"] - u["t0"] for u in units)
    return {"fps_med": statistics.median(fps), "fps_min": min(fps), "fps_max": max(fps),
            "cpu_ms_frame": 1000 * sum(u["cpu"] for u in units) / sum(u["frames"] for u in units),
            "wall_ms_frame_unit": 1000 * wall_in / sum(u["frames"] for u in units),
            "cpu_share": sum(u["cpu"] for u in units) / wall_in,
            "gap_s_unit": sum(r["workers"] * r["wall"] - sum(u["t1"] - u["t0"] for u in r["units"])
                              for r in runs) / len(units),
            "sys_cpu_s": statistics.median(r["ray_sys_cpu"] for r in runs),
            "cached": sum(u["cached"] for u in units) / len(units),
            "processes": len({u["pid"] for u in units})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--participants", type=int, default=2, help="synthetic participants (4 videos each)")
    ap.add_argument("--seconds", type=float, default=6.0, help="seconds per video")
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="warm (local, ray) pairs, alternating")
    ap.add_argument("--ray", choices=("two-node", "local"), default="two-node",
                    help="a Ray cluster of two nodes (head + worker) or one local node")
    args = ap.parse_args()

    import ray

    from eifer.logs import configure_output
    from eifer.study import load_study

    configure_output("quiet")  # MediaPipe's native lines dropped in every worker, as under `eifer --quiet`
    from eifer.synth import synth_study

    load0 = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="bench_executor_"))
    study = load_study(synth_study(tmp / "study", participants=args.participants, seed=0,
                                   video_seconds=args.seconds, fps=args.fps, show_progress=False))
    n_videos = len(study.videos())
    t0 = time.perf_counter()
    cluster, address = start_two_node_cluster(args.workers) if args.ray == "two-node" else (None, None)
    ray.init(address=address or "local", num_cpus=None if address else args.workers, include_dashboard=False,
             log_to_driver=False)
    ray_start = time.perf_counter() - t0
    w = args.workers
    runs: dict[str, list[dict[str, Any]]] = {"local cold": [], "ray cold": [], "local warm": [], "ray warm": []}
    runs["local cold"].append(stage_run(study, tmp, "lc", "local", w, None))
    runs["ray cold"].append(stage_run(study, tmp, "rc", "ray", w, address))
    for k in range(args.rounds):
        for kind, addr in (("local", None), ("ray", address)) if k % 2 == 0 else (("ray", address), ("local", None)):
            runs[f"{kind} warm"].append(stage_run(study, tmp, f"{kind}{k}", kind, w, addr))
    overhead = {kind: unit_overhead(kind) for kind in ("local", "ray")}
    ray.shutdown()
    if cluster is not None:
        cluster.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
    load1 = os.getloadavg()

    frames = {r["frames"] for rs in runs.values() for r in rs}
    assert len(frames) == 1, f"the runs analysed different frame counts: {frames}"
    print(f"study: {n_videos} videos, {frames.pop()} frames ({args.fps} fps, {args.seconds:g} s each); "
          f"{w} workers; Ray cluster ({args.ray}) start-up {ray_start:.1f} s (not in the figures)")
    print(f"load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
          f"after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} ({os.cpu_count()} cores)")
    print(f"{'run':<12}{'n':>3}{'frames/s med':>13}{'[min-max]':>14}{'CPU ms/fr':>10}{'unit ms/fr':>11}"
          f"{'CPU/wall':>9}{'gap s/unit':>11}{'ray sys CPU s':>14}{'cached':>7}{'procs':>6}")
    s = {}
    for name, rs in runs.items():
        s[name] = summary(rs)
        x = s[name]
        spread = f"[{x['fps_min']:.1f}-{x['fps_max']:.1f}]"
        print(f"{name:<12}{len(rs):>3}{x['fps_med']:>13.1f}{spread:>14}"
              f"{x['cpu_ms_frame']:>10.1f}{x['wall_ms_frame_unit']:>11.1f}{x['cpu_share']:>9.2f}"
              f"{x['gap_s_unit']:>11.2f}{x['sys_cpu_s']:>14.1f}{x['cached']:>7.2f}{x['processes']:>6}")
    u = {kind: runs[f"{kind} warm"][0]["units"][0] for kind in ("local", "ray")}
    for kind, rec in u.items():
        print(f"threads in a {kind} unit: OMP_NUM_THREADS={rec['omp']}, OpenCV {rec['cv2_threads']}, "
              f"process threads {rec['threads']}")
    print(f"per trivial unit (no-op, 2 at once): local {overhead['local']:.1f} ms, ray {overhead['ray']:.1f} ms")
    for state in ("cold", "warm"):
        r, loc = s[f"ray {state}"], s[f"local {state}"]
        print(f"ratio ray / local frames/s, {state}: {r['fps_med'] / loc['fps_med']:.2f}  (goal >= 0.9 warm); "
              f"CPU ms/frame ray / local: {r['cpu_ms_frame'] / loc['cpu_ms_frame']:.2f}")


if __name__ == "__main__":
    main()
