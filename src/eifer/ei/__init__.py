"""Participant-level EI stages (paper §2.2.1, §3.1, §4.1).

* :func:`score_ei` — EI assessment → 0–1200 score;
* :func:`cutoff_sweep` — candidate cutoffs × HRV ANOVAs → ``cutoff_sweep.csv``;
  :func:`sweep_permutation_test` judges the best count against chance;
* :func:`assign_groups` — High / Low → ``groups.csv``;
* :func:`alignment_scores` — the abstract's alternative grouping score;
* :func:`plot_figure7`, :func:`make_table1` — Figure 7 and Table 1;
* runners :func:`run_ei`, :func:`run_cutoff`.
"""
from eifer.ei.alignment import alignment_scores, read_frame_tables
from eifer.ei.figure7 import plot_figure7
from eifer.ei.runner import run_cutoff, run_ei
from eifer.ei.scoring import ei_scores_from_table, score_ei
from eifer.ei.sweep import (
    assign_groups, candidate_cutoffs, choose_cutoff, cutoff_sweep, interaction_pvalues, sweep_data,
    sweep_permutation_test,
)
from eifer.ei.table1 import make_table1, table_markdown

__all__ = [
    "score_ei", "ei_scores_from_table", "cutoff_sweep", "candidate_cutoffs", "choose_cutoff",
    "interaction_pvalues", "sweep_data", "sweep_permutation_test", "assign_groups", "alignment_scores",
    "read_frame_tables", "plot_figure7", "make_table1", "table_markdown", "run_ei", "run_cutoff",
]
