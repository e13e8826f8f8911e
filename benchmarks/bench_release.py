"""Cost of a worker's clean-up after each unit (eifer.parallel._release_memory), against collecting without freezing.

After every unit a worker collects cyclic garbage (``gc.collect()``), freezes what survived
(``gc.freeze()``: the worker's modules and models, which later collections then skip) and
returns free heap pages (glibc ``malloc_trim``). The baseline, measured in the same run, is
the same clean-up without the freeze: each collection then scans every object of MediaPipe,
pandas (and torch, once loaded) again.

Each variant runs in its own fresh process: the frames units of a few synthetic videos
(eifer.synth, 640x480, 10 fps), then the clean-up, timed per unit. Printed: the median
clean-up per unit (units 2..n; unit 1 includes the first full collection in both), the median
unit, and the ratio baseline / eifer.

    .venv/bin/python benchmarks/bench_release.py [--videos 8] [--seconds 10]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

CHILD = r"""
import gc, json, sys, time
from eifer import parallel
from eifer.config import load_config
from eifer.frames.stage import _extract_job

if sys.argv[2] == "no-freeze":
    gc.freeze = lambda: None  # the baseline: collect after each unit, freeze nothing
parallel._tune_malloc()
cfg = load_config(profile="demo").frames.model_dump()
out = []
for k, v in enumerate(json.loads(sys.argv[1])):
    job = {"frames_cfg": cfg, "path": v, "participant_id": "P", "video_id": f"V{k}", "out": v + f".{k}.parquet"}
    t0 = time.perf_counter()
    _extract_job(job, lambda *a: None)
    t1 = time.perf_counter()
    parallel._release_memory()
    out.append((t1 - t0, time.perf_counter() - t1))
print(json.dumps(out))
"""


def run_variant(videos: list[str], variant: str) -> list[tuple[float, float]]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "EIFER_NO_PROGRESS": "1", "EIFER_LOG_LEVEL": "quiet"}
    res = subprocess.run([sys.executable, "-c", CHILD, json.dumps(videos), variant], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_release_") as tmp:
        n = max(2, -(-args.videos // 4))  # 4 videos per participant
        code = (f"from eifer.synth import synth_study; synth_study({tmp!r} + '/s', participants={n}, seed=0, "
                f"video_seconds={args.seconds}, fps=10, show_progress=False)")
        subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(SRC)})
        videos = sorted(str(p) for p in Path(tmp, "s", "videos").glob("*/*.mp4"))[: args.videos]
        rows = {}
        for variant in ("no-freeze", "eifer"):  # baseline first, then eifer's, each in a fresh process
            got = run_variant(videos, variant)
            rows[variant] = (statistics.median(u for u, _ in got[1:]), statistics.median(r for _, r in got[1:]),
                             got[0][1])
    print(f"{len(videos)} videos x {args.seconds:g} s at 10 fps, frames units in one process per variant")
    print(f"{'variant':<12}{'unit s (median)':>17}{'clean-up ms (median)':>22}{'first clean-up ms':>19}")
    for name, (unit, rel, first) in rows.items():
        print(f"{name:<12}{unit:>17.2f}{1000 * rel:>22.1f}{1000 * first:>19.1f}")
    base, ours = rows["no-freeze"][1], rows["eifer"][1]
    print(f"clean-up per unit, no-freeze / eifer: {base / ours:.1f}x; share of a unit: "
          f"{100 * base / rows['no-freeze'][0]:.1f} % -> {100 * ours / rows['eifer'][0]:.1f} %")


if __name__ == "__main__":
    main()
