"""Paper-size rehearsal: frames -> affect -> select on a synthetic study of the paper's shape, and the
readers of the frame table at 1.9 M rows.

Part 1 (``--fractions``): a synthetic study of 44 participants x 4 videos (eifer.synth) whose videos
are ``fraction`` x 86 s at 10 fps (fraction 1 = 151 360 frames, the issue's >= 150 k), run through
frames, affect and select (and labels, which select reads) on 2 workers: a Ray cluster of two real
nodes (``--executor ray``, ray.cluster_utils.Cluster, one CPU each) or the local process pool
(``--executor local``). Printed per fraction: frames analysed, frames-stage seconds and frames/s,
peak resident memory of each worker process (the largest of its units' peaks, which the run log's
``unit_placed`` lines carry), per stage, the five units with the highest peaks, the driver's peak
(VmHWM of this process, which only runs the pipeline: the study is written by a subprocess), and
growth between fractions.

Part 2 (``--big-rows``, default 1.9 M): the frame and affect tables of the first fraction's run are
tiled (frame numbers shifted past the video, valence/arousal of the copies pulled toward the
neutral point so that selection still picks decoded frames) until they hold ``--big-rows`` rows,
not decoded; then ``eifer select --force``-equivalent, the report stage and
``load_run(RUN).data("frames")`` each run in a subprocess: wall seconds and peak memory (ru_maxrss).

Run on a shared 2-core machine only at small fractions (``--fractions 0.125``); say what was
extrapolated. Usage::

    python benchmarks/bench_rehearsal.py [--fractions 0.125 0.25] [--executor ray|local] [--big-rows 1900000]
    python benchmarks/bench_rehearsal.py --big-from RUN STUDY --keep DIR [--src OTHER/src]   # part 2 only
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
FULL_SECONDS, FPS, PARTICIPANTS = 86.0, 10, 44


def read_hwm_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a live process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def unit_memory(run: Path) -> list[dict]:
    """Every worker unit of the run with its worker's peak memory during it (``unit_placed`` in the run log)."""
    out = []
    for line in (run / "log.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec.get("event") == "unit_placed" and "peak_mb" in rec:
            out.append({k: rec.get(k) for k in ("stage", "desc", "unit", "pid", "peak_mb", "rss_mb")})
    return out


def make_study(root: Path, fraction: float) -> Path:
    """The synthetic study, written by a subprocess (the driver's memory is the pipeline's alone)."""
    if len(list((root / "videos").glob("*/*.mp4"))) == PARTICIPANTS * 4 and (root / "ecg").is_dir():
        return root  # kept from an earlier run (--keep)
    shutil.rmtree(root, ignore_errors=True)
    code = ("import sys; from eifer.synth import synth_study; "
            f"synth_study({str(root)!r}, participants={PARTICIPANTS}, seed=0, video_seconds={FULL_SECONDS * fraction}, "
            f"fps={FPS}, show_progress=False)")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(SRC)})
    return root


def run_fraction(root: Path, fraction: float, kind: str, address: str | None) -> dict:
    import pandas as pd

    from eifer.config import load_config
    from eifer.pipeline import run_pipeline

    study = make_study(root / f"study_{fraction:g}", fraction)
    run = root / f"run_{fraction:g}"
    cfg = load_config(profile="demo", overrides={"frames": {"n_jobs": 2},
                                                 "executor": {"kind": kind, "address": address}})
    t0 = time.perf_counter()
    run_pipeline(study, run, cfg, stages=["select"], show_progress=False)
    wall = time.perf_counter() - t0
    units = unit_memory(run)
    workers: dict[int, float] = {}  # each worker's peak over every unit it ran in this fraction
    for u in units:
        workers[u["pid"]] = max(workers.get(u["pid"], 0.0), u["peak_mb"])
    stages = {s: json.loads((run / ".stages" / f"{s}.json").read_text())["seconds"]
              for s in ("frames", "affect", "select")}
    n = sum(len(pd.read_parquet(f, columns=["frame"])) for f in (run / "frames").glob("*/*.parquet"))
    return {"fraction": fraction, "frames": n, "wall_s": wall, **{f"{s}_s": v for s, v in stages.items()},
            "frames_per_s": n / stages["frames"], "worker_peak_mb": sorted(workers.values()),
            "stage_peak_mb": {s: max((u["peak_mb"] for u in units if u["stage"] == s), default=float("nan"))
                              for s in sorted({u["stage"] for u in units})},
            "top_units": sorted(units, key=lambda u: -u["peak_mb"])[:5],
            "driver_peak_mb": read_hwm_mb(os.getpid()), "run": str(run), "study": str(study)}


def tile_frames(run: Path, rows: int) -> int:
    """Tile every video's frame and affect tables until the frame tables hold ``rows`` rows; rows written."""
    import pandas as pd

    files = sorted((run / "frames").glob("*/*.parquet"))
    total = sum(len(pd.read_parquet(f, columns=["frame"])) for f in files)
    k = max(1, -(-rows // total))
    written = 0
    for f in files:
        aff = run / "affect" / f.parent.name / f.name
        fr, af = pd.read_parquet(f), pd.read_parquet(aff) if aff.exists() else None
        span = int(fr["frame"].max()) + 1
        parts, aparts = [], []
        for c in range(k):
            t = fr.copy()
            t["frame"] += c * span
            t["time_s"] += c * span / FPS
            parts.append(t)
            if af is not None:
                a = af.copy()
                a["frame"] += c * span
                if c:  # copies rank below the decoded frames: selection still picks frames the video has
                    a[["valence", "arousal"]] = a[["valence", "arousal"]].to_numpy() * 0.5
                aparts.append(a)
        big = pd.concat(parts, ignore_index=True)
        big.to_parquet(f, index=False)
        written += len(big)
        if af is not None:
            pd.concat(aparts, ignore_index=True).to_parquet(aff, index=False)
    return written


def time_child(code: str) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of ``python -c code``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(SRC),
                                                             "EIFER_NO_PROGRESS": "1"})
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child failed ({proc.returncode}): {code}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def run_big(src_run: Path, study: Path, root: Path, rows: int) -> dict:
    big = root / "run_big"
    done = big / "tiled_rows.txt"  # (not a file eifer reads) a kept tiling is reused
    if done.exists() and int(done.read_text()) >= rows:
        n = int(done.read_text())
    else:
        shutil.rmtree(big, ignore_errors=True)
        shutil.copytree(src_run, big)
        n = tile_frames(big, rows)
        done.write_text(str(n))
    out: dict = {"rows": n}
    cfg = "from eifer.runfolder import read_run_config as r; "
    for name, code in (
        ("select", f"{cfg}from eifer.pipeline import run_pipeline as p; "
                   f"p({str(study)!r}, {str(big)!r}, r({str(big)!r}), stages=['select'], force=['select'], "
                   "show_progress=False)"),
        # the report stage alone, from whatever the run folder holds (no upstream stage is rerun)
        ("report", f"{cfg}from eifer.runfolder import RunFolder; from eifer.report.build import build_report; "
                   f"build_report(RunFolder({str(big)!r}, r({str(big)!r})))"),
        ("load_run(RUN).data('frames')", f"import eifer; d = eifer.load_run({str(big)!r}).data('frames'); "
                                         "print(len(d))"),
    ):
        out[name] = time_child(code)
        print(f"  {name}: {out[name][0]:.1f} s, {out[name][1]:.0f} MB peak", flush=True)
    return out


def print_big(big: dict) -> None:
    print(f"\nframe table of {big['rows']} rows (tiled, not decoded):", flush=True)
    for name in ("select", "report", "load_run(RUN).data('frames')"):
        sec, mb = big[name]
        print(f"  {name:<32}{sec:>8.1f} s {mb:>8.0f} MB peak", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.125])
    ap.add_argument("--executor", choices=("ray", "local"), default="ray")
    ap.add_argument("--big-rows", type=int, default=1_900_000, help="0 skips part 2")
    ap.add_argument("--keep", help="folder to keep the studies and runs in (default: a temporary one, removed)")
    ap.add_argument("--big-from", nargs=2, metavar=("RUN", "STUDY"),
                    help="part 2 only, tiling this run folder's frame tables (made through select) of STUDY")
    ap.add_argument("--src", help="the eifer source tree the measured child processes import (default: this "
                                  "checkout's src), e.g. another branch's, to compare before/after on one machine")
    args = ap.parse_args()
    if args.src:
        global SRC
        SRC = Path(args.src).resolve()
    print(f"eifer from {SRC}", flush=True)
    os.environ.setdefault("EIFER_NO_PROGRESS", "1")
    from eifer.logs import configure_output

    configure_output("normal")  # as the command line does: MediaPipe's native log lines are not printed
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench_rehearsal_"))
    root.mkdir(parents=True, exist_ok=True)
    if args.big_from:
        print_big(run_big(Path(args.big_from[0]), Path(args.big_from[1]), root, args.big_rows))
        return

    for fraction in args.fractions:  # the studies first: their writer is not what is measured
        make_study(root / f"study_{fraction:g}", fraction)
    cluster, address = None, None
    if args.executor == "ray":
        from bench_executor import start_two_node_cluster

        cluster, address = start_two_node_cluster(2)
    results = []
    try:
        for fraction in sorted(args.fractions):
            results.append(run_fraction(root, fraction, args.executor, address))
            r = results[-1]
            print(f"fraction {fraction:g}: {r['frames']} frames, frames stage {r['frames_s']:.0f} s "
                  f"({r['frames_per_s']:.1f} frames/s), affect {r['affect_s']:.0f} s, select {r['select_s']:.0f} s; "
                  f"peak MB workers {[round(w) for w in r['worker_peak_mb']]}, driver {r['driver_peak_mb']:.0f}; "
                  f"worker peak by stage {({k: round(v) for k, v in r['stage_peak_mb'].items()})}",
                  flush=True)
            for u in r["top_units"]:
                print(f"    top unit: {u}", flush=True)
    finally:
        if cluster is not None:
            import ray

            ray.shutdown()
            cluster.shutdown()
    print(f"\n{'fraction':>8} {'frames':>8} {'frames/s':>9} {'worker peak MB':>15} {'driver peak MB':>15}")
    for r in results:
        print(f"{r['fraction']:>8g} {r['frames']:>8} {r['frames_per_s']:>9.1f} {max(r['worker_peak_mb']):>15.0f} "
              f"{r['driver_peak_mb']:>15.0f}")
    if len(results) > 1:
        a, b = results[0], results[-1]
        print(f"growth {a['fraction']:g} -> {b['fraction']:g} ({b['frames'] / a['frames']:.2f}x frames): "
              f"worker peak {max(b['worker_peak_mb']) / max(a['worker_peak_mb']):.2f}x, "
              f"driver peak {b['driver_peak_mb'] / a['driver_peak_mb']:.2f}x")
    print(f"resource.getrusage(self) maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.big_rows:
        print_big(run_big(Path(results[0]["run"]), Path(results[0]["study"]), root, args.big_rows))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
