"""Shared table text helpers: one Markdown-table writer and its cell rules (private).

Used by the report (``eifer.report.blocks``) and by the stages that write ``.md``
tables next to their CSVs (stats, ei, evaluate), so every Markdown table of a run
is written by the same code.
"""
from __future__ import annotations

import html
import math
import re

import pandas as pd

# a cell that reads as a number: 0.91, -0.0107, 0.9105 (0.0237), 0.0123 [-0.01, 0.03], < 0.001, 12.5 %, –
_NUMERIC = re.compile(r"^\s*(?:[<>≤≥]\s*)?[-−+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:e[-+]?\d+)?\s*%?"
                      r"(?:\s*[–-]\s*[-−+]?\d[\d,.]*)?(?:\s*[(\[][^()\[\]]*[)\]])?\s*[*†]*\s*$",
                      re.IGNORECASE)
_BLANK = {"", "–", "—", "-", "n/a", "nan", "None"}


def numeric_columns(df: pd.DataFrame) -> list[bool]:
    """Per column: do all its non-blank cells read as numbers (right-aligned in HTML)?

    Examples
    --------
    >>> numeric_columns(pd.DataFrame({"a": ["High", "Low"], "b": ["0.91 (0.02)", "< 0.001"], "c": [1, None]}))
    [False, True, True]
    """
    out = []
    for c in df.columns:
        cells = [_cell_text(v) for v in df[c]]
        filled = [v for v in cells if v not in _BLANK]
        out.append(bool(filled) and all(_NUMERIC.match(v) for v in filled))
    return out


def _cell_text(v: object) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return str(v)


def _grouped_cells(df: pd.DataFrame, group_cols: int) -> tuple[list[list[str]], list[int]]:
    """Cell texts with repeated row-group values blanked, and the level at which each row starts a group."""
    rows = [[_cell_text(v) for v in r] for r in df.itertuples(index=False)]
    starts = []
    prev: list[str] | None = None
    for r in rows:
        level = next((k for k in range(group_cols) if prev is None or r[k] != prev[k]), group_cols)
        starts.append(level)
        prev = list(r)
        for k in range(min(level, group_cols)):
            r[k] = ""
    return rows, starts


_MD_SPECIAL = re.compile(r"([\\`\[\]|])")


def md_escape(text: object) -> str:
    """``text`` as literal Markdown: ``& < >`` become entities; backslash, backtick, brackets and ``|`` are escaped.

    Study strings (ids, names, file names) end up in ``report.md``; escaped, a
    ``<script>`` or ``<img onerror=...>`` in an id shows as text, and a ``|`` cannot
    break a table.

    Examples
    --------
    >>> print(md_escape('<img src=x onerror="alert(1)"> a|b [x](javascript:y)'))
    &lt;img src=x onerror="alert(1)"&gt; a\\|b \\[x\\](javascript:y)
    """
    s = html.escape(str(text), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", s).replace("\r", " ").replace("\n", " ")


def markdown_table(df: pd.DataFrame, group_cols: int = 0, *, plain: bool = False) -> str:
    """A GitHub-flavoured Markdown table (no external dependency); numbers right-aligned, every cell escaped.

    The first ``group_cols`` columns are row groups: a value repeated from the row above is left blank.
    Cells go through :func:`md_escape`, so study strings cannot inject HTML or break the table.
    ``plain=True`` leaves every column unaligned (tables of mixed text such as Table 1); cells are
    escaped either way.

    Examples
    --------
    >>> print(markdown_table(pd.DataFrame({"Task": ["a", "a"], "F1": ["0.9", "0.8"]}), group_cols=1))
    | Task | F1 |
    |---|---:|
    | a | 0.9 |
    |  | 0.8 |
    >>> print(markdown_table(pd.DataFrame({"": ["n"], "A": ["1"]}), plain=True))
    |  | A |
    |---|---|
    | n | 1 |
    """
    def cell(v: object) -> str:
        # escaped even when plain: a study string (a participants.csv value in Table 1) may sit in any cell
        text = _cell_text(v)
        return md_escape(text) if text else text

    cols = [cell(c) for c in df.columns]
    align = ["---:" if n and not plain else "---" for n in numeric_columns(df)]
    rows, _ = _grouped_cells(df, group_cols)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def format_p(p: float | None) -> str:
    """A p- or q-value as the paper's tables print it: ``< 0.001``, ``0.042``; ``–`` when absent.

    Examples
    --------
    >>> format_p(0.0004), format_p(0.04217), format_p(float("nan")), format_p(None)
    ('< 0.001', '0.042', '–', '–')
    """
    if p is None or not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"
