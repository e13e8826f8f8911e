"""Reading the study's CSV tables with line numbers, and vectorised cell checks.

Each table is read with every cell as text, so that a bad cell can be reported
with its file, line and column instead of failing the whole parse. A hidden
column ``_line`` keeps the 1-based line of each row (header = line 1).
"""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from eifer.errors import Problem, StudyValidationError, decode_utf8
from eifer.study.meta import StudyMeta

LINE = "_line"


def read_table(root: Path, rel: str, meta: StudyMeta, required: Iterable[str],
               problems: list[Problem]) -> pd.DataFrame | None:
    """Read ``root/rel`` as text cells with ``_line``; report unreadable files and missing columns.

    Returns None when the file cannot be used at all (problems say why).
    """
    path = root / rel
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(rel, f"cannot be read: {exc.strerror or exc}"))
        return None
    if b"\x00" in data:  # pandas would silently cut the cell at the NUL
        for line in sorted({data.count(b"\n", 0, m.start()) + 1 for m in re.finditer(b"\x00", data)})[:5]:
            problems.append(Problem(rel, "contains a NUL byte (\\x00); save the file as plain text", row=line))
        return None
    try:
        text = decode_utf8(data, rel)
    except StudyValidationError as exc:
        problems.extend(exc.problems)
        return None
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        problems.append(Problem(rel, "file is empty (expected a header line)"))
        return None
    except pd.errors.ParserError as exc:
        problems.append(csv_parser_problem(rel, exc))
        return None
    if not isinstance(df.index, pd.RangeIndex):  # rows longer than the header: pandas shifts the columns
        problems.append(Problem(rel, f"the rows have {df.index.nlevels} field(s) more than the header "
                                     f"({len(df.columns)}); remove the extra field or add its column name", row=2))
        return None
    df.columns = [str(c).strip() for c in df.columns]
    df = df.rename(columns=meta.renames_for(list(df.columns)))
    dupes = sorted({c for c in df.columns if list(df.columns).count(c) > 1} | set(duplicate_columns(text)))
    for c in dupes:
        problems.append(Problem(rel, "column appears more than once in the header", row=1, column=c))
    missing = [c for c in required if c not in df.columns]
    hint = "; the file looks semicolon-separated: save it comma-separated" if any(";" in c for c in df.columns) else ""
    for c in missing:
        problems.append(Problem(rel, f"required column is missing (header has: {list(df.columns)}){hint}",
                                row=1, column=c))
    if missing or dupes:
        return None
    df = df.fillna("").apply(lambda s: s.str.strip())  # short rows leave NaN: treat as empty cells
    df[LINE] = np.arange(2, len(df) + 2)
    blank = (df.drop(columns=LINE) == "").all(axis=1)
    return df.loc[~blank].reset_index(drop=True)


def duplicate_columns(text: str) -> list[str]:
    """Names that appear more than once in the first line of CSV text, read as written.

    pandas renames a repeated column (``arousal``, ``arousal.1``) before any check
    could see it, so the header is read here with the :mod:`csv` module.

    Examples
    --------
    >>> duplicate_columns("participant_id,arousal, arousal\\nP01,1,2\\n")
    ['arousal']
    """
    import csv

    first = text.lstrip("\ufeff").split("\n", 1)[0]
    try:
        header = [c.strip() for c in next(csv.reader([first]), [])]
    except csv.Error:
        return []
    return sorted({c for c in header if c and header.count(c) > 1})


def csv_parser_problem(rel: str, exc: Exception) -> Problem:
    """pandas' tokenizer error as a problem naming the line ("Expected 5 fields in line 7, saw 6")."""
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if m is None:
        return Problem(rel, f"cannot be parsed as CSV: {exc}")
    want, line, saw = (int(x) for x in m.groups())
    return Problem(rel, f"the row has {saw} fields but the header has {want}; quote values that contain a comma",
                   row=line)


def report_rows(problems: list[Problem], rel: str, df: pd.DataFrame, mask: pd.Series, column: str | None,
                message: Callable[[pd.Series], str]) -> None:
    """One problem per row where ``mask`` holds; ``message(row)`` words it."""
    for _, row in df.loc[mask].iterrows():
        problems.append(Problem(rel, message(row), row=int(row[LINE]), column=column))


def check_present(problems: list[Problem], rel: str, df: pd.DataFrame, columns: Iterable[str]) -> pd.Series:
    """Report empty cells in ``columns``; returns the mask of rows where all are present."""
    ok = pd.Series(True, index=df.index)
    for c in columns:
        empty = df[c] == ""
        report_rows(problems, rel, df, empty, c, lambda r: "empty value")
        ok &= ~empty
    return ok


def check_integer(problems: list[Problem], rel: str, df: pd.DataFrame, column: str, lo: float | None = None,
                  hi: float | None = None, what: str = "") -> pd.Series:
    """Report cells that are not integers in [lo, hi]; returns the parsed column (NaN where bad)."""
    raw = df[column]
    num = pd.to_numeric(raw, errors="coerce")
    filled = raw != ""
    report_rows(problems, rel, df, filled & num.isna(), column, lambda r: f"{r[column]!r} is not a number")
    frac = num.notna() & (num != np.round(num))
    report_rows(problems, rel, df, frac, column, lambda r: f"{r[column]!r} is not an integer{what}")
    bad = num.isna() | frac
    if lo is not None and hi is not None:
        out = num.notna() & ~frac & ((num < lo) | (num > hi))
        report_rows(problems, rel, df, out, column,
                    lambda r: f"{r[column]} is outside the range {lo:g}..{hi:g}{what}")
        bad |= out
    return num.where(~bad)


def check_number(problems: list[Problem], rel: str, df: pd.DataFrame, column: str) -> pd.Series:
    """Report non-numeric cells; returns the parsed float column (NaN where bad or empty)."""
    raw = df[column]
    num = pd.to_numeric(raw, errors="coerce")
    finite = np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))
    report_rows(problems, rel, df, (raw != "") & ~finite, column, lambda r: f"{r[column]!r} is not a finite number")
    return num.where(finite)


def check_choice(problems: list[Problem], rel: str, df: pd.DataFrame, column: str, allowed: Iterable[str],
                 where: str) -> pd.Series:
    """Report cells not in ``allowed`` (``where`` says where the allowed values come from)."""
    allowed = list(allowed)
    bad = (df[column] != "") & ~df[column].isin(allowed)
    report_rows(problems, rel, df, bad, column, lambda r: f"unknown value {r[column]!r}; {where}: {allowed}")
    return ~bad


def check_unique(problems: list[Problem], rel: str, df: pd.DataFrame, keys: list[str], what: str) -> None:
    """Report every repeat of a key (naming the line of the first occurrence)."""
    if df.empty:
        return
    first_line = df.groupby(keys, sort=False)[LINE].transform("min")
    dup = df.duplicated(keys, keep="first")
    report_rows(problems, rel, df, dup, keys[-1] if len(keys) == 1 else None,
                lambda r: f"duplicated {what} {', '.join(f'{k}={r[k]!r}' for k in keys)} "
                          f"(first at line {int(first_line[r.name])})")


def typed(df: pd.DataFrame, ints: Iterable[str] = (), floats: Iterable[str] = ()) -> pd.DataFrame:
    """Drop ``_line`` and give the columns their types: ids str, listed ints/floats numeric, others inferred."""
    out = df.drop(columns=LINE).copy()
    ints, floats = set(ints), set(floats)
    for c in out.columns:
        if c in ints:
            out[c] = pd.to_numeric(out[c]).astype("int64")
        elif c in floats:  # empty cells are NaN
            out[c] = pd.to_numeric(out[c].mask(out[c] == "")).astype("float64")
        elif c not in ("participant_id", "video_id", "segment", "domain", "task", "emotion", "emotion_label"):
            num = pd.to_numeric(out[c].mask(out[c] == ""), errors="coerce")
            if num.notna().sum() == (out[c] != "").sum():  # every filled cell is a number
                out[c] = num
    return out.reset_index(drop=True)
