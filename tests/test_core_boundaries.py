"""Every stage core checks its tables at entry, the scikit-learn way (docs/architecture.md).

A table missing a column the core needs is refused with one :class:`EiferError`
naming the missing column, before any work; never a ``KeyError`` from deep inside.
"""
from __future__ import annotations

import pandas as pd
import pytest

from eifer.errors import EiferError

WRONG = pd.DataFrame({"unrelated": [1, 2]})


def _cores():
    from eifer.affect.geometry import GeometryEstimator
    from eifer.cutoff import assign_groups, cutoff_sweep
    from eifer.cutoff.alignment import alignment_scores
    from eifer.ei import score_ei
    from eifer.evaluate import metrics_per_run
    from eifer.frames.quality import apply_quality
    from eifer.labels import make_labels
    from eifer.select import build_test_subsets, select_frames
    from eifer.split import make_splits
    from eifer.stats import compare_groups

    scores = pd.DataFrame({"participant_id": ["p1", "p2"], "ei_score": [500.0, 900.0]})
    return {
        "score_ei": lambda: score_ei(WRONG),
        "make_labels": lambda: make_labels(WRONG),
        "cutoff_sweep(scores)": lambda: cutoff_sweep(WRONG, pd.DataFrame({"participant_id": [], "emotion_label": []})),
        "cutoff_sweep(hrv)": lambda: cutoff_sweep(scores, WRONG),
        "assign_groups": lambda: assign_groups(WRONG, 600),
        "apply_quality": lambda: apply_quality(WRONG),
        "select_frames(frames)": lambda: select_frames(WRONG, pd.DataFrame()),
        "build_test_subsets(frames)": lambda: build_test_subsets(WRONG, pd.DataFrame()),
        "make_splits": lambda: make_splits(WRONG, {}, seed=0, repetitions=1),
        "metrics_per_run": lambda: metrics_per_run(WRONG),
        "compare_groups": lambda: compare_groups(WRONG),
        "alignment_scores": lambda: alignment_scores(WRONG, pd.DataFrame()),
        "GeometryEstimator.estimate": lambda: GeometryEstimator().estimate(WRONG),
    }


@pytest.mark.parametrize("name", list(_cores()))
def test_core_refuses_a_table_without_its_columns(name):
    with pytest.raises(EiferError, match=r"missing column\(s\) [a-z_]+"):
        _cores()[name]()
