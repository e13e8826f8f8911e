"""Study strings in report.md are shown as text, never as HTML or Markdown syntax (issue 13, item 4)."""
import re

import pandas as pd

from eifer.report import blocks as B

EVIL = ["<script>alert(1)</script>", '<img src=x onerror="alert(2)">', "P|01", "[x](javascript:alert(3))"]


def test_markdown_report_escapes_study_strings(tmp_path):
    df = pd.DataFrame({"participant_id": EVIL, "n": [1, 2, 3, 4]})
    blocks = [B.Heading(EVIL[0]), B.Para("id " + EVIL[1]), B.Note(EVIL[0]), B.Table(df, caption=EVIL[1]),
              B.Figure(tmp_path / "f.png", caption=EVIL[1]), B.Pre("```\n" + EVIL[0], summary=EVIL[1])]
    md = B.render_markdown(blocks, EVIL[0], tmp_path)
    pre_start = md.index("````")
    outside_pre = md[:pre_start]
    assert "<script" not in outside_pre and "<img" not in outside_pre
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in outside_pre
    assert '&lt;img src=x onerror="alert(2)"&gt;' in outside_pre
    assert not re.search(r"(?<!\\)\](\(|<)?javascript:", md)  # no link a reader could click
    # every table row keeps its 2 columns: the pipe in "P|01" is escaped
    rows = [r for r in md.splitlines() if r.startswith("| ")]
    assert len(rows) == 5 and all(len(re.split(r"(?<!\\)\|", r)) == 4 for r in rows)
    assert "<details><summary>&lt;img" in md
    # the code block: its fence is longer than the backticks inside, so the text cannot close it
    assert md[pre_start:].startswith("````\n```\n<script>")
    assert md.rstrip().endswith("</details>")
