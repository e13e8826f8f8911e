"""Labels at the scale's edges: no neutral point, an off-centre neutral point, ratings at the ends."""
from __future__ import annotations

import pandas as pd
import pytest

from eifer.errors import EiferError, StudyValidationError
from eifer.labels import make_labels


def _ratings(arousal, valence, domain="HALV"):
    n = len(arousal)
    return pd.DataFrame({"participant_id": [f"p{i}" for i in range(n)], "video_id": "v1",
                         "domain": domain, "arousal": arousal, "valence": valence})


def test_scale_without_neutral_point_splits_at_its_centre_and_weakens_nothing():
    # 1-6 scale: centre 3.5; a (slider) rating exactly at the centre is not high
    lab = make_labels(_ratings([1, 3, 3.5, 4, 6], [6, 4, 3.5, 3, 1], domain="LAHV"),
                      likert_min=1, likert_max=6, neutral=None)
    assert lab["arousal_label"].tolist() == [0, 0, 0, 1, 1]
    assert lab["valence_label"].tolist() == [1, 1, 0, 0, 0]
    assert not lab["arousal_weak"].any() and not lab["valence_weak"].any()


def test_split_is_at_the_neutral_point_not_the_scale_centre():
    # 0-10 scale with neutral 3 (an off-centre anchor): 4 is already high, 3 is weak
    lab = make_labels(_ratings([0, 2, 3, 4, 5], [10, 6, 5, 3, 2], domain="LALV"), likert_min=0, likert_max=10,
                      neutral=3)
    assert lab["arousal_label"].tolist() == [0, 0, 0, 1, 1]
    assert lab["arousal_weak"].tolist() == [False, False, True, False, False]
    assert lab["valence_label"].tolist() == [1, 1, 1, 0, 0]   # 3 is weak -> LV from LALV


@pytest.mark.parametrize("neutral", [1, 7])
def test_neutral_at_a_scale_end_is_refused(neutral):
    with pytest.raises(EiferError, match="strictly inside"):
        make_labels(_ratings([2], [2]), likert_min=1, likert_max=7, neutral=neutral)


def test_ratings_at_the_scale_ends_are_valid_and_just_outside_refused():
    lab = make_labels(_ratings([1, 7], [7, 1]))
    assert lab["arousal_label"].tolist() == [0, 1]
    for bad in (0.999, 7.001):
        with pytest.raises(StudyValidationError, match="outside the scale"):
            make_labels(_ratings([bad], [4]))
