"""Ids that pandas reads as missing (``NA``, ``None``, ...) stay the literal string end to end."""
import shutil

import pandas as pd
from typer.testing import CliRunner

from eifer.cli import app
from eifer.io import read_csv

RENAME = {"P01": "NA", "P02": "None"}


def rename_participants(src, dst, rename):
    """Copy a no-video study with some participant ids replaced (tables and ECG file names)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("_truth"))
    for rel in ("participants.csv", "ei_responses.csv", "ratings.csv", "ecg/segments.csv"):
        df = pd.read_csv(dst / rel, dtype=str, keep_default_na=False)
        df["participant_id"] = df["participant_id"].replace(rename)
        df.to_csv(dst / rel, index=False)
    for old, new in rename.items():
        for f in (dst / "ecg").glob(f"{old}.*"):
            f.rename(f.with_name(new + f.suffix))
    return dst


def test_na_like_participant_ids_survive_ei_labels_cutoff(synth_novideo, tmp_path):
    study = rename_participants(synth_novideo, tmp_path / "study", RENAME)
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["cutoff", str(study), "--out", str(out), "-p", "demo"])
    assert res.exit_code == 0, res.output
    raw = {name: (out / name).read_text() for name in ("ei_scores.csv", "labels.csv", "groups.csv")}
    for name, text in raw.items():
        assert "\nNA," in text and "\nNone," in text, name
    groups = read_csv(out / "groups.csv")
    assert {"NA", "None"} <= set(groups["participant_id"]) and groups["participant_id"].notna().all()
    assert len(groups) == 12
    labels = read_csv(out / "labels.csv")
    assert (labels["participant_id"] == "NA").sum() == 4


def test_read_csv_keeps_na_like_ids_and_parses_other_columns(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("participant_id,video_id,segment,score\nNA,null,NaN,NA\nNone,,n/a,2.5\n")
    df = read_csv(f)
    assert df["participant_id"].tolist() == ["NA", "None"]
    assert df["video_id"].tolist() == ["null", ""]
    assert df["segment"].tolist() == ["NaN", "n/a"]
    assert df["score"].isna().tolist() == [True, False] and df["score"].iloc[1] == 2.5
