"""Response-driven labels: Likert → binary, neutral → weak label from the domain."""
import pandas as pd
import pytest

from eifer.config import load_config
from eifer.errors import StudyValidationError
from eifer.labels import make_labels, run_labels
from eifer.runfolder import RunFolder


def _ratings(arousal, valence, domain="HALV"):
    n = len(arousal)
    return pd.DataFrame({"participant_id": [f"p{i}" for i in range(n)], "video_id": "v1",
                         "domain": domain, "arousal": arousal, "valence": valence})


def test_seven_point_scale_low_high_and_weak_neutral():
    lab = make_labels(_ratings([1, 3, 4, 5, 7], [7, 5, 4, 3, 1], domain="HALV"))
    assert lab["arousal_label"].tolist() == [0, 0, 1, 1, 1]  # neutral 4 -> HA from HALV
    assert lab["valence_label"].tolist() == [1, 1, 0, 0, 0]  # neutral 4 -> LV from HALV
    assert lab["arousal_weak"].tolist() == [False, False, True, False, False]
    assert lab["valence_weak"].tolist() == [False, False, True, False, False]
    assert list(lab.columns) == ["participant_id", "video_id", "domain", "arousal_rating", "valence_rating",
                                 "arousal_label", "valence_label", "arousal_weak", "valence_weak"]


def test_nine_point_sam_scale_uses_its_own_neutral():
    lab = make_labels(_ratings([4, 5, 6, 9], [1, 5, 5, 9], domain="LAHV"), likert_min=1, likert_max=9, neutral=5)
    assert lab["arousal_label"].tolist() == [0, 0, 1, 1]   # 5 is neutral -> LA from LAHV
    assert lab["arousal_weak"].tolist() == [False, True, False, False]
    assert lab["valence_label"].tolist() == [0, 1, 1, 1]   # neutral 5 -> HV from LAHV
    # on the 7-point scale the same 9 would be out of range
    with pytest.raises(StudyValidationError, match="line 5.*'arousal'.*outside the scale"):
        make_labels(_ratings([4, 5, 6, 9], [1, 5, 5, 7]))


def test_without_weak_labels_neutral_is_missing_not_guessed():
    lab = make_labels(_ratings([4, 6], [2, 4]), weak_from_domain=False)
    assert lab["arousal_label"].isna().tolist() == [True, False]
    assert lab["valence_label"].isna().tolist() == [False, True]


def test_bad_domain_and_duplicates_are_reported_with_lines():
    r = pd.concat([_ratings([2], [2], domain="XXYY"), _ratings([2], [2])], ignore_index=True)
    with pytest.raises(StudyValidationError) as exc:
        make_labels(r, file="ratings.csv")
    msgs = [str(p) for p in exc.value.problems]
    assert any("line 2" in m and "unknown domain 'XXYY'" in m for m in msgs)
    assert any("line 3" in m and "duplicated" in m for m in msgs)


def test_run_labels_on_synthetic_study_weak_share_follows_planted_consistency(synth_novideo, tmp_path):
    from eifer.study import load_study

    study = load_study(synth_novideo, validate_media=False)
    run = RunFolder(tmp_path / "run", load_config(profile="demo")).init()
    assert run_labels(study, run) == ["labels.csv"]
    lab = pd.read_csv(run.path("labels.csv"), dtype={"participant_id": str})
    ratings = study.ratings
    assert len(lab) == len(ratings)
    assert (lab["arousal_weak"] == (ratings["arousal"] == 4).to_numpy()).all()
    # non-neutral labels equal the rating side of 4
    nn = ~lab["valence_weak"]
    assert ((lab.loc[nn, "valence_label"] == 1) == (lab.loc[nn, "valence_rating"] > 4)).all()
    # weak labels equal the video's domain direction
    w = lab["arousal_weak"]
    assert (lab.loc[w, "arousal_label"] == lab.loc[w, "domain"].str[0].eq("H").astype(int)).all()
    # planted: low-EI participants give more neutral ratings
    truth = pd.read_csv(synth_novideo / "_truth" / "participants.csv", dtype={"participant_id": str})
    weak = lab.assign(weak=lab.arousal_weak | lab.valence_weak).merge(truth, on="participant_id")
    share = weak.groupby("true_group")["weak"].mean()
    assert share["Low"] > share["High"]
