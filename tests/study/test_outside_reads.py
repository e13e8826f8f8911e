"""Nothing is read from outside the study folder (issue 13, item 3)."""
from __future__ import annotations

import shutil

import yaml
from test_validate import assert_exactly

from eifer.study import validate_study


def test_path_in_video_extension_is_refused_with_its_line(tiny, tmp_path):
    meta = yaml.safe_load((tiny / "study.yaml").read_text())
    meta.setdefault("video", {})["extension"] = "d/../../../outside/V1.mp4"
    text = yaml.safe_dump(meta, sort_keys=False)
    (tiny / "study.yaml").write_text(text)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.strip().startswith("extension:"))
    found = [str(p) for p in validate_study(tiny, validate_media=False)]
    assert any(m.startswith(f"study.yaml, line {line}: key 'video.extension': must be a plain file extension")
               for m in found), found


def test_symlinks_leading_out_of_the_study_are_named_and_refused(tiny, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.move(tiny / "ecg" / "P01.csv", outside / "P01.csv")
    (tiny / "ecg" / "P01.csv").symlink_to(outside / "P01.csv")
    shutil.move(tiny / "videos" / "P02", outside / "P02")
    (tiny / "videos" / "P02").symlink_to(outside / "P02")
    # a link that stays inside the study folder is fine
    shutil.move(tiny / "videos" / "P03" / "v1.mp4", tiny / "v1-original.mp4")
    (tiny / "videos" / "P03" / "v1.mp4").symlink_to("../../v1-original.mp4")
    assert_exactly(tiny, [
        f"ecg/P01.csv: is a symlink to {outside / 'P01.csv'}, outside the study folder",
        f"videos/P02: is a symlink to {outside / 'P02'}, outside the study folder",
    ])
