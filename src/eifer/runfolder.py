"""The run folder: config, versions, a JSON-lines log and stage fingerprints.

A stage is recorded as done in ``RUN/.stages/<name>.json`` together with the
fingerprint of everything it depended on (its config sections, its input
files, the fingerprints of upstream stages). A stage whose fingerprint is
unchanged is skipped; one whose fingerprint changed is redone, and because
downstream fingerprints include upstream ones, everything after it is redone.
"""
from __future__ import annotations

import datetime as _dt
import importlib.metadata as _md
import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, runs are not serialised
    fcntl = None  # type: ignore[assignment]

from eifer.config import Config
from eifer.errors import EiferError
from eifer.io import TEMP_NAME, hash_obj, path_inside, write_json, write_text

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # 0 where the OS has no such flag (Windows)

_PACKAGES = (
    "eifer", "numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "torch", "torchvision",
    "timm", "mediapipe", "opencv-contrib-python", "av", "neurokit2", "onnxruntime", "pyarrow",
    "matplotlib", "pydantic",
)


def package_versions() -> dict[str, str]:
    """Versions of Python, the platform and the packages eifer's numbers depend on."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def read_run_config(root: str | Path) -> Config:
    """The configuration a run folder was made with (``RUN/config.yaml``, the one reader of it).

    Settings that moved since the run was made are read at their new place
    (:func:`eifer.config.migrate_moved_keys`), so older run folders stay readable.
    """
    from eifer.config import migrate_moved_keys, read_config_mapping, validate_config

    root = Path(root)
    path = root / "config.yaml"
    if not path.is_file():
        raise EiferError(f"{root}: not a run folder (no config.yaml); make one with `eifer run STUDY --out {root}`")
    data, text = read_config_mapping(path)
    return validate_config(migrate_moved_keys(data), path, text)


def refuse_links_out(root: str | Path) -> None:
    """:class:`EiferError` when the run folder holds a symlink that leads out of it (or nowhere: a loop).

    eifer writes ``RUN/.lock``, ``log.jsonl``, ``.stages/``, ``cache/``, ``report/``,
    ``tables/``, ``figures/`` ... by name; a link there that points elsewhere would
    make every write land outside the run folder. Links that stay inside are fine.
    Called before anything in the run folder is opened for writing.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "report").symlink_to(tempfile.mkdtemp())
    >>> refuse_links_out(root)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eifer.errors.EiferError: .../report: a symlink that leads out of the run folder ...
    """
    root = Path(root)
    if not root.is_dir():
        return
    for name in (".lock", "log.jsonl"):  # written in place (not replaced): a hard link would take the writes out
        p = root / name
        if p.is_file() and not p.is_symlink() and p.stat().st_nlink > 1:
            raise EiferError(f"{p}: has {p.stat().st_nlink} hard links; eifer writes this file in place and would "
                             "change the other names too. Remove it (eifer makes a new one).")
    root_r = root.resolve()
    for dirpath, dirs, files in os.walk(root):  # links to folders are listed in dirs and not entered
        for name in (*dirs, *files):
            p = Path(dirpath) / name
            if not p.is_symlink():
                continue
            try:
                target = p.resolve(strict=True)
            except (OSError, RuntimeError):
                target = None  # dangling or a loop: a write would create a file wherever it points
            if target is None or not target.is_relative_to(root_r):
                raise EiferError(f"{p}: a symlink that leads out of the run folder {root} (to "
                                 f"{os.readlink(p)}); eifer writes only inside its run folder. Remove the link "
                                 "(or choose another --out).")


def is_folder_of_run(path: str | Path) -> bool:
    """Does ``path`` hold an eifer run (``config.yaml`` with ``versions.json``, or ``.stages/``)?"""
    p = Path(path)
    return (p / ".stages").is_dir() or ((p / "config.yaml").is_file() and (p / "versions.json").is_file())


#: The fingerprint a damaged stage record stands for: it matches no real one, so the stage is redone
DAMAGED = "<damaged record>"


def read_stage_record(path: Path) -> dict[str, Any] | None:
    """A stage record (``RUN/.stages/<stage>.json`` or ``<stage>.running.json``); None when absent.

    A record cut short, not a JSON object, or without a text ``fingerprint``
    (an edit, a full disk of an older version) stands for "this stage must be
    redone": its fingerprint is :data:`DAMAGED` and it lists no outputs (the
    stage's own paths are still cleaned), never a traceback.
    """
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_bytes())
    except (ValueError, OSError):
        rec = None
    if not isinstance(rec, dict) or not isinstance(rec.get("fingerprint"), str):
        return {"fingerprint": DAMAGED, "outputs": [], "damaged": True}
    return rec



def append_log(root: str | Path, event: str, **fields: Any) -> None:
    """Append one JSON line to ``root/log.jsonl``: what :meth:`RunFolder.log` does, for a unit in a worker.

    One ``write`` of one line in append mode, so lines from parallel workers never interleave.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> append_log(d, "checkpoint_restarted", unit="u1")
    >>> json.loads((d / "log.jsonl").read_text())["event"]
    'checkpoint_restarted'
    """
    rec = {"time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), "event": event}
    rec.update(fields)
    Path(root).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(root) / "log.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o666)
    with open(fd, "a") as fh:  # O_NOFOLLOW: a link named log.jsonl is refused, never written through
        fh.write(json.dumps(rec, default=str) + "\n")

class RunFolder:
    """A run folder ``RUN/`` (see SPEC §6 for the names other parts read).

    Parameters
    ----------
    root : path-like
        The folder; created if missing.
    config : Config
        Written to ``RUN/config.yaml`` by :meth:`init`.

    Examples
    --------
    >>> from eifer.config import load_config
    >>> run = RunFolder("/tmp/eifer-doctest-run", load_config(profile="demo")).init()
    >>> run.path("tables").name
    'tables'
    """

    def __init__(self, root: str | Path, config: Config):
        self.root = Path(root)
        self.config = config

    def init(self) -> RunFolder:
        self.root.mkdir(parents=True, exist_ok=True)
        refuse_links_out(self.root)
        write_text(self.root / "config.yaml", self.config.to_yaml())
        write_json(self.root / "versions.json", package_versions())
        return self

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def require(self, *parts: str, stage: str) -> Path:
        """``path(*parts)``, a file stage ``stage`` writes; an error saying to run that stage when it is missing."""
        path = self.path(*parts)
        if not path.is_file():
            raise EiferError(f"{path}: not found; run `eifer {stage}` first")
        return path

    # -- one run at a time ------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator[RunFolder]:
        """Hold an exclusive lock on the run folder (``RUN/.lock``, the holder's pid inside).

        A second run into the same folder stops at once with an error naming
        the holder's pid, so two runs never mix their tables. The lock is an
        OS lock (``flock``): it is released when the process ends, even by
        ``kill -9``, so a crashed run never leaves the folder locked.

        Examples
        --------
        >>> from eifer.config import load_config
        >>> run = RunFolder("/tmp/eifer-doctest-lock", load_config(profile="demo"))
        >>> with run.lock():
        ...     (run.root / ".lock").read_text().strip() == str(os.getpid())
        True
        """
        self.root.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover
            yield self
            return
        refuse_links_out(self.root)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                gone = holder.isdigit() and not _pid_alive(int(holder))
                extra = " (that process has ended, but worker processes it started still hold the lock)" \
                    if gone else ""
                raise EiferError(f"{self.root}: another eifer run (pid {holder}){extra} is writing to this run "
                                 "folder; wait until it has finished (or stop it), then run again, or choose "
                                 "another --out") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            try:
                yield self
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def remove_stale_temp(self) -> list[str]:
        """Delete the temporary files of atomic writes a killed run left behind; their run-relative paths.

        Only eifer's own pattern (``.<name>.<8 random>.tmp``, see
        :func:`eifer.io.atomic_path`), only regular files, only inside the run
        folder (links are not followed). Call it while holding :meth:`lock`:
        then no other eifer process is writing here.
        """
        removed: list[str] = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                p = Path(dirpath) / name
                if TEMP_NAME.fullmatch(name) and p.is_file() and not p.is_symlink():
                    p.unlink()
                    removed.append(p.relative_to(self.root).as_posix())
        if removed:
            self.log("stale_temp_removed", files=sorted(removed))
        return sorted(removed)

    # -- log -------------------------------------------------------------
    def log(self, event: str, **fields: Any) -> None:
        """Append one JSON line to ``RUN/log.jsonl`` (append is atomic per line)."""
        append_log(self.root, event, **fields)

    # -- stage fingerprints ----------------------------------------------
    def _stage_file(self, name: str) -> Path:
        return self.root / ".stages" / f"{name}.json"

    def stage_record(self, name: str) -> dict[str, Any] | None:
        """The done record of a stage (None when absent); see :func:`read_stage_record` for a damaged one."""
        return read_stage_record(self._stage_file(name))

    def stage_fingerprint(self, name: str) -> str | None:
        rec = self.stage_record(name)
        return None if rec is None else str(rec["fingerprint"])

    def stage_outputs(self, name: str) -> list[str]:
        """The outputs a stage record lists, each checked to lie inside the run folder (:func:`path_inside`)."""
        rec = self.stage_record(name) or {}
        outputs = rec.get("outputs", [])
        source = str(self._stage_file(name))
        if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
            raise EiferError(f"{source}: 'outputs' must be a list of paths; delete the file to rerun the stage")
        for o in outputs:
            path_inside(self.root, o, source=source)
        return outputs

    def is_done(self, name: str, fingerprint: str) -> bool:
        rec = self.stage_record(name)
        if rec is None or rec.get("fingerprint") != fingerprint:
            return False
        return all((self.root / o).exists() for o in self.stage_outputs(name))

    def mark_done(self, name: str, fingerprint: str, outputs: list[str], seconds: float) -> None:
        write_json(self._stage_file(name), {
            "stage": name, "fingerprint": fingerprint, "outputs": outputs, "seconds": round(seconds, 3),
            "finished": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        })
        self.log("stage_done", stage=name, seconds=round(seconds, 3))

    def fingerprint(self, *, upstream: tuple[str, ...] = (), extra: Any = None) -> str:
        """Fingerprint of upstream stage fingerprints + anything extra (the stage's config values, inputs)."""
        # "config": None stays in the payload so fingerprints of existing run folders stay valid
        return hash_obj({"config": None, "upstream": {u: self.stage_fingerprint(u) for u in upstream},
                         "extra": extra})


class Timer:
    """``with Timer() as t: ...; t.seconds``"""

    def __enter__(self) -> Timer:
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0
