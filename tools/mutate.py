#!/usr/bin/env python
"""Mutation test of the result-deciding cores: plant one small bug at a time, run its stage's tests.

Every mutant in ``tools/mutants.py`` is one exact text replacement in one source file
(a flipped comparison, a dropped NaN rule, a changed tie order, ...). For each, the
harness copies ``src/eifer`` to a temporary folder, applies the replacement there (the
working tree is never touched), and runs only that stage's tests (``STAGE_TESTS``)
with ``PYTHONPATH`` pointing at the copy. A mutant is

* ``killed``   — a test failed (or the run timed out: a planted infinite loop is caught),
* ``survived`` — every test passed: a gap in the tests,
* ``stale``    — its original text is not (exactly once) in the file: the code moved on,
  the mutant must be rewritten (counted apart, never as killed),
* ``error``    — pytest could not run the selection (bad test path): a harness problem.

Mutants marked ``equivalent`` (no observable behaviour differs; the reason is listed)
are not run unless ``--equivalent`` asks to confirm that they survive. The kill rate is
killed / (killed + survived) over the non-equivalent mutants.

Usage (one command: ``make mutate``)::

    python tools/mutate.py                      # every stage
    python tools/mutate.py --stage hrv,cutoff   # some stages
    python tools/mutate.py --only cut-03        # one mutant
    python tools/mutate.py --list               # the mutants and the equivalent ones with reasons
    python tools/mutate.py --baseline           # the stage selections pass on the unmutated code

Runs mutants one at a time by default (``--jobs`` for more), each under ``--timeout``
seconds. Not part of CI: about 10-20 s per mutant on two cores.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from mutants import MUTANTS, STAGE_TESTS, Mutant  # noqa: E402


def apply_mutant(m: Mutant, src_root: Path) -> str | None:
    """Write the mutated file under ``src_root`` (a copy of src/); return why not, or None."""
    path = src_root / m.file
    text = path.read_text()
    n = text.count(m.original)
    if n != 1:
        return f"original text found {n} times in {m.file}"
    path.write_text(text.replace(m.original, m.mutated))
    return None


def run_pytest(args: list[str], src: Path, timeout: float) -> tuple[int | None, str, float]:
    """Run pytest on ``args`` with ``src`` first on the path; (exit code or None on timeout, tail, seconds)."""
    env = dict(os.environ, PYTHONPATH=str(src), EIFER_NO_PROGRESS="1", PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header", "-rN", *args]
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timeout", time.monotonic() - t0
    tail = (r.stdout + r.stderr).strip().splitlines()
    return r.returncode, tail[-1] if tail else "", time.monotonic() - t0


def run_mutant(m: Mutant, timeout: float) -> dict:
    """Copy src/eifer, plant ``m``, run its stage's tests; the verdict as a dict."""
    with tempfile.TemporaryDirectory(prefix=f"mutant-{m.id}-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(ROOT / "src" / "eifer", src / "eifer", ignore=shutil.ignore_patterns("__pycache__"))
        why = apply_mutant(m, src)
        if why:
            return {"id": m.id, "status": "stale", "detail": why, "seconds": 0.0}
        rc, tail, secs = run_pytest(STAGE_TESTS[m.stage], src, timeout)
    if rc is None:
        status = "killed"
        tail = f"timed out after {timeout:g} s"
    elif rc == 0:
        status = "survived"
    elif rc in (1, 2):  # 1: a test failed; 2: collection failed (e.g. the mutant broke an import)
        status = "killed"
    else:
        status = "error"
    return {"id": m.id, "status": status, "detail": tail, "seconds": secs}


def select_mutants(stages: str | None, only: str | None, equivalent: bool) -> list[Mutant]:
    chosen = [m for m in MUTANTS if equivalent or not m.equivalent]
    if stages:
        want = set(stages.split(","))
        unknown = want - set(STAGE_TESTS)
        if unknown:
            sys.exit(f"unknown stage(s) {sorted(unknown)}; choose from {sorted(STAGE_TESTS)}")
        chosen = [m for m in chosen if m.stage in want]
    if only:
        ids = set(only.split(","))
        chosen = [m for m in MUTANTS if m.id in ids]
        if len(chosen) != len(ids):
            sys.exit(f"unknown mutant id(s) {sorted(ids - {m.id for m in chosen})}")
    return chosen


def print_list() -> None:
    for m in MUTANTS:
        eq = f"   EQUIVALENT: {m.equivalent}" if m.equivalent else ""
        print(f"{m.id:8s} {m.stage:7s} [{m.gap}] {m.what}{eq}")
    n_eq = sum(bool(m.equivalent) for m in MUTANTS)
    print(f"\n{len(MUTANTS)} mutants, {n_eq} equivalent, in {len(STAGE_TESTS)} stages")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stage", help="comma-separated stages (default: all)")
    ap.add_argument("--only", help="comma-separated mutant ids")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--baseline", action="store_true", help="run each stage's tests on the unmutated code")
    ap.add_argument("--equivalent", action="store_true", help="also run the equivalent mutants (should survive)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant run (default 300)")
    ap.add_argument("--jobs", type=int, default=1, help="mutants run at the same time (default 1)")
    ap.add_argument("--min-rate", type=float, default=0.95, help="exit 1 below this kill rate (default 0.95)")
    args = ap.parse_args(argv)
    if args.list:
        print_list()
        return 0
    if args.baseline:
        bad = 0
        for stage, tests in STAGE_TESTS.items():
            if args.stage and stage not in args.stage.split(","):
                continue
            rc, tail, secs = run_pytest(tests, ROOT / "src", args.timeout)
            print(f"baseline {stage:7s} {'ok ' if rc == 0 else 'FAIL'} {secs:6.1f} s  {tail}", flush=True)
            bad += rc != 0
        return int(bad > 0)
    chosen = select_mutants(args.stage, args.only, args.equivalent)
    print(f"{len(chosen)} mutant(s), {args.jobs} at a time, timeout {args.timeout:g} s", flush=True)
    by_id = {m.id: m for m in MUTANTS}
    results = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for r in pool.map(lambda m: run_mutant(m, args.timeout), chosen):
            m = by_id[r["id"]]
            mark = " (equivalent)" if m.equivalent else ""
            print(f"{r['status']:8s} {m.id:8s} {r['seconds']:6.1f} s  {m.what}{mark}  | {r['detail']}", flush=True)
            results.append(r)
    counted = [r for r in results if not by_id[r["id"]].equivalent]
    killed = sum(r["status"] == "killed" for r in counted)
    timeouts = [r["id"] for r in counted if r["status"] == "killed" and r["detail"].startswith("timed out")]
    survived = [r["id"] for r in counted if r["status"] == "survived"]
    stale = [r["id"] for r in counted if r["status"] == "stale"]
    errors = [r["id"] for r in counted if r["status"] == "error"]
    decided = killed + len(survived)
    rate = killed / decided if decided else float("nan")
    print(f"\nkilled {killed} of {decided} non-equivalent mutants: kill rate {100 * rate:.1f} %")
    if timeouts:
        print(f"killed by the timeout only (a test that decides faster would be better): {', '.join(timeouts)}")
    if survived:
        print(f"survived: {', '.join(survived)}")
    if stale or errors:
        print(f"not decided: stale {stale or '-'}, error {errors or '-'} (rewrite these mutants)")
    eq = [m for m in MUTANTS if m.equivalent]
    print(f"{len(eq)} equivalent mutant(s) not counted (tools/mutate.py --list gives the reasons)")
    return int(not decided or rate < args.min_rate or bool(stale) or bool(errors))


if __name__ == "__main__":
    raise SystemExit(main())
