"""The top of the report (summary card, "this run vs the paper", contents) and the notes beside numbers
that depend on the run's settings.

Kept apart from :mod:`eifer.report.build`, which calls these functions at a few places.
"""
from __future__ import annotations

import dataclasses

import pandas as pd

from eifer.io import read_csv
from eifer.report import blocks as B
from eifer.report.run_vs_paper import (
    compute_changed_settings,
    compute_planted_recovered,
    compute_run_vs_paper,
    same_partition,
)
from eifer.report.summaries import study_summary
from eifer.runfolder import RunFolder


def build_overview(run: RunFolder) -> list[B.Block]:
    """Summary card, the run-vs-paper box, planted vs recovered (synthetic study) and the changed settings."""
    out: list[B.Block] = [B.Heading("Summary", anchor="summary")]
    s = study_summary(run.root)
    if len(s):
        out.append(B.Table(s, "This run at a glance."))
    box = compute_run_vs_paper(run.config)
    differ = box[~box["same"]]
    shown = box.assign(**{"": ["same as the paper" if v else "differs" for v in box["same"]]}).drop(columns="same")
    lead = ("This run uses the paper's settings for everything below." if differ.empty else
            f"This run departs from the paper in {len(differ)} of {len(box)} settings that the numbers below "
            f"depend on ({', '.join(differ['setting'])}): compare its numbers with the paper's only with that "
            "in mind.")
    out += [B.Heading("This run vs the paper", level=3, anchor="run-vs-paper"), B.Note(lead),
            B.Table(shown, "Settings read from this run's config.yaml beside the paper's (docs/paper-map.md).")]
    planted = compute_planted_recovered(run.root)
    if planted is not None:
        out.append(B.Table(planted, "Synthetic study: what was planted (the study's _truth folder) and what this "
                                    "run recovered."))
    changed = compute_changed_settings(run.config)
    if len(changed):
        out.append(B.Table(changed, f"Every setting that differs from the paper profile ({len(changed)}).",
                           collapsed=f"All {len(changed)} settings that differ from the paper profile"))
    return out


def departure_note(run: RunFolder, affects: str) -> B.Block | None:
    """One line before a table: the settings it depends on where this run departs from the paper."""
    box = compute_run_vs_paper(run.config)
    hit = box[~box["same"] & box["affects"].str.contains(affects, regex=False)]
    if hit.empty:
        return None
    what = "; ".join(f"{r['setting']}: {r['this run']} (paper: {r['paper']})" for _, r in hit.iterrows())
    return B.Note(f"This run vs the paper — {what}.")


def partition_note(run: RunFolder) -> B.Block | None:
    """Which other cutoffs put every participant in the same group as the chosen one."""
    g, e = run.path("groups.csv"), run.path("ei_scores.csv")
    sweep = run.path("cutoff_sweep.csv")
    if not (g.is_file() and e.is_file() and sweep.is_file()):
        return None
    chosen = float(read_csv(g)["cutoff"].iloc[0])
    scores = read_csv(e)["ei_score"]
    cuts = pd.to_numeric(read_csv(sweep)["cutoff"], errors="coerce").dropna()
    same = sorted(float(c) for c in cuts if same_partition(scores, chosen, float(c)))
    if len(same) <= 1:
        return None
    return B.Para(f"Every cutoff from {same[0]:g} to {same[-1]:g} gives the same two groups as the chosen "
                  f"{chosen:g} (no participant's EI score lies between them): these cutoffs are one choice, "
                  "not several.")


def add_contents(blocks: list[B.Block], after: int) -> list[B.Block]:
    """Give every level-2 heading an anchor (its Markdown slug when it has none) and insert a table of
    contents at position ``after``."""
    out: list[B.Block] = []
    items: list[tuple[str, str]] = []
    for b in blocks:
        if isinstance(b, B.Heading) and b.level == 2:
            if not b.anchor:
                b = dataclasses.replace(b, anchor=B.slug_heading(b.text))
            items.append((b.text, b.anchor))
        out.append(b)
    return out[:after] + [B.Heading("Contents", level=3), B.Contents(tuple(items))] + out[after:]

