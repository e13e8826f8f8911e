"""The ``ei`` stage: the EI assessment → a 0–1200 score per participant (paper §2.2.1).

* :func:`score_ei` — EI responses → score; :func:`ei_scores_from_table` — given scores, checked;
* stage runner :func:`run_ei`.

The EI cutoff and the High/Low groups are the ``cutoff`` stage (:mod:`eifer.cutoff`).
"""
from eifer.ei.scoring import ei_scores_from_table, score_ei
from eifer.ei.stage import run_ei

__all__ = ["score_ei", "ei_scores_from_table", "run_ei"]
