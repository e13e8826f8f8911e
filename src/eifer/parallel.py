"""One executor for every unit of work: a local process pool (default) or Ray.

Every stage runs its units (a video, a participant, a training run, a
calibration chunk, a synthetic participant) through :func:`map_units`. Results
come back in unit order, so the executor never changes a table; units write
their own files atomically, so resume and caching do not depend on it either.

* ``local``: a *spawn* process pool (MediaPipe and torch do not survive
  ``fork`` of a threaded parent), kept for the next stage while its size stays
  the same (workers start once per run, not once per stage). Workers die with
  their parent: Linux's ``PR_SET_PDEATHSIG`` plus a watchdog thread on the
  parent's pid. A worker that dies (killed, out of memory) breaks the pool; the
  units not finished get a new pool and are retried.
  On Linux (glibc) a worker fixes malloc's mmap threshold and trims its heap
  after each unit, so its memory stays flat however many frames it analyses
  (see :func:`_tune_malloc`).
* ``ray``: Ray Core tasks with the unit's CPUs, GPUs and memory; Ray retries a
  task whose worker died (``max_retries``). ``ray.init(address=...)`` joins an
  existing cluster (``ray start`` in a Slurm allocation, KubeRay, ...) or starts
  a local one; the run folder must then be on a filesystem every node sees.
  Ray is imported only when it is used.

A unit that raises an ordinary exception is not retried: the exception
propagates with a note naming the unit.

Examples
--------
>>> map_units(abs, [-2, 1, -3], workers=1)
[2, 1, 3]
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eifer.errors import EiferError
from eifer.utils import n_workers, progress

_IN_WORKER = "EIFER_IN_WORKER"  # set inside a unit's worker: nested map_units run serially there


@dataclass(frozen=True)
class Resources:
    """What one unit needs: CPU cores, GPUs and memory (Ray schedules by these).

    Examples
    --------
    >>> Resources(gpus=1)
    Resources(cpus=1.0, gpus=1, memory_mb=None)
    """

    cpus: float = 1.0
    gpus: float = 0.0
    memory_mb: int | None = None


@dataclass(frozen=True)
class ExecutorSpec:
    """Which executor runs units: ``kind`` ``local`` or ``ray``; ``address`` of a Ray cluster
    (None starts a local one with ``workers`` CPUs, None = all cores)."""

    kind: str = "local"
    address: str | None = None
    workers: int | None = None


_current: ExecutorSpec | None = None
_ray_started_here = False


def executor_spec(cfg: Any = None) -> ExecutorSpec:
    """An :class:`ExecutorSpec` from a kind name, a config section (``cfg.executor``), a full config or None.

    Examples
    --------
    >>> executor_spec("ray").kind
    'ray'
    >>> executor_spec(None).kind
    'local'
    """
    if cfg is None:
        return ExecutorSpec()
    if isinstance(cfg, ExecutorSpec):
        return cfg
    if isinstance(cfg, str):
        spec = ExecutorSpec(kind=cfg)
    else:
        sec = getattr(cfg, "executor", cfg)
        spec = ExecutorSpec(kind=sec.kind, address=sec.address, workers=sec.workers)
    if spec.kind not in ("local", "ray"):
        raise EiferError(f"executor kind {spec.kind!r} unknown; choose 'local' or 'ray'")
    return spec


def get_executor() -> ExecutorSpec:
    """The executor :func:`map_units` uses when none is passed (set by :func:`use_executor`)."""
    return _current or ExecutorSpec()


@contextlib.contextmanager
def use_executor(cfg: Any) -> Iterator[ExecutorSpec]:
    """Within the block, stages run their units on this executor (a kind, ``cfg.executor`` or a config).

    A local Ray cluster started inside the block is shut down at its end; one
    that was already running (or a remote cluster) is left alone.

    Examples
    --------
    >>> with use_executor("local"):
    ...     get_executor().kind
    'local'
    """
    global _current, _ray_started_here
    spec, prev, started_before = executor_spec(cfg), _current, _ray_started_here
    _current = spec
    try:
        yield spec
    finally:
        _current = prev
        if spec.kind == "ray" and _ray_started_here and not started_before:
            import ray

            ray.shutdown()
            _ray_started_here = False


def map_units(fn: Callable, units: Sequence[Any], *, resources: Resources = Resources(), workers: int | None = None,
              executor: Any = None, desc: str = "", retries: int = 2,
              on_result: Callable[[int, Any], None] | None = None,
              on_report: Callable[[int, int, int | None], None] | None = None) -> list:
    """Run ``fn(unit)`` for every unit on the configured executor; return the results in unit order.

    Parameters
    ----------
    fn : callable
        Top-level (picklable) function. With ``on_report`` it is called as
        ``fn(unit, report)`` and ``report(done, total)`` reaches ``on_report``.
    units : sequence
        Picklable units.
    resources : Resources
        What one unit needs (Ray schedules by it; the local pool runs ``workers`` at once).
    workers : int, optional
        Units at once: 1 runs them here, one by one (``local`` also does so for a single unit);
        0 or None = one per core (``local``) or as many as the Ray cluster fits. Inside a
        unit's worker, nested calls run serially.
    executor : str, ExecutorSpec or config, optional
        Default: :func:`get_executor`.
    desc : str
        Label of a progress bar over the units; empty = no bar (the caller shows its own).
    retries : int
        How often a unit whose *worker died* is run again. A unit that raises is not retried.
    on_result : callable, optional
        ``on_result(index, result)`` in this process as each unit finishes (any order),
        e.g. to checkpoint.
    on_report : callable, optional
        ``on_report(index, done, total)`` for a unit's own progress reports.

    Returns
    -------
    list
        ``fn``'s results, in the order of ``units``.

    Examples
    --------
    >>> map_units(str.upper, ["a", "b"], workers=1, desc="")
    ['A', 'B']
    """
    units = list(units)
    spec = executor_spec(executor) if executor is not None else get_executor()
    if not units:
        return []
    local_n = n_workers(workers or 0)
    # Ray runs even a single unit remotely: this process may lack the unit's GPU (a cluster's login node)
    serial = workers == 1 or os.environ.get(_IN_WORKER) == "1" \
        or (spec.kind == "local" and (local_n <= 1 or len(units) < 2))
    results: list[Any] = [None] * len(units)
    bar = progress()
    bar.disable = bar.disable or not desc
    with bar:
        task = bar.add_task(desc or "units", total=len(units))

        def finish(i: int, res: Any) -> None:
            results[i] = res
            if on_result is not None:
                on_result(i, res)
            bar.advance(task)

        if serial:
            for i, unit in enumerate(units):
                rep = (lambda d, t=None, i=i: on_report(i, d, t)) if on_report else None
                finish(i, _run_unit(fn, unit, i, rep, desc))
        elif spec.kind == "ray":
            _map_ray(fn, units, resources, workers or None, spec, retries, finish, on_report, desc)
        else:
            _map_local(fn, units, min(local_n, len(units)), retries, finish, on_report, desc)
    return results


def _unit_name(i: int, unit: Any, desc: str) -> str:
    text = repr(unit)
    return f"unit {i}{f' of {desc}' if desc else ''} ({text[:160]}{'...' if len(text) > 160 else ''})"


def _run_unit(fn: Callable, unit: Any, i: int, report: Callable | None, desc: str) -> Any:
    try:
        return fn(unit, report) if report is not None else fn(unit)
    except EiferError:
        raise  # its message already names the file and the problem
    except Exception as exc:
        exc.add_note(f"eifer: raised by {_unit_name(i, unit, desc)}")
        raise


# ---------------------------------------------------------------- worker memory

_MMAP_THRESHOLD = 128 * 1024  # bytes: glibc's default threshold, made fixed (not raised by the first free)
_libc: Any = None  # glibc, once _tune_malloc set it up in this worker


def _tune_malloc() -> bool:
    """Worker: keep glibc's heap from growing with the frames the worker has analysed; True when set.

    A worker runs unit after unit (one video each). glibc raises its mmap
    threshold to the size of the largest block freed so far (dynamic
    threshold), so after the first video the per-frame image buffers
    (≈ 0.9 MB at 640 × 480) come from the heap arenas instead of ``mmap``;
    interleaved with long-lived small blocks they fragment the arenas, which
    grow by the frames processed while the memory in use stays flat (measured:
    arenas +60 MB and peak RSS +40-60 MB over 8 videos of 430 frames, ~18 KB a
    frame over a paper-size run). Fixing the threshold (``mallopt``, which also
    turns the dynamic raise off) sends large buffers back to ``mmap``;
    :func:`_release_memory` returns freed heap pages after each unit. Only
    allocation placement changes, never a result. Not on other platforms or
    C libraries (musl, macOS), nor where ``MALLOC_MMAP_THRESHOLD_`` chooses the
    threshold itself.
    """
    global _libc
    if _libc is not None:
        return True
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):  # glibc only: mallopt/malloc_trim are its own
            return False
        libc = ctypes.CDLL(None)
        if not libc.mallopt(-3, _MMAP_THRESHOLD):  # M_MMAP_THRESHOLD = -3; returns 1 on success
            return False
    except (OSError, ValueError, AttributeError):
        return False
    _libc = libc
    return True


def _release_memory() -> None:
    """Worker, after a unit: free the unit's garbage, then hand the heap's free pages back to the system.

    ``gc.collect()`` first: objects in reference cycles (e.g. a decoded frame
    whose side data was read, see :func:`eifer.frames.decode.check_display_matrix`)
    are otherwise freed only when the cycle collector next runs, which in a
    worker with many long-lived objects can be many units later. Then
    ``gc.freeze()``: what survived the collection is the worker's long-lived
    state (modules, models, caches), which later collections need not scan
    again. A full collection of a worker with MediaPipe and pandas loaded
    takes ~80 ms (~210 ms with torch): ~5 % of a 10 s video's unit if paid
    after every unit; after the freeze it scans only the objects made since.
    (Frozen objects are still freed when their last reference goes; only a
    cycle among them that is dropped later waits for the worker's end.)
    Then glibc ``malloc_trim``.
    """
    gc.collect()
    gc.freeze()
    if _libc is not None:
        with contextlib.suppress(Exception):
            _libc.malloc_trim(0)


def _unit_begin() -> None:
    """Worker, before a unit: restart the process's peak-memory count, so that the unit's own peak is seen.

    Linux keeps the peak resident memory (``VmHWM``) since the process began;
    writing ``5`` to ``/proc/self/clear_refs`` resets it to the present
    resident memory. Elsewhere (or where refused) the peak stays the process's.
    """
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _unit_memory() -> dict[str, float]:
    """Worker: ``{"peak_mb": VmHWM, "rss_mb": VmRSS}`` of this process, MB (empty off Linux)."""
    out: dict[str, float] = {}
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            key = {"VmHWM:": "peak_mb", "VmRSS:": "rss_mb"}.get(line[:6])
            if key:
                out[key] = round(int(line.split()[1]) / 1024, 1)
    return out


def _run_measured(fn: Callable, unit: Any, i: int, report: Callable | None, desc: str) -> tuple[Any, dict]:
    """Worker: run one unit; its result and the worker's memory in MB: ``peak_mb`` during the unit (from
    :func:`_unit_begin`, so it includes what the worker held before), ``rss_mb`` what it keeps after it."""
    _unit_begin()
    try:
        out = _run_unit(fn, unit, i, report, desc)
        peak = _unit_memory().get("peak_mb")
    finally:
        _release_memory()
    mem = _unit_memory()
    if peak is not None:
        mem["peak_mb"] = peak
    return out, mem


# ---------------------------------------------------------------- local pool

_report_q: Any = None


def _die_with_parent(parent: int) -> None:
    """Worker initializer: no progress bars, and exit when the parent process dies."""
    os.environ[_IN_WORKER] = "1"
    os.environ["EIFER_NO_PROGRESS"] = "1"  # one bar (the parent's), not one per process
    # Ctrl-C reaches the whole process group: the parent alone handles it (it stops the workers), so a
    # worker prints no KeyboardInterrupt traceback of its own
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # PR_SET_PDEATHSIG = 1: the kernel kills us with the parent
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:  # fallback where prctl is missing (macOS) or the parent thread differs
        while True:
            if os.getppid() != parent:
                os._exit(1)
            threading.Event().wait(1.0)

    threading.Thread(target=watch, daemon=True, name="eifer-parent-watch").start()


def _local_init(parent: int, q: Any) -> None:
    global _report_q
    _report_q = q  # progress reports of every unit this worker runs
    _die_with_parent(parent)
    _tune_malloc()


def _follow_cwd(cwd: str) -> None:
    # a kept pool outlives the caller's cwd (a notebook's os.chdir, a test's tmp dir): relative
    # paths in a unit must mean what they meant to the caller
    if cwd != os.getcwd() and os.path.isdir(cwd):
        os.chdir(cwd)


def _local_call(fn: Callable, unit: Any, i: int, call: int | None, desc: str, cwd: str) -> Any:
    _follow_cwd(cwd)
    # SimpleQueue.put writes to the pipe before returning, so a unit's reports arrive before its result
    rep = (lambda d, t=None: _report_q.put((call, i, d, t))) if call is not None else None
    out, mem = _run_measured(fn, unit, i, rep, desc)
    return os.getpid(), mem, out


# One pool per process, kept between calls while its size stays the same: a stage does not
# pay the workers' start-up (spawn + imports, seconds each) that the stage before already paid.
_pool: dict[str, Any] = {}
_calls = iter(range(1, 1 << 62))


def _pool_get(workers: int) -> tuple[ProcessPoolExecutor, Any]:
    import multiprocessing as mp

    if _pool.get("key") == (workers, os.getpid()):
        return _pool["pool"], _pool["q"]
    _pool_close(wait=True)
    ctx = mp.get_context("spawn")  # MediaPipe and torch do not survive fork of a threaded parent
    q = ctx.SimpleQueue()
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_local_init, initargs=(os.getpid(), q))
    _pool.update(key=(workers, os.getpid()), pool=pool, q=q)
    return pool, q


def _pool_close(wait: bool) -> None:
    pool = _pool.pop("pool", None)
    _pool.clear()
    if pool is not None:
        pool.shutdown(wait=wait, cancel_futures=True)


def _pool_kill() -> None:
    """Terminate the kept pool's workers (a unit killed mid-write leaves only a temp file, removed later)."""
    pool = _pool.get("pool")
    if pool is not None:
        for proc in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                proc.terminate()
    _pool_close(wait=False)


def _map_local(fn: Callable, units: list, workers: int, retries: int, finish: Callable,
               on_report: Callable | None, desc: str) -> None:
    attempts = [0] * len(units)
    todo = list(range(len(units)))
    call = next(_calls) if on_report is not None else None

    def placed(i: int, pid: int, mem: dict[str, float], out: Any) -> None:
        _note_placement({"desc": desc, "unit": i, "node": "local", "pid": pid, "attempt": attempts[i],
                         "starts": ["local"], **mem})
        finish(i, out)

    while todo:
        pool, q = _pool_get(workers)
        broken = False
        ok = False
        try:
            futs = {pool.submit(_local_call, fn, units[i], i, call, desc, os.getcwd()): i for i in todo}
            pending = set(futs)
            while pending:
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                _drain(q, call, on_report)
                for f in done:
                    i = futs[f]
                    try:
                        res = f.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    todo.remove(i)
                    placed(i, *res)
                if broken:
                    break
            ok = not broken
        except KeyboardInterrupt:  # Ctrl-C: stop the workers now; finished units are on disk already
            _pool_kill()
            raise
        finally:
            if not ok:  # a unit raised, the pool broke or we were interrupted: no pool is kept
                _pool_close(wait=not broken)
        if not broken:  # (a worker killed mid-report may have left half a message in the queue)
            _drain(q, call, on_report)
        if broken:  # a worker died: keep what finished, every other unit was on the broken pool
            for f, i in futs.items():
                if i in todo and f.done() and not f.cancelled() and f.exception() is None:
                    todo.remove(i)
                    placed(i, *f.result())
            for i in todo:
                attempts[i] += 1
            over = [i for i in todo if attempts[i] > retries]
            if over:
                raise EiferError(f"a worker process died {attempts[over[0]]} times while running "
                                 f"{_unit_name(over[0], units[over[0]], desc)}; giving up. It was killed, ran out "
                                 "of memory, or could not start: a script that runs eifer with several workers "
                                 "must guard its entry point with `if __name__ == \"__main__\":` (workers are "
                                 "spawned and import the script)")


def _drain(q: Any, call: int | None, on_report: Callable | None) -> None:
    """Pass this call's progress reports on (a late one of an earlier call is dropped)."""
    with contextlib.suppress(EOFError, OSError):
        while not q.empty():
            c, *msg = q.get()
            if on_report is not None and c == call:
                on_report(*msg)


# ---------------------------------------------------------------- Ray

_DRAIN_SECONDS = 0.25  # how often the driver takes its units' notes (one round trip to its mailbox each time)
_PROBE_SECONDS = 5.0  # a head that does not accept a TCP connection within this is reported as unreachable
# what the command line chose for output (eifer.logs); a Ray worker was not started by it, so a unit takes it along
_OUTPUT_ENV = ("EIFER_LOG_LEVEL", "GLOG_minloglevel", "TF_CPP_MIN_LOG_LEVEL")


def _probe_address(address: str) -> None:
    """Fail fast when nothing listens at a ``host:port`` or ``ray://host:port`` address.

    ``ray.init`` retries an unreachable head for minutes; a TCP connection that
    is refused or times out says the same in seconds. ``auto``/``local`` and
    addresses without a port are left to Ray.
    """
    import socket

    hostport = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=_PROBE_SECONDS).close()
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or type(exc).__name__)
        raise EiferError(f"executor 'ray': no Ray cluster answers at address {address!r} ({reason} within "
                         f"{_PROBE_SECONDS:g} s). Start it (`ray start --head` prints the address to use) or fix "
                         "executor.address") from None


def ensure_ray(spec: ExecutorSpec) -> None:
    """Connect to the Ray cluster at ``spec.address`` or start a local one (once per process).

    The terminal stays as quiet as under ``local``: Ray's own info lines are
    hidden unless the output level is ``verbose``, and the Ray workers' output
    reaches this terminal only at ``verbose`` (``--quiet``) or after the unit's
    worker dropped MediaPipe's native log lines (``normal``, see :mod:`eifer.logs`).

    Raises
    ------
    EiferError
        When no cluster answers at the address (within seconds, naming it), or a
        ``ray://`` address is given without Ray Client installed.
    """
    global _ray_started_here
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - ray is a dependency
        raise EiferError("executor 'ray' needs the ray package (pip install ray)") from exc
    if ray.is_initialized():
        return
    import logging

    from eifer.logs import log_level

    level = log_level()
    kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": level != "quiet",
                          "logging_level": logging.INFO if level in ("", "verbose") else logging.WARNING}
    if spec.address is None:
        kw["num_cpus"] = spec.workers or n_workers(0)
    else:
        _probe_address(spec.address)
    try:  # "local": a new local cluster even where `ray start` left an address file (ray.init(None) would join it)
        ray.init(address=spec.address or "local", **kw)
    except ConnectionError as exc:
        raise EiferError(f"executor 'ray': no Ray cluster at address {spec.address!r} ({exc})") from exc
    except ValueError as exc:
        if "ray[client]" not in str(exc):
            raise
        raise EiferError(f"executor 'ray': address {spec.address!r} is a Ray Client address (ray://), which needs "
                         f"Ray Client: pip install 'ray[client]=={ray.__version__}'. Or run eifer on a node of the "
                         "cluster with executor.address 'auto' (or the head's host:6379)") from exc
    _ray_started_here = spec.address is None
    if level == "quiet":  # Ray's notes (e.g. "task failed ... will be retried") print to the terminal regardless
        import ray._private.worker as ray_worker

        ray_worker._worker_logs_enabled = False  # the switch Ray's own debugger (ray.util.rpdb) uses


class _Notes:
    """The driver's mailbox for its units' notes (start, progress): units post, the driver takes all at once.

    A unit's post is fire-and-forget (no round trip: the unit does not wait for
    it); the driver's :meth:`take` is one round trip for every note since the
    last (``ray.util.queue.Queue`` needs a blocking call per put and two per
    drain). Ray runs one caller's calls to an actor in order, so a unit's notes
    arrive in the order it posted them.
    """

    def __init__(self) -> None:
        self.items: list[tuple] = []

    def post(self, item: tuple) -> None:
        self.items.append(item)

    def take(self) -> list[tuple]:
        items, self.items = self.items, []
        return items


def _ray_channel() -> Any:
    """This driver's mailbox (units' start notes and progress, :class:`_Notes`), on this driver's node.

    One per Ray session, reused by every call: starting an actor costs a worker
    process. It is pinned to the driver's node, so losing any other node never
    loses it (the driver would go with its own node anyway).
    """
    import ray

    me = ray.get_runtime_context().get_worker_id()  # this connection (a job id repeats on a new cluster)
    if _channel.get("me") != me:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
        actor = ray.remote(_Notes).options(num_cpus=0, scheduling_strategy=here).remote()
        _channel.update(me=me, q=actor)
    return _channel["q"]


_channel: dict[str, Any] = {}
_placements: list[tuple[list[dict[str, Any]], Callable[[dict[str, Any]], None] | None]] = []  # open blocks


@contextlib.contextmanager
def record_placements(on_unit: Callable[[dict[str, Any]], None] | None = None) -> Iterator[list[dict[str, Any]]]:
    """Within the block, note where each unit run in a worker ran: one dict per unit, as it finishes.

    Each dict has ``desc`` and ``unit`` (the call's label and the unit's index),
    ``node`` and ``pid`` (the Ray node id, or ``"local"`` for the local pool,
    and the process that returned the result), ``attempt`` (the count of earlier
    tries: above 0 when a worker or its node was lost and the unit ran again),
    ``starts`` (under Ray, the node of every try whose start note reached this
    driver before the unit finished, in order) and, on Linux, ``peak_mb`` (the
    worker's peak resident memory while it ran the unit, including what the
    worker held before) and ``rss_mb`` (what the worker kept after it), so a
    unit that needs much memory can be named. ``on_unit(dict)`` is called as
    each unit finishes (e.g. to log it). Units run in this process (one worker,
    a single unit under ``local``, or nested calls) are not recorded.

    Examples
    --------
    >>> with record_placements() as placed:
    ...     _ = map_units(abs, [-1], workers=1)
    >>> placed
    []
    """
    entry: tuple[list[dict[str, Any]], Callable[[dict[str, Any]], None] | None] = ([], on_unit)
    _placements.append(entry)
    try:
        yield entry[0]
    finally:
        _placements.remove(entry)


def _ray_call(fn: Callable, unit: Any, i: int, q: Any, call: int, report: bool, env: dict[str, str],
              desc: str, cwd: str) -> tuple[str, int, int, dict[str, float], Any]:
    import ray

    _follow_cwd(cwd)  # on a cluster the run folder is on a shared filesystem; a missing cwd is left alone
    os.environ.update(env)
    os.environ[_IN_WORKER] = "1"
    os.environ["EIFER_NO_PROGRESS"] = "1"
    from eifer.logs import apply_output_settings

    apply_output_settings()  # this worker was started by Ray, not by the command line
    node = ray.get_runtime_context().get_node_id()
    last: list[Any] = []  # the latest post
    with contextlib.suppress(Exception):  # posted, not awaited: the unit does not wait for the driver's mailbox
        last[:] = [q.post.remote((call, "start", i, node))]

    def rep(d: int, t: int | None = None) -> None:
        with contextlib.suppress(Exception):  # progress is never worth failing a unit
            last[:] = [q.post.remote((call, "report", i, d, t))]

    _tune_malloc()  # Ray reuses its workers for task after task, as the local pool does
    out, mem = _run_measured(fn, unit, i, rep if report else None, desc)
    if report and last:  # the mailbox has the unit's reports before the driver has its result (as under local)
        with contextlib.suppress(Exception):  # one call's posts are handled in order: the last one is enough
            ray.wait(last, timeout=30)
    attempt = 0
    with contextlib.suppress(Exception):  # Ray's count of this task's earlier tries (0 where Ray does not say)
        worker: Any = ray._private.worker.global_worker
        attempt = int(worker.core_worker.get_current_task_attempt_number())
    return node, os.getpid(), attempt, mem, out


def _map_ray(fn: Callable, units: list, res: Resources, cap: int | None, spec: ExecutorSpec, retries: int,
             finish: Callable, on_report: Callable | None, desc: str) -> None:
    ensure_ray(spec)
    import ray
    from ray.exceptions import RayError, RayTaskError

    # plain tasks, not actors: a task whose worker or node is lost runs again on a node still there
    opts: dict[str, Any] = {"num_cpus": res.cpus, "num_gpus": res.gpus, "max_retries": retries,
                            "retry_exceptions": False}
    if res.memory_mb:
        opts["memory"] = int(res.memory_mb) * 1024 * 1024
    remote = ray.remote(_ray_call).options(**opts)
    q = _ray_channel()
    call = next(_calls)
    env = {k: os.environ[k] for k in _OUTPUT_ENV if k in os.environ}
    fn_ref = ray.put(fn)
    cwd = os.getcwd()
    todo = list(range(len(units)))
    refs: dict[Any, int] = {}
    starts: dict[int, list[str]] = {}

    def drain() -> None:
        try:
            items = ray.get(q.take.remote(), timeout=30)
        except Exception:  # the mailbox is a convenience: units and results do not depend on it
            return
        for c, kind, i, *msg in items:
            if c != call:  # a late note of an earlier call
                continue
            if kind == "start":
                starts.setdefault(i, []).append(msg[0])
            elif on_report is not None:
                on_report(i, *msg)

    next_drain = 0.0
    try:
        while todo or refs:
            while todo and (cap is None or len(refs) < cap):
                i = todo.pop(0)
                refs[remote.remote(fn_ref, units[i], i, q, call, on_report is not None, env, desc, cwd)] = i
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=_DRAIN_SECONDS)
            # notes are taken every so often, and before a finished unit's result when the caller wants its
            # reports first (the unit waited until they were posted)
            if time.monotonic() >= next_drain or (ready and on_report is not None):
                drain()
                next_drain = time.monotonic() + _DRAIN_SECONDS
            for r in ready:
                i = refs.pop(r)
                try:
                    node, pid, attempt, mem, out = ray.get(r)
                except RayTaskError as exc:  # the unit raised: re-raise its own exception
                    cause = getattr(exc, "cause", None)
                    raise (cause if isinstance(cause, BaseException) else exc) from None
                except RayError as exc:  # worker or node died more often than Ray retries
                    raise EiferError(f"executor 'ray': {_unit_name(i, units[i], desc)} failed after "
                                     f"{retries} retries: {type(exc).__name__}: {exc}") from exc
                if attempt:  # run again: take the start notes now, so that the lost try's node is listed
                    drain()
                _note_placement({"desc": desc, "unit": i, "node": node, "pid": pid, "attempt": attempt,
                                 "starts": starts.get(i, [node]), **mem})
                finish(i, out)
        drain()
    finally:
        for r in refs:
            with contextlib.suppress(Exception):
                ray.cancel(r, force=True)


def _note_placement(rec: dict[str, Any]) -> None:
    for placed, on_unit in _placements:
        placed.append(rec)
        if on_unit is not None:
            on_unit(rec)
