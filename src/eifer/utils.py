"""Small shared helpers: device choice, seeding, worker counts, progress bars."""
from __future__ import annotations

import functools
import os
import random
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

_F = TypeVar("_F", bound=Callable[..., Any])


def plain_text_figure(fn: _F) -> _F:
    """Run a figure-making function with matplotlib's mathtext off.

    Labels carry study strings (ids, names); ``P$^^$1`` would otherwise be parsed
    as TeX and fail when the figure is drawn. eifer's own labels use no mathtext.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def n_workers(n_jobs: int = 0) -> int:
    """Worker processes to use: ``n_jobs`` if > 0, else one per available core."""
    if n_jobs and n_jobs > 0:
        return n_jobs
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover
        pass


def pick_device(requested: str = "auto") -> str:
    """``"cuda"`` when available (or requested), else ``"cpu"``."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {requested!r} requested but CUDA is not available")
    return requested


def progress(transient: bool = False) -> Progress:
    """A rich progress bar with count, elapsed and remaining time.

    Disabled automatically when stdout is not a terminal (CI, pipes) so logs
    stay readable.
    """
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=transient,
        disable=os.environ.get("EIFER_NO_PROGRESS") == "1",
    )
