"""EI scoring at its edges: the perfect score, the score range, one duplicate reported once."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from eifer.ei import ei_scores_from_table, score_ei
from eifer.errors import StudyValidationError

TASKS = ["self", "others", "disc"]
EMOTIONS = ["joy", "anger", "sadness", "calm"]


def _responses(correct=lambda t, e, s: 1):
    rows = [("p1", t, e, s, int(correct(t, e, s))) for t, e, s in itertools.product(TASKS, EMOTIONS, range(1, 11))]
    return pd.DataFrame(rows, columns=["participant_id", "task", "emotion", "stimulus", "correct"])


def test_perfect_score_1200_is_accepted_and_zero_too():
    sc = score_ei(_responses(), tasks=TASKS, emotions=EMOTIONS)
    assert sc.loc[0, "ei_score"] == 1200 and (sc[[f"score_{t}" for t in TASKS]] == 400).all(axis=None)
    assert (sc[[f"score_{e}" for e in EMOTIONS]] == 300).all(axis=None)
    assert score_ei(_responses(lambda t, e, s: 0)).loc[0, "ei_score"] == 0
    ok = ei_scores_from_table(pd.DataFrame({"participant_id": ["a", "b"], "ei_score": [1200, 0]}))
    assert ok["ei_score"].tolist() == [1200.0, 0.0]


@pytest.mark.parametrize("bad", [np.nextafter(1200, 2000), -1e-9, np.nan, "x"])
def test_scores_just_outside_the_range_are_refused(bad):
    df = pd.DataFrame({"participant_id": ["a", "b"], "ei_score": [600, bad]})
    with pytest.raises(StudyValidationError, match="line 3.*not a number in 0–1200"):
        ei_scores_from_table(df)


def test_a_duplicated_trial_is_reported_once_on_the_repeat():
    r = _responses()
    r = pd.concat([r, r.iloc[[3]]], ignore_index=True)
    with pytest.raises(StudyValidationError) as exc:
        score_ei(r)
    msgs = [str(p) for p in exc.value.problems]
    assert len(msgs) == 1 and "line 122" in msgs[0] and "duplicated trial" in msgs[0]


def test_one_missing_trial_scaled_per_task_and_emotion():
    r = _responses().drop(index=0).reset_index(drop=True)   # self/joy/1 missing, all others correct
    sc = score_ei(r, tasks=TASKS, emotions=EMOTIONS, allow_incomplete=True).iloc[0]
    assert sc["ei_score"] == pytest.approx(1200) and sc["score_self"] == pytest.approx(400)
    assert sc["score_joy"] == pytest.approx(300) and sc["n_answered"] == 119 and sc["incomplete"]


def test_a_task_with_no_answered_trial_has_no_score_not_zero():
    r = _responses()
    r = r[r.task != "disc"].reset_index(drop=True)
    sc = score_ei(r, tasks=TASKS, emotions=EMOTIONS, allow_incomplete=True).iloc[0]
    assert np.isnan(sc["score_disc"]) and sc["score_self"] == 400 and sc["ei_score"] == pytest.approx(1200)
