"""The one executor (eifer.parallel): unit order, errors, retries of killed workers, workers that die
with their parent, and the pipeline's tables byte for byte the same under ``local`` and ``ray``."""
from __future__ import annotations

import filecmp
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from eifer.errors import EiferError
from eifer.parallel import Resources, executor_spec, get_executor, map_units, record_placements, use_executor

HERE = Path(__file__).parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(HERE))  # _parallel_units: importable here, in spawned workers and (PYTHONPATH) in Ray's
import _parallel_units as U  # noqa: E402


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")  # a zombie has exited (only its parent has not reaped it)
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


# ------------------------------------------------------------------ local pool

def test_results_in_unit_order_whatever_finishes_first():
    assert map_units(U.slow_square, range(6), workers=2, executor="local") == [0, 1, 4, 9, 16, 25]
    assert map_units(U.slow_square, range(6), workers=1) == [0, 1, 4, 9, 16, 25]
    assert map_units(U.slow_square, [], workers=2) == []


def test_local_pool_is_kept_between_calls_of_the_same_size():
    first = set(map_units(U.sleepy_pid, range(4), workers=2))
    second = set(map_units(U.sleepy_pid, range(4), workers=2))
    assert len(first) == 2 and first == second and os.getpid() not in first


def test_kept_pool_follows_the_callers_working_folder(tmp_path, monkeypatch):
    map_units(U.sleepy_pid, range(2), workers=2)  # the pool now exists, started in the old cwd
    monkeypatch.chdir(tmp_path)
    assert set(map_units(U.cwd_of_unit, range(4), workers=2)) == {str(tmp_path)}


def test_unit_exception_propagates_with_the_unit_named_and_is_not_retried():
    for workers in (1, 2):
        with pytest.raises(ValueError, match="three is not allowed") as info:
            map_units(U.raise_on_three, range(5), workers=workers, desc="numbers")
        assert any("unit 3 of numbers (3)" in n for n in getattr(info.value, "__notes__", []))


def test_local_killed_worker_retried_up_to_retries_times(tmp_path):
    # at the threshold: killed `retries` times -> the unit still finishes
    ok = map_units(U.die_n_times, [("a", 1, str(tmp_path / "a")), ("b", 0, "")], workers=2, retries=1)
    assert ok == ["a ok in 1", "b ok in 1"]
    assert (tmp_path / "a").read_text() == "1"
    # one more death than retries -> a clear error naming the unit
    with pytest.raises(EiferError, match=r"worker process died 2 times while running unit 0 .*'c'"):
        map_units(U.die_n_times, [("c", 2, str(tmp_path / "c")), ("d", 0, "")], workers=2, retries=1)


def test_progress_reports_reach_the_parent():
    got = []
    out = map_units(U.reporting, [10, 11, 12], workers=2, on_report=lambda i, d, t: got.append((i, d, t)))
    assert out == [10, 11, 12]
    assert sorted(got) == [(i, d, 3) for i in range(3) for d in (1, 2, 3)]


@pytest.mark.skipif(not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION")
                    or "MALLOC_MMAP_THRESHOLD_" in os.environ, reason="glibc only")
def test_local_workers_fix_mallocs_mmap_threshold():
    # without it a worker's heap grows with every frame it has analysed (issue #26: flat memory per worker)
    out = map_units(U.malloc_tuned, range(4), workers=2)
    assert all(tuned for tuned, _ in out) and os.getpid() not in {pid for _, pid in out}


# a big unit first, then slower small ones: the worker that ran the big one runs small ones after it
_MEMORY_UNITS = [(300, 0.0)] + [(8, 0.3)] * 7


def _check_unit_memory(placed: list[dict], pids: list[int], same_worker: bool = True) -> None:
    assert sorted(r["unit"] for r in placed) == list(range(len(_MEMORY_UNITS)))
    assert {r["pid"] for r in placed} == set(pids)
    big = next(r for r in placed if r["unit"] == 0)
    small = [r for r in placed if r["unit"]]
    # the 300 MB unit's peak shows it; a small unit's peak is its own, also in the worker that ran the big
    # one before it (the count restarts per unit), and no worker keeps the 300 MB after its unit (the unit
    # left them as cyclic garbage, which only the collection after each unit frees at once)
    assert big["peak_mb"] - max(r["peak_mb"] for r in small) > 250
    after_big = [r for r in placed[placed.index(big) + 1:] if r["pid"] == big["pid"]]
    assert (after_big or not same_worker) and all(r["peak_mb"] < big["peak_mb"] - 250 for r in after_big)
    assert all(r["rss_mb"] < big["peak_mb"] - 250 for r in placed)
    assert all(r["attempt"] == 0 for r in placed)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-unit memory is read from /proc")
def test_local_units_memory_is_recorded_per_unit():
    with record_placements() as placed:
        pids = map_units(U.hold_mb, _MEMORY_UNITS, workers=2)
    assert {r["node"] for r in placed} == {"local"}
    _check_unit_memory(placed, pids)
    with record_placements() as placed:  # units run in this process are not recorded
        map_units(U.hold_mb, [(1, 0.0)] * 2, workers=1)
    assert placed == []


def test_local_workers_die_with_their_parent(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(SRC)!r}, {str(HERE)!r}]
        import _parallel_units as U
        from eifer.parallel import map_units
        if __name__ == "__main__":
            map_units(U.record_pid_and_sleep, [({str(tmp_path)!r}, k) for k in range(2)], workers=2)
    """))
    parent = subprocess.Popen([sys.executable, str(script)], env={**os.environ, "EIFER_NO_PROGRESS": "1"})
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        pids = [int(p.stem) for p in tmp_path.glob("*.pid")]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    t0 = time.monotonic()
    while any(_alive(p) for p in pids) and time.monotonic() - t0 < 5:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "workers outlived their killed parent by 5 s"


def test_executor_from_config_and_context():
    from eifer.config import load_config

    cfg = load_config(profile="demo", overrides={"executor": {"kind": "ray", "address": "auto"}})
    assert executor_spec(cfg).kind == "ray" and executor_spec(cfg).address == "auto"
    assert get_executor().kind == "local"
    with use_executor("local"):
        assert get_executor().kind == "local"
    with pytest.raises(EiferError, match="executor kind 'slurm' unknown"):
        executor_spec("slurm")
    with pytest.raises(ValueError):
        load_config(overrides={"executor": {"kind": "slurm"}})


def test_importing_eifer_does_not_import_ray():
    code = "import sys, eifer.parallel, eifer.pipeline.run, eifer.cli; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(SRC)})
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ Ray

def test_ray_order_errors_and_reports(ray_cluster):
    with use_executor("ray"):  # the context routes units to Ray workers; "local" to the process pool
        assert map_units(U.where, [1, 2], workers=2) == ["ray", "ray"]
    assert map_units(U.where, [1, 2], workers=2) == ["local", "local"]
    assert map_units(U.slow_square, range(6), workers=0, executor="ray") == [0, 1, 4, 9, 16, 25]
    assert map_units(U.slow_square, range(6), workers=2, executor="ray", resources=Resources(cpus=1)) == \
        [0, 1, 4, 9, 16, 25]
    with pytest.raises(ValueError, match="three is not allowed"):
        map_units(U.raise_on_three, range(5), workers=0, executor="ray")
    got = []
    assert map_units(U.reporting, [1, 2], workers=0, executor="ray",
                     on_report=lambda i, d, t: got.append((i, d, t))) == [1, 2]
    assert sorted(got) == [(i, d, 3) for i in range(2) for d in (1, 2, 3)]
    # as under local: every report of a unit arrives before its result, although units post their
    # notes without waiting (a burst of 300 is still being handled by the mailbox when the unit returns)
    order: list[tuple[int, str]] = []
    assert map_units(U.reporting_many, [300, 300], workers=0, executor="ray",
                     on_report=lambda i, d, t: order.append((i, "report")),
                     on_result=lambda i, r: order.append((i, "result"))) == [300, 300]
    for i in range(2):
        assert order.count((i, "report")) == 300
        assert order.index((i, "result")) > max(k for k, e in enumerate(order) if e == (i, "report")), i
    if sys.platform.startswith("linux"):
        with record_placements() as placed:
            pids = map_units(U.hold_mb, _MEMORY_UNITS, workers=2, executor="ray")
        _check_unit_memory(placed, pids, same_worker=False)  # Ray may start a fresh worker for any task


def test_ray_killed_worker_retried_up_to_retries_times(ray_cluster, tmp_path):
    ok = map_units(U.die_n_times, [("a", 1, str(tmp_path / "a")), ("b", 0, "")], executor="ray", retries=1)
    assert ok == ["a ok in 1", "b ok in 1"]
    with pytest.raises(EiferError, match=r"unit 0 .*'c'.* failed after 1 retries"):
        map_units(U.die_n_times, [("c", 2, str(tmp_path / "c")), ("d", 0, "")], executor="ray", retries=1)


def test_ray_worker_killed_mid_hrv_unit_gives_the_same_table(ray_cluster, synth_novideo, tmp_path):
    from eifer.config import load_config
    from eifer.hrv.stage import hrv_settings, hrv_study, hrv_units
    from eifer.study import load_study

    study = load_study(synth_novideo, validate_media=False)
    cfg = hrv_settings(load_config(profile="demo", overrides={"hrv": {"domains": ["time"]}}).hrv)  # time: fast
    ref = hrv_study(study, cfg, tmp_path / "local", n_jobs=2, show_progress=False)
    with use_executor("ray"):  # the stage's units, participant 4's worker killed (SIGKILL) mid-unit once
        jobs = hrv_units(study, cfg, tmp_path / "ray")
        victim = jobs[3][1]
        out = map_units(U.hrv_job_killed_once, [(victim, j) for j in jobs], workers=2, retries=2)
        assert out == [(j[1], None) for j in jobs]
        assert (tmp_path / "ray" / f"killed-{victim}").exists()  # the worker really died once
        got = hrv_study(study, cfg, tmp_path / "ray", n_jobs=2, show_progress=False)  # all cached now
    pd.testing.assert_frame_equal(got, ref)
    for f in (tmp_path / "local").iterdir():
        assert filecmp.cmp(f, tmp_path / "ray" / f.name, shallow=False), f.name


def test_cli_run_rejects_an_unknown_executor(tmp_path):
    from typer.testing import CliRunner

    from eifer.cli import app

    res = CliRunner().invoke(app, ["run", str(tmp_path), "--out", str(tmp_path / "run"), "--executor", "slurm"])
    assert res.exit_code != 0 and "choose 'local' or 'ray'" in res.output
    assert not (tmp_path / "run").exists()  # rejected before anything ran


def _ensure_ray_in_child(address: str) -> tuple[subprocess.CompletedProcess, float]:
    """``ensure_ray`` against ``address`` in a fresh process (this one may be connected to Ray already)."""
    code = f"from eifer.parallel import ExecutorSpec, ensure_ray; ensure_ray(ExecutorSpec('ray', {address!r}))"
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(SRC)})
    return out, time.monotonic() - t0


def test_ray_head_that_cannot_be_reached_fails_fast_naming_the_address():
    import socket

    with socket.socket() as s:  # a port nothing listens on: bound, then closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out, seconds = _ensure_ray_in_child(f"127.0.0.1:{port}")
    assert out.returncode != 0
    assert f"no Ray cluster answers at address '127.0.0.1:{port}'" in out.stderr, out.stderr
    assert seconds < 60  # ray.init alone retries an unreachable head for minutes


def test_ray_client_address_without_ray_client_says_what_to_install():
    import socket

    pytest.importorskip("ray")
    from ray._private.utils import get_ray_client_dependency_error  # the check ray.init makes

    if get_ray_client_dependency_error() is None:
        pytest.skip("ray[client] is installed here")
    with socket.socket() as s:  # something listens, so the address is reachable
        s.bind(("127.0.0.1", 0))
        s.listen()
        address = f"ray://127.0.0.1:{s.getsockname()[1]}"
        out, _ = _ensure_ray_in_child(address)
    assert out.returncode != 0
    assert f"address {address!r} is a Ray Client address" in out.stderr and "ray[client]==" in out.stderr, out.stderr
