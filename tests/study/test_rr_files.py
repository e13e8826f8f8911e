"""``ecg/<pid>.rr.csv`` (read by the HRV stage instead of the ECG) passes validation when valid and is
refused naming file, line and column when an interval is missing, zero, negative or out of order.

Uses the tiny study (tests/study/conftest.py): segments end at 100 s. An RR file here holds 126
intervals alternating 780 and 820 ms (header = line 1, interval k on line k + 1), so its last beat is at 100.8 s.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from eifer.cli import app
from eifer.hrv.core import RR_SUFFIX, HRVSettings, hrv_participant_rr
from eifer.study import load_study, validate_study
from eifer.study.media import RR_SUFFIX as STUDY_RR_SUFFIX


def write_rr(study: Path, pid: str, rr_ms: list[str], *, drop_ecg: bool = True, **extra: list[str]) -> Path:
    if drop_ecg:
        (study / "ecg" / f"{pid}.csv").unlink()
    path = study / "ecg" / f"{pid}.rr.csv"
    pd.DataFrame({"rr_ms": rr_ms, **extra}).to_csv(path, index=False)
    return path


def good_rr() -> list[str]:
    return ["780", "820"] * 63


def test_both_layers_name_the_same_file():
    assert STUDY_RR_SUFFIX == RR_SUFFIX


def test_valid_rr_files_pass_and_replace_the_ecg(tiny):
    write_rr(tiny, "P02", good_rr())  # P02 has only an RR file
    write_rr(tiny, "P03", good_rr(), drop_ecg=False)  # P03 has both (the HRV stage reads the RR file)
    assert [str(p) for p in validate_study(tiny)] == []
    study = load_study(tiny)
    assert study.participant_ids == ["P01", "P02", "P03"]
    res = CliRunner().invoke(app, ["validate", str(tiny)])
    assert res.exit_code == 0, res.output
    # the file that validation accepted is what the HRV stage reads
    seg = pd.DataFrame({"segment": ["whole"], "onset_s": [0.0], "offset_s": [100.0]})
    out = hrv_participant_rr("P02", pd.read_csv(tiny / "ecg" / "P02.rr.csv"), seg, HRVSettings(domains=["time"]))
    rr = np.array(good_rr(), dtype=float)
    ends = np.cumsum(rr) / 1000
    assert out.loc[0, "HRV_MeanNN"] == pytest.approx(rr[(ends > 0) & (ends <= 100)].mean())


@pytest.mark.parametrize("value, line", [("0", 5), ("-800", 9), ("", 7), ("abc", 3)])
def test_a_missing_zero_or_negative_interval_is_refused_naming_its_line(tiny, value, line):
    rr = good_rr()
    rr[line - 2] = value
    write_rr(tiny, "P02", rr)
    found = [str(p) for p in validate_study(tiny)]
    assert len(found) == 1, found
    assert found[0].startswith(f"ecg/P02.rr.csv, line {line}, column 'rr_ms': ")
    assert "1 such line(s)" in found[0]
    res = CliRunner().invoke(app, ["validate", str(tiny)])
    assert res.exit_code == 1
    assert f"ecg/P02.rr.csv, line {line}, column 'rr_ms'" in res.stdout


def test_zero_and_negative_together_name_the_first_and_count_both(tiny):
    rr = good_rr()
    rr[4 - 2], rr[10 - 2] = "-1", "0"
    write_rr(tiny, "P02", rr)
    found = [str(p) for p in validate_study(tiny)]
    assert found == ["ecg/P02.rr.csv, line 4, column 'rr_ms': '-1' is not a positive number (an interval must "
                     "be > 0); 2 such line(s), this is the first; every interval is needed to place the beats "
                     "after it: fill the gap or cut the recording there"]


def test_the_smallest_positive_interval_is_accepted(tiny):
    # boundary of "> 0": 0 is refused above, anything above it is an interval
    rr = good_rr()
    rr.insert(5 - 2, "0.001")  # an extra line: the other beats keep their times
    write_rr(tiny, "P02", rr)
    assert [str(p) for p in validate_study(tiny)] == []


def test_rr_s_with_beat_times(tiny):
    rr_s = ["0.8"] * 126
    t = [f"{x:.1f}" for x in 0.8 * np.arange(1, 127)]
    path = tiny / "ecg" / "P02.rr.csv"
    (tiny / "ecg" / "P02.csv").unlink()
    pd.DataFrame({"time_s": t, "rr_s": rr_s}).to_csv(path, index=False)
    assert [str(p) for p in validate_study(tiny)] == []
    t[20 - 2] = t[19 - 2]  # a repeated beat time
    pd.DataFrame({"time_s": t, "rr_s": rr_s}).to_csv(path, index=False)
    assert [str(p) for p in validate_study(tiny)] == [
        "ecg/P02.rr.csv, line 20, column 'time_s': beat times must rise: 14.4 s after 14.4 s"]


def test_rr_file_too_short_for_the_segments(tiny):
    write_rr(tiny, "P02", ["800"] * 100)  # last beat at 80 s; segments run to 100 s
    found = [str(p) for p in validate_study(tiny)]
    assert found and all(m.startswith("ecg/segments.csv, line ") and "after the end of the recording (80 s)" in m
                         for m in found), found


def test_rr_file_without_an_interval_column_and_of_an_unlisted_participant(tiny):
    (tiny / "ecg" / "P02.csv").unlink()
    pd.DataFrame({"interval": good_rr()}).to_csv(tiny / "ecg" / "P02.rr.csv", index=False)
    pd.DataFrame({"rr_ms": good_rr()}).to_csv(tiny / "ecg" / "P09.rr.csv", index=False)
    found = [str(p) for p in validate_study(tiny)]
    assert "ecg/P02.rr.csv, line 1: needs a column rr_ms or rr_s (found ['interval'])" in found
    assert "ecg/P09.rr.csv: RR file of participant 'P09', who is not listed in participants.csv" in found
    assert len(found) == 2, found
