"""Any combination of planted problems is reported in full, and nothing else is."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_validate import edit, set_cell

from eifer.study import validate_study


def _unlink(rel):
    return lambda s: (s / rel).unlink()


def _empty(rel):
    return lambda s: (s / rel).write_bytes(b"")


# name -> (how to plant it, the start of the one problem it must cause); plantings touch disjoint rows
PLANTINGS = {
    "duplicate_id": (lambda s: edit(s, "participants.csv", lambda df: pd.concat([df, df.iloc[[1]]])),
                     "participants.csv, line 5, column 'participant_id': duplicated participant id"),
    "likert": (lambda s: set_cell(s, "ratings.csv", 5, "arousal", "9"),
               "ratings.csv, line 5, column 'arousal': 9 is outside"),
    "domain": (lambda s: set_cell(s, "ratings.csv", 11, "domain", "sad"),
               "ratings.csv, line 11, column 'domain': unknown value 'sad'"),
    "missing_video": (_unlink("videos/P03/v4.mp4"), "ratings.csv, line 13, column 'video_id': video file"),
    "empty_video": (_empty("videos/P02/v4.mp4"), "videos/P02/v4.mp4: video file is empty"),
    "ecg_nan": (lambda s: set_cell(s, "ecg/P03.csv", 1000, "ecg", ""), "ecg/P03.csv, line 1000, column 'ecg'"),
    "ecg_backwards": (lambda s: set_cell(s, "ecg/P01.csv", 70, "time_s", "0.1"),
                      "ecg/P01.csv, line 70, column 'time_s': time goes backwards"),
    "segment_beyond": (lambda s: set_cell(s, "ecg/segments.csv", 10, "offset_s", "100.5"),
                       "ecg/segments.csv, line 10, column 'offset_s': segment 'recovery_4' ends at 100.5 s"),
    "segment_reversed": (lambda s: set_cell(s, "ecg/segments.csv", 12, "onset_s", "40"),
                         "ecg/segments.csv, line 12, column 'offset_s': segment 'v1' ends"),
    "ei_missing": (lambda s: edit(s, "ei_responses.csv", lambda df: df.drop(index=200)),
                   "ei_responses.csv: participant 'P02': missing trial task='discrimination', emotion='joy'"),
    "ei_correct": (lambda s: set_cell(s, "ei_responses.csv", 52, "correct", "2"),
                   "ei_responses.csv, line 52, column 'correct': '2' is not 0 or 1"),
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.sets(st.sampled_from(sorted(PLANTINGS)), min_size=1))
def test_all_planted_problems_are_found_and_nothing_else(tiny_template, names):
    with tempfile.TemporaryDirectory() as tmp:
        study = Path(shutil.copytree(tiny_template, Path(tmp) / "study"))
        for name in names:
            PLANTINGS[name][0](study)
        found = [str(p) for p in validate_study(study, n_jobs=1)]
    expected = [PLANTINGS[n][1] for n in names]
    assert len(found) == len(expected), "\n".join(found)
    for e in expected:
        assert sum(f.startswith(e) for f in found) == 1, (e, found)
