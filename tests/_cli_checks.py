"""Helpers shared by the CLI reliability suites: run the CLI, check a clear failure, snapshot a folder.

Imported as ``_cli_checks`` (``tests/`` is on ``sys.path``: pytest puts the folder of ``tests/conftest.py``
there).
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from typer.testing import CliRunner

import eifer
from eifer.cli import app

SRC = Path(eifer.__file__).resolve().parents[1]  # a subprocess runs the eifer the tests import
_STUDY: dict[str, ModuleType] = {}


def invoke(*args):
    """The CLI in this process (typer's runner); arguments may be paths."""
    return CliRunner().invoke(app, [str(a) for a in args])


def run_cli(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m eifer.cli ARGS`` in a subprocess running this checkout's eifer (no progress bars)."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "EIFER_NO_PROGRESS": "1"}
    return subprocess.run([sys.executable, "-m", "eifer.cli", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=timeout)


def assert_clear_failure(res, *needles: str) -> str:
    """Exit code 1 (not a crash), no traceback, and every needle in the message (whitespace-normalised)."""
    out = " ".join(res.output.split())
    assert res.exit_code == 1, (res.exit_code, res.output, res.exception)
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    for n in needles:
        assert n in out, (n, out)
    return out


def snapshot(folder: Path, *, skip_links: bool = False) -> dict[str, tuple[int, bytes]]:
    """Every file below ``folder``: relative path -> (mtime in ns, bytes); ``skip_links`` leaves symlinks out."""
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file() and not (skip_links and p.is_symlink())}


def study_conftest() -> ModuleType:
    """``tests/study/conftest.py`` loaded by path (a plain ``import conftest`` may find another folder's)."""
    if "mod" not in _STUDY:
        spec = importlib.util.spec_from_file_location("_study_conftest_shared",
                                                      Path(__file__).parent / "study" / "conftest.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _STUDY["mod"] = mod
    return _STUDY["mod"]
