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
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from eifer.errors import EiferError

_UMASK = os.umask(0)
os.umask(_UMASK)


def path_inside(root: str | Path, rel: str | Path, *, source: str = "") -> Path:
    """``root / rel``, proven to lie inside ``root``; :class:`EiferError` otherwise.

    ``rel`` must be relative with no ``..`` part, and neither the path nor any
    folder on the way may be a symlink that leads out of ``root``. Every path
    eifer takes from a file it did not just compute (a stage record) goes
    through here before anything is deleted or written. ``source`` names the
    file the path came from, for the message.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> path_inside(root, "tables/table1.csv") == root / "tables" / "table1.csv"
    True
    >>> path_inside(root, "../victim", source="RUN/.stages/ei.json")
    Traceback (most recent call last):
    ...
    eifer.errors.EiferError: RUN/.stages/ei.json: path '../victim' leads outside the run folder ...
    """
    where = f"{source}: " if source else ""
    rel_s = str(rel)
    pure = Path(rel_s)
    if not rel_s or pure.is_absolute() or ".." in pure.parts or "\0" in rel_s:
        raise EiferError(f"{where}path {rel_s!r} leads outside the run folder {root}; eifer only deletes or "
                         "writes inside it. The file was edited by hand or comes from elsewhere: delete it "
                         "to let the stage run again.")
    root_r = Path(root).resolve()
    target = Path(root) / pure
    # resolve() follows every symlink on the way, including the last part
    if not target.resolve().is_relative_to(root_r) or not target.parent.resolve().is_relative_to(root_r):
        raise EiferError(f"{where}path {rel_s!r} is (or passes through) a symlink that leads outside the run "
                         f"folder {root}; eifer only deletes or writes inside it. Remove the link.")
    return target


def encode_file_name(text: str, max_len: int = 120) -> str:
    """A file-name stem for a study string (an id), different for every different string.

    Letters and digits of ASCII and ``-`` stay; every other character (``_``
    included) becomes ``_`` and its UTF-8 bytes in hex, so ``A.1`` and ``A 1``
    never share a file (``A_2e1``, ``A_201``). A stem longer than ``max_len``
    is cut and ends in a hash of the whole string.

    Examples
    --------
    >>> encode_file_name("A.1"), encode_file_name("A 1"), encode_file_name("A_2e1"), encode_file_name("P01")
    ('A_2e1', 'A_201', 'A_5f2e1', 'P01')
    """
    out = "".join(ch if (ch.isascii() and ch.isalnum()) or ch == "-" else
                  "_" + ch.encode("utf-8").hex() for ch in str(text))
    if len(out) > max_len or not out:
        out = out[: max_len - 17] + "~" + hashlib.sha256(str(text).encode("utf-8")).hexdigest()[:16]
    return out


def remove_inside(root: str | Path, rel: str | Path, *, source: str = "") -> None:
    """Delete ``root / rel`` (a file, a symlink or a whole folder) after :func:`path_inside` proved it inside."""
    path = path_inside(root, rel, source=source)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


# the names mkstemp gives in atomic_path: ".<target name>.<8 random characters>.tmp"
TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


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
    except OSError as exc:
        if exc.filename is not None and exc.filename != str(tmp_path):
            raise
        # a failed write() (disk full) carries no file name, or the temporary one: name the target
        raise OSError(exc.errno or errno.EIO, exc.strerror or str(exc), str(path)) from exc
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


def read_parquet(path: str | Path, *, stage: str = "", **kwargs: Any) -> pd.DataFrame:
    """Read a parquet table from a run folder; a damaged file is an :class:`EiferError`.

    A table cut short (a copy that stopped, a full disk outside eifer, a
    hand edit) makes pyarrow raise ``ArrowInvalid`` or an ``OSError`` with no
    errno and no file name. Here that becomes one message naming the file,
    what is wrong and what to do: ``stage`` is the stage that writes the
    table, and ``eifer run ... --force <stage>`` rebuilds it. A missing file
    or a permission problem (an ``OSError`` with an errno) is passed on as it
    is. Keyword arguments go to :func:`pandas.read_parquet`.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = write_parquet(d / "t.parquet", pd.DataFrame({"a": [1, 2]}))
    >>> read_parquet(d / "t.parquet", columns=["a"])["a"].tolist()
    [1, 2]
    >>> _ = (d / "t.parquet").write_bytes(b"PAR1")
    >>> try:
    ...     read_parquet(d / "t.parquet", stage="select")
    ... except EiferError as e:
    ...     print(str(e).split(": ", 1)[1].split(" (")[0], "--force select" in str(e))
    damaged parquet table True
    """
    import pyarrow as pa

    try:
        return pd.read_parquet(path, **kwargs)
    except (pa.ArrowException, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # missing file, permissions, disk: the CLI's OS-error message says what to do
        reason = str(exc).split(": ", 1)[-1].strip().rstrip(".") if "input source" in str(exc) else str(exc).strip()
        todo = (f"rebuild it with `eifer run STUDY --out RUN --force {stage}` "
                f"(or `eifer {stage} STUDY --out RUN --force`)" if stage
                else "delete it and run the stage that writes it again (with --force if that stage is done)")
        # a readable table without a column asked for is not damaged: name the column, not pyarrow's schema dump
        missing = re.search(r"No match for FieldRef\.Name\((.*?)\)", str(exc))
        what = (f"cannot read table: it has no column '{missing.group(1)}'" if missing
                else f"damaged parquet table ({reason})")
        raise EiferError(f"{path}: {what}; {todo}; the other files in the run folder are kept") from exc


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

        path = io.StringIO(path.read())  # type: ignore[assignment]  # a buffer stands in for the path
    header = pd.read_csv(path, nrows=0, **{k: v for k, v in kwargs.items() if k in ("sep", "encoding")})
    if hasattr(path, "seek"):
        path.seek(0)
    ids = [c for c in header.columns if str(c).strip() in ID_COLUMNS]
    dtype = {c: str for c in ids}
    dtype.update(kwargs.pop("dtype", None) or {})
    na_values = {c: _NA_VALUES for c in header.columns if c not in ids}
    return pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values=na_values, **kwargs)


def read_json_mapping(path: str | Path) -> dict[str, Any]:
    """A JSON object eifer wrote (``study.json``, ``versions.json``); ``{}`` when absent or damaged.

    For files that only describe a run: one cut short or edited into another
    shape is shown as unknown rather than stopping the report with a traceback.
    """
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


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


def hash_contents(paths: Sequence[str | Path], root: str | Path | None = None,
                  cache_file: str | Path | None = None) -> str:
    """Fingerprint of files by content identity: name relative to ``root``, size and SHA-256 of the bytes.

    The study folder's location does not enter it, so running the same study
    by a relative path, an absolute path or from a copy (with or without its
    modification times) gives the same fingerprint, and no finished work is
    thrown away. Files outside ``root`` (local weight files) are named by their
    file name. Hashing a video costs about a second per GB, so each digest is
    kept in ``cache_file`` (JSON) under (resolved path, size, mtime_ns, ctime_ns,
    inode) and a file is read again when any of those changes.

    Examples
    --------
    >>> import tempfile
    >>> a, b = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
    >>> for d in (a, b):
    ...     _ = write_text(d / "ratings.csv", "participant_id\\nP01\\n")
    >>> hash_contents([a / "ratings.csv"], a) == hash_contents([b / "ratings.csv"], b)
    True
    """
    root_r = Path(root).resolve() if root is not None else None
    cache_path = Path(cache_file) if cache_file is not None else None
    try:
        cache = json.loads(cache_path.read_text()) if cache_path is not None and cache_path.is_file() else {}
    except ValueError:  # a damaged cache is only a cache
        cache = {}
    if not isinstance(cache, dict):
        cache = {}
    items, changed = [], False
    for p in paths:
        real = Path(p).resolve()
        st = os.stat(real)
        # ctime and inode too: an edit that keeps size and mtime (touch -d, a restore) still changes ctime,
        # and a file replaced by another keeps no inode
        key = f"{real}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}"
        digest = cache.get(key)
        if not isinstance(digest, str):
            digest, changed = hash_file(real), True
            cache[key] = digest
        name = real.relative_to(root_r).as_posix() if root_r is not None and real.is_relative_to(root_r) \
            else real.name
        items.append((name, st.st_size, digest))
    if changed and cache_path is not None:
        write_json(cache_path, cache)
    return hash_obj(sorted(items))


