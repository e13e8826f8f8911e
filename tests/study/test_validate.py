"""Each bad-input class is reported with its exact file, line and column, and nothing else is.

Every test breaks a fresh copy of the tiny valid study (tests/study/conftest.py)
in known places, then checks that ``validate_study`` returns exactly the planted
problems and that ``eifer validate`` lists them with exit code 1.

Tiny-study line numbers (header = line 1): participants P01..P03 on lines 2..4;
ratings 4 videos per participant (P01 v1..v4 = lines 2..5, P02 = 6..9, P03 = 10..13);
ei_responses 120 trials per participant in task, emotion, stimulus order (P02 starts
at line 122); ECG at 100 Hz, line k holds time (k - 2) / 100 s, 0..100 s; segments 9 per
participant (baseline, v1, recovery_1, v2, ..., recovery_4; P02 starts at line 11).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from eifer.cli import app
from eifer.errors import StudyValidationError
from eifer.study import load_study, read_ecg, validate_study


def _study_conftest():
    """tests/study/conftest.py by path: a plain ``import conftest`` finds whichever conftest pytest loaded
    last (e.g. tests/affect/conftest.py when both folders are named on one command line)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_study_conftest", Path(__file__).with_name("conftest.py"))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


write_video = _study_conftest().write_video


def edit(study: Path, rel: str, fn) -> None:
    path = study / rel
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(df).to_csv(path, index=False)


def set_cell(study: Path, rel: str, line: int, column: str, value: str) -> None:
    def fn(df):
        df.loc[line - 2, column] = value
        return df
    edit(study, rel, fn)


def assert_exactly(study: Path, expected: list[str], **kwargs) -> list[str]:
    """``expected`` are prefixes (file, line, column) + message starts of the only problems found."""
    found = [str(p) for p in validate_study(study, **kwargs)]
    for e in expected:
        assert sum(m.startswith(e) for m in found) == 1, f"{e!r} not reported once in:\n" + "\n".join(found)
    assert len(found) == len(expected), "unexpected problems:\n" + "\n".join(found)
    res = CliRunner().invoke(app, ["validate", str(study)] + (["--skip-media"] if not kwargs.get(
        "validate_media", True) else []))
    assert res.exit_code == 1, res.output
    for e in expected:
        assert e in res.stdout
    assert f"{len(expected)} problem(s):" in res.stdout
    return found


def test_duplicated_participant_id(tiny):
    edit(tiny, "participants.csv", lambda df: pd.concat([df, df.iloc[[1]]]))
    assert_exactly(tiny, ["participants.csv, line 5, column 'participant_id': duplicated participant id "
                          "participant_id='P02' (first at line 3)"])


def test_missing_required_columns(tiny):
    edit(tiny, "ratings.csv", lambda df: df.drop(columns=["valence"]))
    edit(tiny, "ei_responses.csv", lambda df: df.drop(columns=["correct", "stimulus"]))
    assert_exactly(tiny, [
        "ratings.csv, line 1, column 'valence': required column is missing",
        "ei_responses.csv, line 1, column 'stimulus': required column is missing",
        "ei_responses.csv, line 1, column 'correct': required column is missing",
    ])


def test_likert_out_of_range_or_not_integer(tiny):
    set_cell(tiny, "ratings.csv", 5, "arousal", "9")
    set_cell(tiny, "ratings.csv", 7, "valence", "4.5")
    set_cell(tiny, "ratings.csv", 8, "arousal", "")
    set_cell(tiny, "ratings.csv", 9, "valence", "high")
    set_cell(tiny, "ratings.csv", 10, "valence", "0")
    assert_exactly(tiny, [
        "ratings.csv, line 5, column 'arousal': 9 is outside the range 1..7",
        "ratings.csv, line 7, column 'valence': '4.5' is not an integer",
        "ratings.csv, line 8, column 'arousal': empty value",
        "ratings.csv, line 9, column 'valence': 'high' is not a number",
        "ratings.csv, line 10, column 'valence': 0 is outside the range 1..7",
    ])


def test_likert_scale_comes_from_study_yaml(tiny):
    meta = yaml.safe_load((tiny / "study.yaml").read_text())
    meta["likert"] = {"min": 1, "max": 9, "neutral": 5}
    (tiny / "study.yaml").write_text(yaml.safe_dump(meta))
    set_cell(tiny, "ratings.csv", 5, "arousal", "9")  # fine on a 9-point scale
    set_cell(tiny, "ratings.csv", 6, "arousal", "10")
    assert_exactly(tiny, ["ratings.csv, line 6, column 'arousal': 10 is outside the range 1..9"])


def test_unknown_domain(tiny):
    set_cell(tiny, "ratings.csv", 6, "domain", "HAHX")
    assert_exactly(tiny, ["ratings.csv, line 6, column 'domain': unknown value 'HAHX'"])


def test_duplicated_rating(tiny):
    edit(tiny, "ratings.csv", lambda df: pd.concat([df, df.iloc[[6]]]))  # P02 v3 again
    assert_exactly(tiny, ["ratings.csv, line 14: duplicated rating of participant_id='P02', video_id='v3' "
                          "(first at line 8)"])


def test_participant_in_one_table_missing_in_another(tiny):
    def swap_p02_for_p09(df):
        df = df[df.participant_id != "P02"]
        return pd.concat([df, df[df.participant_id == "P01"].assign(participant_id="P09")])
    edit(tiny, "ei_responses.csv", swap_p02_for_p09)  # P01 2..121, P03 122..241, P09 242..361
    (tiny / "ecg" / "P03.csv").rename(tiny / "ecg" / "P03.txt")
    edit(tiny, "ecg/segments.csv", lambda df: df[df.participant_id != "P01"])
    assert_exactly(tiny, [
        "ei_responses.csv, line 242, column 'participant_id': participant 'P09' is not listed in participants.csv",
        "ei_responses.csv: participant 'P02' (participants.csv line 3) has no rows here",
        "ecg/P03.csv: ECG file not found for participant 'P03' (participants.csv line 4); found ['P03.txt'] but "
        "study.yaml ecg.format is 'csv'",
        "ecg/segments.csv: participant 'P01' (participants.csv line 2) has no rows here",
    ])


def test_missing_and_unrated_video_files(tiny):
    (tiny / "videos/P02/v3.mp4").unlink()
    (tiny / "videos/P01/v2.mp4").rename(tiny / "videos/P01/v2.avi")
    shutil.copyfile(tiny / "videos/P01/v1.mp4", tiny / "videos/P01/v9.mp4")
    shutil.rmtree(tiny / "videos/P03")
    shutil.copyfile(tiny / "videos/P01/v1.mp4", tiny / "videos/P03_v1.mp4")
    assert_exactly(tiny, [
        "ratings.csv, line 3, column 'video_id': video file videos/P01/v2.mp4 not found; found ['v2.avi']",
        "ratings.csv, line 8, column 'video_id': video file videos/P02/v3.mp4 not found",
        *(f"ratings.csv, line {line}, column 'video_id': video file videos/P03/v{k}.mp4 not found"
          for k, line in zip(range(1, 5), range(10, 14))),
        "videos/P01/v9.mp4: video has no row in ratings.csv",
        "videos/P03_v1.mp4: video outside a participant folder",
    ])


def test_empty_corrupt_truncated_and_frameless_videos(tiny, tmp_path):
    (tiny / "videos/P01/v1.mp4").write_bytes(b"")
    (tiny / "videos/P01/v2.mp4").write_bytes(b"\x00garbage, not a video\xff" * 200)
    longer = tmp_path / "long.mp4"
    write_video(longer, n_frames=45)
    data = longer.read_bytes()
    (tiny / "videos/P02/v1.mp4").write_bytes(data[: int(len(data) * 0.9)])
    (tiny / "videos/P02/v2.mp4").write_bytes(data[: data.index(b"mdat") + 4])  # index, no frame data
    expected = [
        "videos/P01/v1.mp4: video file is empty (0 bytes)",
        "videos/P01/v2.mp4: video cannot be read (corrupt or not a video)",
        "videos/P02/v1.mp4: video is truncated",
        "videos/P02/v2.mp4: video has zero decodable frames",
    ]
    assert_exactly(tiny, expected)
    # fast loads skip decoding: the files exist, so nothing is reported
    assert validate_study(tiny, validate_media=False) == []


def test_video_frame_rate_must_match_study_yaml(tiny):
    write_video(tiny / "videos/P03/v4.mp4", n_frames=30, fps=30)
    assert_exactly(tiny, ["videos/P03/v4.mp4: video runs at 30 fps but study.yaml video.fps is 15"])


def test_ecg_nan_nonnumeric_duplicated_and_backwards_time(tiny):
    set_cell(tiny, "ecg/P01.csv", 50, "ecg", "")
    set_cell(tiny, "ecg/P01.csv", 60, "ecg", "nan")
    set_cell(tiny, "ecg/P01.csv", 61, "ecg", "inf")
    set_cell(tiny, "ecg/P02.csv", 30, "time_s", "0.27")  # line 29 holds 0.27 s
    set_cell(tiny, "ecg/P02.csv", 70, "time_s", "0.1")
    set_cell(tiny, "ecg/P03.csv", 40, "ecg", "abc")
    assert_exactly(tiny, [
        "ecg/P01.csv, line 50, column 'ecg': 3 empty, NaN or infinite value(s)",
        "ecg/P02.csv, line 30, column 'time_s': duplicated time (1 time(s)); first at line 30: 0.27 s after 0.27 s",
        "ecg/P02.csv, line 70, column 'time_s': time goes backwards (1 time(s)); first at line 70: 0.1 s after 0.67 s",
        "ecg/P03.csv, line 40, column 'ecg': 1 non-numeric value(s), first 'abc'",
    ])
    study_problems = pytest.raises(StudyValidationError, load_study, tiny)
    assert len(study_problems.value.problems) == 4


def test_segments_beyond_recording_reversed_or_unknown(tiny):
    set_cell(tiny, "ecg/segments.csv", 3, "offset_s", "150")
    set_cell(tiny, "ecg/segments.csv", 12, "onset_s", "40")
    set_cell(tiny, "ecg/segments.csv", 22, "segment", "recovery")
    set_cell(tiny, "ecg/segments.csv", 25, "segment", "v7")
    assert_exactly(tiny, [
        "ecg/segments.csv, line 3, column 'offset_s': segment 'v1' ends at 150 s, after the end of the recording "
        "(100 s)",
        "ecg/segments.csv, line 12, column 'offset_s': segment 'v1' ends (35.0 s) at or before it starts (40 s)",
        "ecg/segments.csv, line 22, column 'segment': unknown segment 'recovery'",
        "ecg/segments.csv, line 25, column 'segment': unknown segment 'v7'",
        "ecg/segments.csv: participant 'P03' has no segment for video 'v3' (rated in ratings.csv line 12)",
    ])


def test_ei_missing_duplicated_and_invalid_trials(tiny):
    def plant(df):
        df.loc[121, "stimulus"] = "1"  # P02 self_awareness/joy/2 becomes a second /1
        df.loc[130, "task"] = "self_awarenes"  # P02 self_awareness/anger/1
        df.loc[140, "emotion"] = "fear"  # P02 self_awareness/sadness/1
        df.loc[150, "stimulus"] = "11"  # P02 self_awareness/calm/1
        df.loc[160, "correct"] = "2"
        df.loc[170, "correct"] = "yes"
        return df.drop(index=8)  # P01 self_awareness/joy/9; later lines move up by one
    edit(tiny, "ei_responses.csv", plant)
    assert_exactly(tiny, [
        "ei_responses.csv, line 122: duplicated trial participant_id='P02', task='self_awareness', emotion='joy', "
        "stimulus='1' (first at line 121)",
        "ei_responses.csv, line 131, column 'task': unknown value 'self_awarenes'",
        "ei_responses.csv, line 141, column 'emotion': unknown value 'fear'",
        "ei_responses.csv, line 151, column 'stimulus': 11 is outside the range 1..10",
        "ei_responses.csv, line 161, column 'correct': '2' is not 0 or 1",
        "ei_responses.csv, line 171, column 'correct': 'yes' is not 0 or 1",
        "ei_responses.csv: participant 'P01': missing trial task='self_awareness', emotion='joy', stimulus=9",
        "ei_responses.csv: participant 'P02': missing trial task='self_awareness', emotion='joy', stimulus=2",
        "ei_responses.csv: participant 'P02': missing trial task='self_awareness', emotion='anger', stimulus=1",
        "ei_responses.csv: participant 'P02': missing trial task='self_awareness', emotion='sadness', stimulus=1",
        "ei_responses.csv: participant 'P02': missing trial task='self_awareness', emotion='calm', stimulus=1",
    ])


def test_incomplete_ei_is_allowed_when_configured(tiny):
    edit(tiny, "ei_responses.csv", lambda df: df.drop(index=[8, 9, 130]))
    assert validate_study(tiny, allow_incomplete_ei=True) == []
    assert len(validate_study(tiny)) == 3


def test_every_problem_is_reported_when_many_are_planted(tiny):
    edit(tiny, "participants.csv", lambda df: pd.concat([df, df.iloc[[0]]]))
    set_cell(tiny, "ratings.csv", 4, "arousal", "8")
    set_cell(tiny, "ratings.csv", 11, "domain", "sad")
    (tiny / "videos/P03/v4.mp4").unlink()
    (tiny / "videos/P02/v4.mp4").write_bytes(b"")
    set_cell(tiny, "ecg/P03.csv", 1000, "ecg", "")
    set_cell(tiny, "ecg/segments.csv", 10, "offset_s", "100.5")
    edit(tiny, "ei_responses.csv", lambda df: df.drop(index=200))  # P02 discrimination/joy/1
    found = assert_exactly(tiny, [
        "participants.csv, line 5, column 'participant_id': duplicated participant id",
        "ratings.csv, line 4, column 'arousal': 8 is outside the range 1..7",
        "ratings.csv, line 11, column 'domain': unknown value 'sad'",
        "ratings.csv, line 13, column 'video_id': video file videos/P03/v4.mp4 not found",
        "ei_responses.csv: participant 'P02': missing trial task='discrimination', emotion='joy', stimulus=1",
        "ecg/segments.csv, line 10, column 'offset_s': segment 'recovery_4' ends at 100.5 s",
        "ecg/P03.csv, line 1000, column 'ecg': 1 empty, NaN or infinite value(s)",
        "videos/P02/v4.mp4: video file is empty (0 bytes)",
    ])
    # grouped by file: tables first, media after, lines ascending within a file
    assert [f.split(",")[0].split(":")[0] for f in found][:4] == [
        "participants.csv", "ratings.csv", "ratings.csv", "ratings.csv"]


def test_study_yaml_problems_name_the_key_and_line(tiny):
    (tiny / "study.yaml").write_text("name: tiny\nlikert:\n  min: 1\n  max: seven\nlikret: 3\n"
                                     "ecg: {sampling_rate: -5, format: csv}\nvideo: {fps: 15}\n")
    assert_exactly(tiny, [
        "study.yaml, line 4: key 'likert.max': Input should be a valid integer",
        "study.yaml, line 5: key 'likret': unknown key",
        "study.yaml, line 6: key 'ecg.sampling_rate': must be positive (got -5)",
    ])


def test_empty_and_missing_tables(tiny):
    (tiny / "ratings.csv").write_text("")
    (tiny / "participants.csv").unlink()
    assert_exactly(tiny, ["participants.csv: file not found", "ratings.csv: file is empty"])


def test_cli_reports_missing_folder(tmp_path):
    res = CliRunner().invoke(app, ["validate", str(tmp_path / "nope")])
    assert res.exit_code == 1 and "study folder not found" in res.output


def test_read_ecg_sample_index_and_errors(tiny):
    study = load_study(tiny, validate_media=False)
    for pid in ("P01", "P02", "P03"):
        edit(tiny, f"ecg/{pid}.csv", lambda df: df.assign(time_s=range(len(df))).rename(columns={"time_s": "sample"}))
    ecg, fs = read_ecg(study, "P01")
    assert fs == 100 and ecg["time_s"].iloc[150] == pytest.approx(1.5)
    meta = yaml.safe_load((tiny / "study.yaml").read_text())
    del meta["ecg"]["sampling_rate"]
    (tiny / "study.yaml").write_text(yaml.safe_dump(meta))
    assert_exactly(tiny, ["study.yaml: key 'ecg.sampling_rate': required because the ECG files give a sample index"])
    study = load_study(tiny, validate_media=False)  # file presence only: loads
    edit(tiny, "ecg/P02.csv", lambda df: df.rename(columns={"sample": "time_s"}).assign(
        time_s=lambda d: d["time_s"].astype(float) / 100))
    set_cell(tiny, "ecg/P02.csv", 12, "time_s", "0.0")
    with pytest.raises(StudyValidationError, match=r"ecg/P02.csv, line 12, column 'time_s': time goes backwards"):
        read_ecg(study, "P02")
    (tiny / "ecg/P03.csv").unlink()
    with pytest.raises(StudyValidationError, match="ecg/P03.csv: ECG file not found"):
        read_ecg(study, "P03")


def test_malformed_csv_rows(tiny):
    lines = (tiny / "ratings.csv").read_text().splitlines()
    lines[4] = "P01,v4,LALV,2"  # line 5: a short row
    (tiny / "ratings.csv").write_text("\n".join(lines) + "\n")
    (tiny / "participants.csv").write_text("participant_id;sex;age\nP01;f;23\nP02;m;31\nP03;f;27\n")
    ei = (tiny / "ei_responses.csv").read_text().splitlines()
    ei[6] += ",extra"  # line 7 has a field too many
    (tiny / "ei_responses.csv").write_text("\n".join(ei) + "\n")
    assert_exactly(tiny, [
        "participants.csv, line 1, column 'participant_id': required column is missing (header has: "
        "['participant_id;sex;age']); the file looks semicolon-separated",
        "ratings.csv, line 5, column 'valence': empty value",
        "ei_responses.csv, line 7: the row has 6 fields but the header has 5; quote values that contain a comma",
    ])


def test_ecg_time_steps_must_match_the_sampling_rate(tiny):
    meta = yaml.safe_load((tiny / "study.yaml").read_text())
    meta["ecg"]["sampling_rate"] = 250  # the files are sampled at 100 Hz
    (tiny / "study.yaml").write_text(yaml.safe_dump(meta))
    assert_exactly(tiny, [f"ecg/{p}.csv, column 'time_s': time steps imply 100 Hz but study.yaml "
                          "ecg.sampling_rate is 250 Hz" for p in ("P01", "P02", "P03")])


def test_edf_recordings_need_their_reader(tiny):
    import importlib.util

    meta = yaml.safe_load((tiny / "study.yaml").read_text())
    meta["ecg"]["format"] = "edf"
    (tiny / "study.yaml").write_text(yaml.safe_dump(meta))
    for p in ("P01", "P02", "P03"):
        (tiny / f"ecg/{p}.csv").unlink()
        (tiny / f"ecg/{p}.edf").write_bytes(b"not an EDF file")
    found = [str(p) for p in validate_study(tiny, n_jobs=1)]
    assert len(found) == 3 and all(f.startswith(f"ecg/P0{i}.edf: ") for i, f in enumerate(found, start=1))
    if importlib.util.find_spec("pyedflib") is None:
        assert all("needs the Python package 'pyedflib'" in f for f in found)
    else:
        assert all("cannot read the EDF file" in f for f in found)


def test_empty_ids_are_reported_once_on_their_line(tiny):
    set_cell(tiny, "ecg/segments.csv", 5, "participant_id", "")
    set_cell(tiny, "ratings.csv", 3, "video_id", "")
    assert_exactly(tiny, [
        "ratings.csv, line 3, column 'video_id': empty value",
        "ecg/segments.csv, line 5, column 'participant_id': empty value",
        "videos/P01/v2.mp4: video has no row in ratings.csv",  # its rating row has no video id
    ])
