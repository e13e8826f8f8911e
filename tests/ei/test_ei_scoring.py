"""EI scoring: 10 points per correct answer, 0–1200, per task and per emotion."""
import itertools

import numpy as np
import pandas as pd
import pytest

from eifer.ei import ei_scores_from_table, score_ei
from eifer.errors import StudyValidationError

TASKS = ["self_awareness", "others_awareness", "discrimination"]
EMOTIONS = ["joy", "anger", "sadness", "calm"]


def _responses(pid="p1", correct=lambda t, e, s: 1):
    rows = [(pid, t, e, s, int(correct(t, e, s))) for t, e, s in itertools.product(TASKS, EMOTIONS, range(1, 11))]
    return pd.DataFrame(rows, columns=["participant_id", "task", "emotion", "stimulus", "correct"])


def test_scores_total_task_and_emotion_breakdown():
    # p1: all correct in self_awareness, odd stimuli elsewhere; p2: only 'joy' correct
    r = pd.concat([_responses("p1", lambda t, e, s: t == "self_awareness" or s % 2),
                   _responses("p2", lambda t, e, s: e == "joy")], ignore_index=True)
    sc = score_ei(r, tasks=TASKS, emotions=EMOTIONS).set_index("participant_id")
    assert sc.loc["p1", "ei_score"] == 400 + 200 + 200
    assert sc.loc["p1", "score_self_awareness"] == 400
    assert sc.loc["p1", "score_discrimination"] == 200
    assert sc.loc["p1", "score_anger"] == 100 + 50 + 50
    assert sc.loc["p2", "ei_score"] == 300
    assert sc.loc["p2", "score_joy"] == 300 and sc.loc["p2", "score_calm"] == 0
    assert sc.loc["p2", [f"score_{t}" for t in TASKS]].tolist() == [100, 100, 100]
    assert not sc["incomplete"].any() and (sc["n_answered"] == 120).all()


def test_missing_trial_is_an_error_naming_participant_and_trial():
    r = _responses().drop(index=5).reset_index(drop=True)
    with pytest.raises(StudyValidationError, match=r"participant 'p1' is missing 1 trial.*self_awareness/joy/6"):
        score_ei(r, tasks=TASKS, emotions=EMOTIONS)


def test_incomplete_allowed_is_scaled_and_flagged():
    r = _responses(correct=lambda t, e, s: s <= 5)
    r = r.loc[~((r.task == "discrimination") & (r.stimulus > 5))]  # drop 20 wrong answers
    sc = score_ei(r, tasks=TASKS, emotions=EMOTIONS, allow_incomplete=True)
    # 60 correct of 100 answered -> 60 % of 1200
    assert sc.loc[0, "ei_score"] == pytest.approx(720)
    assert sc.loc[0, "score_discrimination"] == pytest.approx(400)  # 20 of 20 answered
    assert bool(sc.loc[0, "incomplete"]) and sc.loc[0, "n_answered"] == 100


def test_duplicated_trial_and_bad_correct_value_name_the_line():
    r = _responses()
    r = pd.concat([r, r.iloc[[3]]], ignore_index=True)
    r.loc[0, "correct"] = 2
    with pytest.raises(StudyValidationError) as exc:
        score_ei(r, file="ei_responses.csv")
    msgs = [str(p) for p in exc.value.problems]
    assert any("line 2" in m and "0 or 1" in m for m in msgs)
    assert any("line 122" in m and "duplicated trial" in m for m in msgs)


def test_precomputed_scores_are_checked():
    ok = ei_scores_from_table(pd.DataFrame({"participant_id": ["b", "a"], "ei_score": [830, 900.5]}))
    assert ok["participant_id"].tolist() == ["a", "b"] and ok["ei_score"].tolist() == [900.5, 830]
    with pytest.raises(StudyValidationError, match="line 3.*not a number in 0–1200"):
        ei_scores_from_table(pd.DataFrame({"participant_id": ["a", "b"], "ei_score": [10, 1300]}))


def test_synthetic_scores_recover_planted_expected_scores(synth_novideo):
    from eifer.study import load_study

    study = load_study(synth_novideo, validate_media=False)
    sc = score_ei(study.ei_responses, tasks=study.meta.ei_tasks, emotions=study.meta.ei_emotions)
    truth = pd.read_csv(synth_novideo / "_truth" / "participants.csv", dtype={"participant_id": str})
    m = sc.merge(truth, on="participant_id")
    assert len(m) == len(truth)
    assert ((m["ei_score"] >= 0) & (m["ei_score"] <= 1200)).all()
    assert np.isclose(m[[f"score_{t}" for t in study.meta.ei_tasks]].sum(axis=1), m["ei_score"]).all()
    # binomial noise of 120 trials: SD <= 10 * sqrt(120 * 0.25) ~ 55 points
    assert np.corrcoef(m["ei_score"], m["ei_score_expected"])[0, 1] > 0.9
    assert (m["ei_score"] - m["ei_score_expected"]).abs().max() < 200
