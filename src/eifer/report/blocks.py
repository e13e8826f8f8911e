"""Report building blocks and their two renderings (self-contained HTML, Markdown).

A report is a flat list of blocks; :func:`render_html` and :func:`render_markdown`
turn the same list into ``index.html`` (CSS and images inline, no scripts, no
network) and ``report.md`` (images linked by relative path), so the two never
disagree.
"""
from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Note:
    """A highlighted remark, e.g. that a stage was not run."""

    text: str


@dataclass(frozen=True)
class Table:
    df: pd.DataFrame
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    """A PNG file shown inline in HTML and linked (relative to the report) in Markdown."""

    path: Path
    caption: str = ""


@dataclass(frozen=True)
class Pre:
    text: str
    summary: str = ""  # non-empty: collapsed under a <details> heading in HTML


Block = Heading | Para | Note | Table | Figure | Pre

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1d232a;line-height:1.45}
h1{border-bottom:2px solid #345;padding-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ccd}
.tbl{overflow-x:auto;margin:.4em 0 1.4em}table{border-collapse:collapse;font-size:.86em}
th,td{border:1px solid #ccd;padding:.25em .6em;text-align:right;white-space:nowrap}
th{background:#eef1f5}td:first-child,th:first-child{text-align:left}
.caption{font-weight:600;margin:.8em 0 .2em}
figure{margin:1em 0 2em}figure img{max-width:100%;height:auto;border:1px solid #dde}
figcaption{font-size:.9em;color:#445}
.note{background:#fff7e0;border-left:4px solid #e0a800;padding:.5em .9em;margin:.8em 0}
pre{background:#f5f7fa;padding:.8em;overflow-x:auto;font-size:.82em}
"""


def _img_tag(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _html_block(b: Block) -> str:
    if isinstance(b, Heading):
        return f"<h{b.level}>{html.escape(b.text)}</h{b.level}>"
    if isinstance(b, Para):
        return f"<p>{html.escape(b.text)}</p>"
    if isinstance(b, Note):
        return f'<p class="note">{html.escape(b.text)}</p>'
    if isinstance(b, Table):
        body = b.df.to_html(index=False, border=0, na_rep="", escape=True)
        cap = f'<p class="caption">{html.escape(b.caption)}</p>' if b.caption else ""
        return f'{cap}<div class="tbl">{body}</div>'
    if isinstance(b, Figure):
        cap = f"<figcaption>{html.escape(b.caption)}</figcaption>" if b.caption else ""
        return f"<figure>{_img_tag(b.path, b.caption or b.path.name)}{cap}</figure>"
    if isinstance(b, Pre):
        pre = f"<pre>{html.escape(b.text)}</pre>"
        return f"<details><summary>{html.escape(b.summary)}</summary>{pre}</details>" if b.summary else pre
    raise TypeError(f"unknown report block {b!r}")


def render_html(blocks: list[Block], title: str) -> str:
    """One self-contained HTML page: inline CSS, images as base64 data URIs, no scripts."""
    body = "\n".join(_html_block(b) for b in blocks)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n"
            f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")


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


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no external dependency); every cell escaped (:func:`md_escape`)."""
    def cell(v: object) -> str:
        return "" if v is None or (isinstance(v, float) and pd.isna(v)) else md_escape(v)

    cols = [cell(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _md_block(b: Block, base: Path) -> str:
    if isinstance(b, Heading):
        return "#" * b.level + " " + md_escape(b.text)
    if isinstance(b, Para):
        return md_escape(b.text)
    if isinstance(b, Note):
        return f"> **Note:** {md_escape(b.text)}"
    if isinstance(b, Table):
        return (f"**{md_escape(b.caption)}**\n\n" if b.caption else "") + markdown_table(b.df)
    if isinstance(b, Figure):
        rel = Path(_relpath(b.path, base)).as_posix()
        cap = md_escape(b.caption or b.path.name)
        return f"![{cap}](<{rel}>)" + (f"\n\n*{cap}*" if b.caption else "")
    if isinstance(b, Pre):
        # a fence longer than any backtick run inside, so the text cannot close it
        fence = "`" * max(3, 1 + max((len(r) for r in re.findall("`+", b.text)), default=0))
        return (f"<details><summary>{html.escape(b.summary)}</summary>\n\n" if b.summary else "") + \
            f"{fence}\n{b.text.rstrip()}\n{fence}" + ("\n\n</details>" if b.summary else "")
    raise TypeError(f"unknown report block {b!r}")


def _relpath(path: Path, base: Path) -> str:
    import os

    return os.path.relpath(Path(path).resolve(), Path(base).resolve())


def render_markdown(blocks: list[Block], title: str, base: Path) -> str:
    """Markdown rendering; figure links are relative to ``base`` (the report folder)."""
    return f"# {md_escape(title)}\n\n" + "\n\n".join(_md_block(b, base) for b in blocks) + "\n"
