"""Run one job per video in a process pool, with an overall bar and one bar per running video.

Workers start with ``spawn`` (MediaPipe and torch do not survive ``fork`` of a
threaded parent reliably) and report progress through a manager queue. A job
that raises :class:`EiferError` becomes an error result; the other videos go on.
"""
from __future__ import annotations

import multiprocessing as mp
import queue as _queue
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable

from eifer.errors import EiferError
from eifer.utils import n_workers, progress


def _call(fn: Callable, job: dict[str, Any], q, key: str, on_report: Callable | None = None) -> dict[str, Any]:
    def report(done: int, total: int | None = None) -> None:
        if on_report is not None:  # in-process: update the bar directly
            on_report(key, done, total)
        elif q is not None:
            q.put((key, done, total))

    try:
        return {"key": key, "ok": True, **fn(job, report)}
    except EiferError as exc:
        return {"key": key, "ok": False, "error": str(exc)}


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
        Worker processes (0 = one per core); 1 runs in this process.
    desc : str

    Returns
    -------
    list of dict, each with ``key``, ``ok`` and ``error`` or ``fn``'s fields.
    """
    if not jobs:
        return []
    workers = min(n_workers(n_jobs), len(jobs))
    results: dict[str, dict[str, Any]] = {}
    with progress() as bar:
        overall = bar.add_task(desc, total=len(jobs))
        tasks: dict[str, Any] = {}

        def on_report(key: str, done: int, total: int | None) -> None:
            if key in results:  # a late message from a finished job
                return
            if key not in tasks:
                tasks[key] = bar.add_task(f"  {key}", total=total)
            bar.update(tasks[key], completed=done, total=total)

        def finish(res: dict[str, Any]) -> None:
            results[res["key"]] = res
            if res["key"] in tasks:
                bar.remove_task(tasks.pop(res["key"]))
            bar.advance(overall)

        if workers == 1:
            for job in jobs:
                finish(_call(fn, job, None, job["key"], on_report))
        else:
            ctx = mp.get_context("spawn")
            with ctx.Manager() as manager, ProcessPoolExecutor(workers, mp_context=ctx) as pool:
                q = manager.Queue()
                pending = {pool.submit(_call, fn, job, q, job["key"]) for job in jobs}
                while pending:
                    done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                    try:
                        while True:
                            on_report(*q.get_nowait())
                    except _queue.Empty:
                        pass
                    for fut in done:
                        finish(fut.result())
    return [results[j["key"]] for j in jobs]
