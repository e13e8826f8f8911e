"""`eifer validate` speaks the user's language: their column names, unmatched renames, one line per repeated problem."""
import shutil

import pandas as pd
import yaml
from typer.testing import CliRunner

from eifer.cli import app
from eifer.errors import Problem
from eifer.study import problems_grouped, validate_study


def _renamed_study(src, dst, columns):
    shutil.copytree(src, dst)
    meta = yaml.safe_load((dst / "study.yaml").read_text())
    meta["columns"] = columns
    (dst / "study.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    return dst


def test_problem_names_the_users_column(synth_novideo, tmp_path):
    study = _renamed_study(synth_novideo, tmp_path / "s", {"Arousal rating": "arousal"})
    r = pd.read_csv(study / "ratings.csv", dtype=str).rename(columns={"arousal": "Arousal rating"})
    r.loc[4, "Arousal rating"] = "9"  # line 6 of the file
    r.to_csv(study / "ratings.csv", index=False)
    problems = [p for p in validate_study(study, validate_media=False) if p.file == "ratings.csv"]
    assert [(p.row, p.column) for p in problems] == [(6, "Arousal rating")]


def test_rename_that_matches_nothing_is_reported(synth_novideo, tmp_path):
    study = _renamed_study(synth_novideo, tmp_path / "s", {"participant_id": "subject", "valnce": "valence"})
    problems = [str(p) for p in validate_study(study, validate_media=False) if p.file == "study.yaml"]
    lines = (study / "study.yaml").read_text().splitlines()
    row = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("valnce"))
    assert any(p.startswith(f"study.yaml, line {row}: columns: 'valnce'") and "did you mean 'valence'" in p
               for p in problems), problems
    assert any("'subject'" in p for p in problems)  # nobody has a 'subject' column either
    # a rename that is used is no problem
    ok = _renamed_study(synth_novideo, tmp_path / "ok", {"participant_id": "participant_id"})
    assert [p for p in validate_study(ok, validate_media=False) if p.file == "study.yaml"] == []


def test_repeated_problem_is_one_line_at_the_threshold():
    msg = "video runs at 25 fps but study.yaml video.fps is 10"
    three = [Problem(f"videos/P0{i}/V1.mp4", msg) for i in range(1, 4)]
    assert problems_grouped(three) == [str(p) for p in three]  # 3 = max_examples: still listed
    four = three + [Problem("videos/P04/V1.mp4", msg)]
    assert problems_grouped(four) == [f"4 files: {msg} (e.g. videos/P01/V1.mp4, videos/P02/V1.mp4, "
                                      "videos/P03/V1.mp4, ...)"]
    rows = [Problem("ratings.csv", "empty cell", row=r, column="valence") for r in (2, 3, 4, 9, 12)]
    assert problems_grouped(rows) == ["ratings.csv, 5 lines (2, 3, 4, ...), column 'valence': empty cell"]


def test_validate_prints_the_summary_line(synth_video_small, tmp_path):
    study = tmp_path / "s"
    shutil.copytree(synth_video_small, study)
    meta = yaml.safe_load((study / "study.yaml").read_text())
    meta["video"]["fps"] = 25  # the videos run at 10 fps
    (study / "study.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    res = CliRunner().invoke(app, ["validate", str(study), "-j", "1"])
    assert res.exit_code == 1
    fps_lines = [line for line in res.output.splitlines() if "fps" in line]
    assert len(fps_lines) == 1 and "24 files: video runs at 10 fps but study.yaml video.fps is 25" in fps_lines[0]


def test_stats_without_study_uses_the_runs_study(synth_novideo, tmp_path):
    out = tmp_path / "run"
    CliRunner().invoke(app, ["ei", str(synth_novideo), "--out", str(out), "--profile", "demo"])
    res = CliRunner().invoke(app, ["stats", "--out", str(out), "--profile", "demo"])
    assert "stage 'stats' did not run" in res.output  # got as far as the stage: the study was found
    none = CliRunner().invoke(app, ["evaluate", "--out", str(tmp_path / "nothing")])
    assert none.exit_code == 1 and "give the study folder" in none.output
