"""``Resources`` / ``map_units`` from :mod:`eifer.parallel`, with a stand-in until that module is merged.

TODO(issue-17 merge): delete the fallback below once ``eifer.parallel`` (issue 17,
item 1) is on main; callers already use its API.
"""
from __future__ import annotations

try:
    from eifer.parallel import Resources, get_executor, map_units  # noqa: F401
except ImportError:  # pragma: no cover - removed at the merge
    from concurrent.futures import ProcessPoolExecutor
    from dataclasses import dataclass
    import multiprocessing as mp
    from typing import Any, Callable

    from eifer.utils import n_workers

    @dataclass(frozen=True)
    class _Local:
        kind: str = "local"

    def get_executor() -> _Local:  # type: ignore[no-redef]
        return _Local()

    @dataclass(frozen=True)
    class Resources:  # type: ignore[no-redef]
        cpus: float = 1
        gpus: float = 0
        memory_mb: int = 0

    def map_units(fn: Callable[[Any], Any], units: list, *, resources: Resources | None = None,  # type: ignore[no-redef]
                  workers: int | None = None, executor: Any = None, desc: str = "", retries: int = 0) -> list:
        """Results of ``fn(unit)`` in unit order (local stand-in: spawn pool, or in-process for 1 worker)."""
        if resources is not None and resources.gpus:  # no device placement here: one unit at a time
            workers = 1
        workers = min(n_workers(workers or 0), max(1, len(units)))  # 0/None = one per core
        if workers == 1:
            return [fn(u) for u in units]
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            return list(pool.map(fn, units))
