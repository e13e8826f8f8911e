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

from eifer._tables import _cell_text, _grouped_cells, markdown_table, md_escape, numeric_columns


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    anchor: str = ""  # id for links within the page (``#anchor``)


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Note:
    """A highlighted remark, e.g. that a stage was not run."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table; the first ``group_cols`` columns are row groups (a repeated value is shown once)."""

    df: pd.DataFrame
    caption: str = ""
    group_cols: int = 0
    footnote: str = ""
    collapsed: str = ""  # non-empty: the table folds under a <details> with this summary in HTML


@dataclass(frozen=True)
class Figure:
    """A PNG file shown inline in HTML and linked (relative to the report) in Markdown."""

    path: Path
    caption: str = ""


@dataclass(frozen=True)
class Pre:
    text: str
    summary: str = ""  # non-empty: collapsed under a <details> heading in HTML


@dataclass(frozen=True)
class Link:
    """A link to another page of the report (``href`` relative to the report folder)."""

    text: str
    href: str
    md_href: str = ""  # the Markdown twin's target (default: ``href``)


@dataclass(frozen=True)
class Terms:
    """A list of (term, definition) pairs: a glossary or a legend."""

    items: tuple[tuple[str, str], ...]
    anchor: str = ""


@dataclass(frozen=True)
class Contents:
    """A table of contents: (text, anchor) per section, linked within the page."""

    items: tuple[tuple[str, str], ...]


Block = Heading | Para | Note | Table | Figure | Pre | Link | Terms | Contents

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1680px;margin:1.5em auto;
padding:0 1.5em;color:#1d232a;line-height:1.45}
p,dl,details{max-width:120ch}
h1{border-bottom:2px solid #345;padding-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ccd}
.tbl{overflow-x:auto;max-width:100%;margin:.4em 0 1.4em}
table{border-collapse:collapse;font-size:.84em;max-width:100%}
th,td{border:1px solid #ccd;padding:.22em .55em;text-align:left;vertical-align:top}
th{background:#eef1f5;vertical-align:bottom;overflow-wrap:anywhere}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.grp{font-weight:600;background:#f8f9fb}tr.start td{border-top:2px solid #8a94a6}
.caption{font-weight:600;margin:.8em 0 .2em;max-width:120ch}.foot{font-size:.85em;color:#445;margin-top:.3em}
figure{margin:1em 0 2em}figure img{max-width:100%;height:auto;border:1px solid #dde}
figcaption{font-size:.9em;color:#445;max-width:120ch}
.note{background:#fff7e0;border-left:4px solid #e0a800;padding:.5em .9em;margin:.8em 0}
pre{background:#f5f7fa;padding:.8em;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.82em}
dt{font-weight:600;margin-top:.4em}dd{margin:0 0 0 1.6em}
.nw{white-space:nowrap}nav.toc ol{columns:2 22em;margin:.3em 0 1em}
details.tbl-fold{margin:.4em 0 1.4em}details.tbl-fold>summary{cursor:pointer;font-weight:600}
"""

def _num_html(v: str) -> str:
    """A number may wrap only before its (SD) or [CI]: every other space is non-breaking."""
    return "&nbsp;".join(html.escape(v).split(" ")).replace("&nbsp;(", " (").replace("&nbsp;[", " [")


def _head_html(text: str) -> str:
    """A column header wraps between words (a long name anywhere, by the CSS), never inside a hyphenated
    term ("type-I", "F1-score")."""
    words = []
    for w in html.escape(text).split(" "):
        words.append(f'<span class="nw">{w}</span>' if "-" in w or "–" in w else w)
    return " ".join(words)


def _html_table(t: Table) -> str:
    num = numeric_columns(t.df)
    cls = [' class="num"' if n else "" for n in num]
    head = "".join(f"<th{c}>{_head_html(_cell_text(h))}</th>" for h, c in zip(t.df.columns, cls))
    rows, starts = _grouped_cells(t.df, t.group_cols)
    body = []
    for i, (r, level) in enumerate(zip(rows, starts)):
        tr = ' class="start"' if t.group_cols and i and level == 0 else ""
        tds = []
        for k, (v, c) in enumerate(zip(r, cls)):
            c = ' class="grp"' if k < t.group_cols else c
            tds.append(f"<td{c}>{_num_html(v) if num[k] else html.escape(v)}</td>")
        body.append(f"<tr{tr}>{''.join(tds)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img_tag(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _html_block(b: Block) -> str:
    if isinstance(b, Heading):
        anchor = f' id="{html.escape(b.anchor)}"' if b.anchor else ""
        return f"<h{b.level}{anchor}>{html.escape(b.text)}</h{b.level}>"
    if isinstance(b, Para):
        return f"<p>{html.escape(b.text)}</p>"
    if isinstance(b, Note):
        return f'<p class="note">{html.escape(b.text)}</p>'
    if isinstance(b, Table):
        cap = f'<p class="caption">{html.escape(b.caption)}</p>' if b.caption else ""
        foot = f'<p class="foot">{html.escape(b.footnote)}</p>' if b.footnote else ""
        if b.collapsed:
            return (f'<details class="tbl-fold"><summary>{html.escape(b.collapsed)}</summary>{cap}'
                    f'<div class="tbl">{_html_table(b)}{foot}</div></details>')
        return f'{cap}<div class="tbl">{_html_table(b)}{foot}</div>'
    if isinstance(b, Contents):
        items = "".join(f'<li><a href="#{html.escape(a)}">{html.escape(t)}</a></li>' for t, a in b.items)
        return f'<nav class="toc"><ol>{items}</ol></nav>'
    if isinstance(b, Figure):
        cap = f"<figcaption>{html.escape(b.caption)}</figcaption>" if b.caption else ""
        return f"<figure>{_img_tag(b.path, b.caption or b.path.name)}{cap}</figure>"
    if isinstance(b, Pre):
        pre = f"<pre>{html.escape(b.text)}</pre>"
        return f"<details><summary>{html.escape(b.summary)}</summary>{pre}</details>" if b.summary else pre
    if isinstance(b, Link):
        return f'<p><a href="{html.escape(b.href)}">{html.escape(b.text)}</a></p>'
    if isinstance(b, Terms):
        anchor = f' id="{html.escape(b.anchor)}"' if b.anchor else ""
        items = "".join(f"<dt>{html.escape(t)}</dt><dd>{html.escape(d)}</dd>" for t, d in b.items)
        return f"<dl{anchor}>{items}</dl>"
    raise TypeError(f"unknown report block {b!r}")


def render_html(blocks: list[Block], title: str) -> str:
    """One self-contained HTML page: inline CSS, images as base64 data URIs, no scripts."""
    body = "\n".join(_html_block(b) for b in blocks)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n"
            f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")


def _md_block(b: Block, base: Path) -> str:
    if isinstance(b, Heading):
        return "#" * b.level + " " + md_escape(b.text)
    if isinstance(b, Para):
        return md_escape(b.text)
    if isinstance(b, Note):
        return f"> **Note:** {md_escape(b.text)}"
    if isinstance(b, Table):
        text = ((f"**{md_escape(b.caption)}**\n\n" if b.caption else "") + markdown_table(b.df, b.group_cols)
                + (f"\n\n{md_escape(b.footnote)}" if b.footnote else ""))
        return (f"<details><summary>{html.escape(b.collapsed)}</summary>\n\n{text}\n\n</details>"
                if b.collapsed else text)
    if isinstance(b, Contents):
        return "\n".join(f"{k}. [{md_escape(t)}](#{slug_heading(t)})" for k, (t, a) in enumerate(b.items, 1))
    if isinstance(b, Figure):
        rel = Path(_relpath(b.path, base)).as_posix()
        cap = md_escape(b.caption or b.path.name)
        return f"![{cap}](<{rel}>)" + (f"\n\n*{cap}*" if b.caption else "")
    if isinstance(b, Link):
        return f"[{md_escape(b.text)}]({b.md_href or b.href})"
    if isinstance(b, Terms):
        return "\n".join(f"- **{md_escape(t)}**: {md_escape(d)}" for t, d in b.items)
    if isinstance(b, Pre):
        # a fence longer than any backtick run inside, so the text cannot close it
        fence = "`" * max(3, 1 + max((len(r) for r in re.findall("`+", b.text)), default=0))
        return (f"<details><summary>{html.escape(b.summary)}</summary>\n\n" if b.summary else "") + \
            f"{fence}\n{b.text.rstrip()}\n{fence}" + ("\n\n</details>" if b.summary else "")
    raise TypeError(f"unknown report block {b!r}")


def slug_heading(text: str) -> str:
    """The anchor a Markdown viewer (GitHub's rule) gives a heading; the HTML page uses the same.

    Examples
    --------
    >>> slug_heading("Recognition performance (Tables 2 and 3)"), slug_heading("HRV — quality")
    ('recognition-performance-tables-2-and-3', 'hrv--quality')
    """
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def _relpath(path: Path, base: Path) -> str:
    import os

    return os.path.relpath(Path(path).resolve(), Path(base).resolve())


def render_markdown(blocks: list[Block], title: str, base: Path) -> str:
    """Markdown rendering; figure links are relative to ``base`` (the report folder)."""
    return f"# {md_escape(title)}\n\n" + "\n\n".join(_md_block(b, base) for b in blocks) + "\n"
