"""Run one job per video through :func:`eifer.parallel.map_units`, with an overall bar and one bar per running video.

Workers report progress to the parent through the executor; a job that raises
:class:`EiferError` becomes an error result; the other videos go on.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eifer.errors import EiferError
from eifer.parallel import map_units
from eifer.utils import progress


def _call(unit: tuple[Callable, dict[str, Any]], report: Callable) -> dict[str, Any]:
    fn, job = unit
    try:
        return {"key": job["key"], "ok": True, **fn(job, report)}
    except EiferError as exc:
        return {"key": job["key"], "ok": False, "error": str(exc)}


def run_jobs(fn: Callable[[dict[str, Any], Callable], dict[str, Any]], jobs: list[dict[str, Any]],
             n_jobs: int = 0, desc: str = "videos") -> list[dict[str, Any]]:
    """Run ``fn(job, report)`` for every job; return results in job order.

    Parameters
    ----------
    fn : callable
        Top-level (picklable) function; ``report(done, total)`` updates its bar.
        It returns a dict; :class:`EiferError` it raises becomes
        ``{"ok": False, "error": message}``.
    jobs : list of dict
        Each needs a ``key`` (shown on its bar).
    n_jobs : int
        Units at once (0 = one per core, or as many as the Ray cluster fits); 1 runs in this process.
    desc : str

    Returns
    -------
    list of dict, each with ``key``, ``ok`` and ``error`` or ``fn``'s fields.
    """
    if not jobs:
        return []
    finished: set[int] = set()
    with progress() as bar:
        overall = bar.add_task(desc, total=len(jobs))
        tasks: dict[int, Any] = {}

        def on_report(i: int, done: int, total: int | None) -> None:
            if i in finished:  # a late message from a finished job
                return
            if i not in tasks:
                tasks[i] = bar.add_task(f"  {jobs[i]['key']}", total=total)
            bar.update(tasks[i], completed=done, total=total)

        def on_result(i: int, res: dict[str, Any]) -> None:
            finished.add(i)
            if i in tasks:
                bar.remove_task(tasks.pop(i))
            bar.advance(overall)

        return map_units(_call, [(fn, job) for job in jobs], workers=n_jobs, desc="", retries=2,
                         on_result=on_result, on_report=on_report)
