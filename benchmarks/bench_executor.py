"""Frame-stage throughput under the ``local`` and ``ray`` executors, and its scaling from 1 to 2 workers.

Prints, in one run on the same synthetic study (eifer.synth, written to a
temporary folder), the frames per second of the whole frame stage
(:func:`eifer.frames.run_frames`: one unit per video, decode + detect + mesh +
quality; every video decoded once) for

* ``local``, 1 worker (units run one by one in this process: the baseline);
* ``local``, ``--workers`` (default 2) spawned processes: ``cold`` pays their
  start-up (spawn + imports), ``warm`` reuses them (the pool is kept between
  stages of a run);
* ``ray``, ``--workers`` units at once on a Ray cluster: ``--ray two-node`` (the
  default) joins a cluster of real nodes made with Ray's multi-node test
  utility (``ray.cluster_utils.Cluster``: a head and a worker node, each its own
  raylet, object store and workers, ``--workers`` CPUs split between them), as
  ``executor.address`` joins a cluster started with ``ray start``; ``--ray local``
  lets eifer start a one-node Ray cluster with ``--workers`` CPUs. The cluster
  is started before timing (its start-up is printed apart), the first stage run
  on it pays the Ray workers' start-up (``cold``), a second run reuses them
  (``warm``);

and the ratios ray / local (target ≥ 0.9) and N / 1 workers.
Each timed run writes a fresh run folder, as a real stage does. Wall-clock
numbers on a shared machine are noisy: compare ratios of the same run.

Usage::

    python benchmarks/bench_executor.py [--participants 2] [--seconds 8] [--fps 15] [--workers 2]
                                        [--ray two-node|local]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def stage_seconds(study, root: Path, name: str, kind: str, workers: int,
                  address: str | None = None) -> tuple[float, int]:
    """Wall seconds of one frame-stage run into a fresh run folder, and the frames it analysed."""
    import pandas as pd

    from eifer.config import load_config
    from eifer.frames import run_frames
    from eifer.parallel import use_executor
    from eifer.runfolder import RunFolder

    cfg = load_config(profile="demo", overrides={"frames": {"n_jobs": workers},
                                                      "executor": {"kind": kind, "address": address}})
    run = RunFolder(root / name, cfg).init()
    with use_executor(cfg):
        t0 = time.perf_counter()
        run_frames(study, run)
        dt = time.perf_counter() - t0
    n = sum(len(pd.read_parquet(f)) for f in (root / name / "frames").rglob("*.parquet"))
    return dt, n


def start_two_node_cluster(workers: int):
    """A Ray cluster of two real nodes on this machine (head + worker, ``workers`` CPUs split between them,
    100 MB object store each) and its address; this process is not connected to it yet."""
    from ray._common.utils import reset_ray_address
    from ray.cluster_utils import Cluster

    src = str(Path(__file__).resolve().parents[1] / "src")  # the nodes' workers import this eifer
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)
    head_cpus = max(1, workers // 2)
    node = {"object_store_memory": 100 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "num_cpus": head_cpus, "include_dashboard": False})
    reset_ray_address()  # nobody else on this machine joins it by accident
    cluster.add_node(**node, num_cpus=max(1, workers - head_cpus))
    cluster.wait_for_nodes()
    return cluster, cluster.address


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--participants", type=int, default=2, help="synthetic participants (4 videos each)")
    ap.add_argument("--seconds", type=float, default=8.0, help="seconds per video")
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ray", choices=("two-node", "local"), default="two-node",
                    help="a Ray cluster of two nodes (head + worker) or one local node")
    args = ap.parse_args()

    import ray

    from eifer.study import load_study
    from eifer.synth import synth_study

    tmp = Path(tempfile.mkdtemp(prefix="bench_executor_"))
    study = load_study(synth_study(tmp / "study", participants=args.participants, seed=0,
                                   video_seconds=args.seconds, fps=args.fps, show_progress=False))
    n_videos = len(study.videos())
    res: dict[str, tuple[float, int]] = {}
    res["local, 1 worker"] = stage_seconds(study, tmp, "local1", "local", 1)
    res[f"local, {args.workers} workers (cold)"] = stage_seconds(study, tmp, "localN", "local", args.workers)
    res[f"local, {args.workers} workers (warm)"] = stage_seconds(study, tmp, "localN_warm", "local", args.workers)
    t0 = time.perf_counter()
    cluster, address = start_two_node_cluster(args.workers) if args.ray == "two-node" else (None, None)
    ray.init(address=address or "local", num_cpus=None if address else args.workers, include_dashboard=False,
             log_to_driver=False)
    ray_start = time.perf_counter() - t0
    res[f"ray, {args.workers} workers (cold)"] = stage_seconds(study, tmp, "rayN_cold", "ray", args.workers, address)
    res[f"ray, {args.workers} workers (warm)"] = stage_seconds(study, tmp, "rayN_warm", "ray", args.workers, address)
    ray.shutdown()
    if cluster is not None:
        cluster.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)

    frames = {n for _, n in res.values()}
    assert len(frames) == 1, f"the runs analysed different frame counts: {res}"
    print(f"study: {n_videos} videos, {frames.pop()} frames ({args.fps} fps, {args.seconds:g} s each); "
          f"Ray cluster ({args.ray}) start-up {ray_start:.1f} s (not in the figures below)")
    print(f"{'executor':<28}{'seconds':>9}{'frames/s':>10}")
    fps = {}
    for name, (dt, n) in res.items():
        fps[name] = n / dt
        print(f"{name:<28}{dt:>9.1f}{fps[name]:>10.1f}")
    w = args.workers
    for state in ("cold", "warm"):
        print(f"ratio ray / local, {w} workers, {state}: "
              f"{fps[f'ray, {w} workers ({state})'] / fps[f'local, {w} workers ({state})']:.2f}  (target >= 0.9)")
    for kind in ("local", "ray"):
        cold = fps[f"{kind}, {w} workers (cold)"] / fps["local, 1 worker"]
        print(f"scaling 1 -> {w} workers, {kind}: cold {cold:.2f}x, "
              f"warm {fps[f'{kind}, {w} workers (warm)'] / fps['local, 1 worker']:.2f}x")


if __name__ == "__main__":
    main()
