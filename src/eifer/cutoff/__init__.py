"""The ``cutoff`` stage: the EI cutoff and the High/Low groups (paper §3.1, §4.1).

* :func:`cutoff_sweep` — candidate cutoffs × HRV ANOVAs → ``cutoff_sweep.csv``;
  :func:`sweep_permutation_test` judges the best count against chance;
* :func:`assign_groups` — High / Low → ``groups.csv``;
* :func:`alignment_scores` — the abstract's alternative grouping score;
* :func:`plot_figure7`, :func:`make_table1` — Figure 7 and Table 1;
* stage runner :func:`run_cutoff`.
"""
from eifer.cutoff.alignment import alignment_scores, read_frame_tables
from eifer.cutoff.figure7 import plot_figure7
from eifer.cutoff.stage import run_cutoff
from eifer.cutoff.sweep import (
    assign_groups,
    candidate_cutoffs,
    choose_cutoff,
    cutoff_sweep,
    interaction_pvalues,
    sweep_data,
    sweep_permutation_test,
)
from eifer.cutoff.table1 import make_table1, table_markdown

__all__ = [
    "cutoff_sweep", "candidate_cutoffs", "choose_cutoff", "interaction_pvalues", "sweep_data",
    "sweep_permutation_test", "assign_groups", "alignment_scores", "read_frame_tables", "plot_figure7",
    "make_table1", "table_markdown", "run_cutoff",
]
