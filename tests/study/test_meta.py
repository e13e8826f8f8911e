"""study.yaml -> StudyMeta: defaults, the Likert midpoint, and problems naming the key."""
from eifer.study.meta import StudyMeta, meta_from_dict


def test_defaults_are_the_papers_study():
    meta, problems = meta_from_dict({})
    assert problems == [] and meta == StudyMeta()
    assert (meta.likert_min, meta.likert_max, meta.likert_neutral) == (1, 7, 4)
    assert meta.domains == ["HAHV", "HALV", "LAHV", "LALV"] and meta.ei_stimuli == 10


def test_neutral_defaults_to_midpoint_or_none_on_even_scales():
    assert meta_from_dict({"likert": {"min": 1, "max": 9}})[0].likert_neutral == 5
    assert meta_from_dict({"likert": {"min": 1, "max": 6}})[0].likert_neutral is None
    assert meta_from_dict({"likert": {"min": 1, "max": 7, "neutral": None}})[0].likert_neutral is None


def test_bad_values_fall_back_and_name_the_key():
    meta, problems = meta_from_dict({"name": "x", "likert": {"min": 5, "max": 3}, "ei": {"stimuli": 0},
                                     "video": {"extension": ".MOV", "fps": 25}, "ecg": {"format": "EDF"}},
                                    lines={"likert.min": 3, "ei.stimuli": 7})
    text = [str(p) for p in problems]
    assert any(t.startswith("study.yaml, line 3: key 'likert.min': must be smaller than likert.max") for t in text)
    assert any(t.startswith("study.yaml, line 7: key 'ei.stimuli': must be at least 1") for t in text)
    assert len(problems) == 2
    # good keys survive the bad ones
    assert (meta.name, meta.video_extension, meta.video_fps, meta.ecg_format) == ("x", ".MOV".lstrip("."), 25, "edf")


def test_renames_work_in_either_direction_and_never_clobber():
    meta = StudyMeta(columns={"participant_id": "subject", "T": "time_s"})
    assert meta.renames_for(["subject", "T", "x"]) == {"subject": "participant_id", "T": "time_s"}
    assert meta.renames_for(["subject", "participant_id"]) == {}
