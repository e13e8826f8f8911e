"""Unit functions for tests/test_parallel.py: top-level in an importable module, so spawned
workers and Ray workers can load them (tests/ is put on their PYTHONPATH)."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def slow_square(x: int) -> int:
    """Later units finish first (unit order must not depend on it)."""
    time.sleep(0.05 * (4 - x) if x < 4 else 0)
    return x * x


def raise_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is not allowed")
    return x


def die_n_times(unit: tuple) -> str:
    """Kill this worker process (SIGKILL) the first ``n`` times the unit runs (counted in ``marker``)."""
    name, n, marker = unit
    if n:
        f = Path(marker)
        count = int(f.read_text()) if f.exists() else 0
        if count < n:
            f.write_text(str(count + 1))
            os.kill(os.getpid(), signal.SIGKILL)
    return f"{name} ok in {os.environ.get('EIFER_IN_WORKER', '0')}"


def record_pid_and_sleep(unit: tuple) -> int:
    """Write this worker's pid into ``folder`` and sleep (the parent is killed meanwhile)."""
    folder, k = unit
    Path(folder, f"{os.getpid()}.pid").write_text(str(os.getpid()))
    time.sleep(60)
    return k


def reporting(unit: int, report) -> int:
    for d in range(3):
        report(d + 1, 3)
    return unit


def reporting_many(unit: int, report) -> int:
    """``unit`` progress reports in a burst, then the result at once (a unit's last reports are its newest)."""
    for d in range(unit):
        report(d + 1, unit)
    return unit


def hrv_job_killed_once(unit: tuple):
    """The HRV stage's unit (one participant), but its worker is killed the first time for participant ``victim``."""
    from eifer.hrv.stage import _job

    victim, args = unit
    marker = Path(args[-1]).parent / f"killed-{args[1]}"
    if args[1] == victim and not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("killed")
        os.kill(os.getpid(), signal.SIGKILL)
    return _job(args)


def where(_unit) -> str:
    """``ray`` inside a Ray worker, else ``local`` (a spawned pool worker does not import ray)."""
    import sys

    return "ray" if "ray" in sys.modules and sys.modules["ray"].is_initialized() else "local"


def sleepy_pid(_unit) -> int:
    time.sleep(0.3)
    return os.getpid()


def cwd_of_unit(_: object) -> str:
    """The working folder a unit runs in (a kept pool must follow the caller's)."""
    return os.getcwd()


def malloc_tuned(_: int) -> tuple[bool, int]:
    """Whether this worker fixed glibc's mmap threshold (eifer.parallel._tune_malloc), and its pid."""
    from eifer import parallel

    return parallel._libc is not None, os.getpid()


def hold_mb(unit: tuple[int, float]) -> int:
    """Touch ``n`` MB (the unit's own memory peak), drop it, then wait ``seconds``; this worker's pid.

    The memory is left in a reference cycle, as garbage only Python's cycle collector frees.
    """
    import gc

    import numpy as np

    n, seconds = unit
    gc.disable()  # (the unit's own; eifer's collection after the unit must free it)
    try:
        a = np.ones(n * 2**20 // 8)
        assert a.sum() == len(a)
        cycle: list = [a]
        cycle.append(cycle)
        del a, cycle
    finally:
        gc.enable()
    time.sleep(seconds)
    return os.getpid()
