"""Atomic file writes and content fingerprints.

Every file eifer writes goes through these helpers: the data land in a
temporary file in the same folder and are renamed over the target, so a
crash (even ``kill -9``) never leaves a half-written output behind.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes the file owner-only (0600); give it the permissions a
        # plain open() would have (0666 minus the umask).
        os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, path)
    except RuntimeError as exc:
        # torch.save reports a failed write (disk full) as "RuntimeError: [enforce fail at
        # inline_container.cc:...] ... file write failed": make it the OSError it is
        if "inline_container" not in str(exc) and "write failed" not in str(exc):
            raise
        full = shutil.disk_usage(path.parent).free < (64 << 20)
        raise OSError(errno.ENOSPC if full else errno.EIO,
                      f"writing failed ({str(exc).splitlines()[0][:200]})", str(path)) from exc
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_csv(path: str | Path, df: pd.DataFrame, **kwargs: Any) -> Path:
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, **kwargs)
    return Path(path)


def write_parquet(path: str | Path, df: pd.DataFrame) -> Path:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(path)


#: Columns that hold identifiers (study ids and the ids eifer writes). They are
#: read as text with no missing-value conversion, so an id such as ``NA``,
#: ``NaN``, ``null`` or ``None`` stays that string end to end.
ID_COLUMNS: frozenset[str] = frozenset({
    "participant_id", "video_id", "segment", "stimulus", "task", "emotion", "emotion_label", "domain",
    "group", "condition", "composition", "training_group", "backbone",
})

# pandas' default missing-value spellings, applied to the non-id columns only
_NA_VALUES = sorted(pd._libs.parsers.STR_NA_VALUES)


def read_csv(path: str | Path, **kwargs: Any) -> pd.DataFrame:
    r"""Read a CSV written by eifer or a study table with every id column as text.

    The one reader for id-bearing CSVs: columns named in :data:`ID_COLUMNS` are
    read as ``str`` with no NA conversion (an empty id cell stays ``""``); every
    other column is parsed as :func:`pandas.read_csv` would.

    Examples
    --------
    >>> import io
    >>> df = read_csv(io.StringIO("participant_id,score\nNA,1\nNone,NA\n"))
    >>> df["participant_id"].tolist(), df["score"].isna().tolist()
    (['NA', 'None'], [False, True])
    """
    if hasattr(path, "read"):  # a buffer: read once, parse twice
        import io

        path = io.StringIO(path.read())
    header = pd.read_csv(path, nrows=0, **{k: v for k, v in kwargs.items() if k in ("sep", "encoding")})
    if hasattr(path, "seek"):
        path.seek(0)
    ids = [c for c in header.columns if str(c).strip() in ID_COLUMNS]
    dtype = {c: str for c in ids}
    dtype.update(kwargs.pop("dtype", None) or {})
    na_values = {c: _NA_VALUES for c in header.columns if c not in ids}
    return pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values=na_values, **kwargs)


def hash_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex, first 16 characters)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()[:16]


def hash_obj(obj: Any) -> str:
    """Stable hash of a JSON-serialisable object."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def hash_paths(paths: list[str | Path]) -> str:
    """Cheap fingerprint of many (possibly large) files: name, size and mtime_ns.

    Video and ECG files can be gigabytes; hashing their bytes on every run would
    cost minutes, so media inputs are fingerprinted by their stat data.
    """
    items = []
    for p in sorted(str(x) for x in paths):
        st = os.stat(p)
        items.append((p, st.st_size, st.st_mtime_ns))
    return hash_obj(items)
