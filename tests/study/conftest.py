"""A tiny valid study folder, written by hand, that tests corrupt one way at a time.

The synthetic-study generator plants realistic data; these tests need exact
control of every line, so they build the folder directly (3 participants,
4 one-second videos each, 100 Hz ECG).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
import yaml

PIDS = ["P01", "P02", "P03"]
VIDEOS = {"v1": "HAHV", "v2": "HALV", "v3": "LAHV", "v4": "LALV"}
TASKS = ["self_awareness", "others_awareness", "discrimination"]
EMOTIONS = ["joy", "anger", "sadness", "calm"]
FS = 100
FPS = 15


def write_video(path: Path, n_frames: int = FPS, fps: int = FPS, faststart: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(n_frames):
            img = np.full((48, 64, 3), 40 + 5 * i, np.uint8)
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)


def segment_table(pid: str) -> list[dict]:
    rows, t = [{"participant_id": pid, "segment": "baseline", "onset_s": 0.0, "offset_s": 20.0}], 20.0
    for k, vid in enumerate(VIDEOS, start=1):
        rows.append({"participant_id": pid, "segment": vid, "onset_s": t, "offset_s": t + 15})
        rows.append({"participant_id": pid, "segment": f"recovery_{k}", "onset_s": t + 15, "offset_s": t + 20})
        t += 20
    return rows  # ends at 100 s


def build_study(root: Path, videos: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "study.yaml").write_text(yaml.safe_dump({
        "name": "tiny", "likert": {"min": 1, "max": 7, "neutral": 4},
        "domains": list(dict.fromkeys(VIDEOS.values())),
        "ei": {"tasks": TASKS, "emotions": EMOTIONS, "stimuli": 10},
        "ecg": {"sampling_rate": FS, "format": "csv"}, "video": {"fps": FPS, "extension": "mp4"},
    }))
    pd.DataFrame({"participant_id": PIDS, "sex": ["f", "m", "f"], "age": [23, 31, 27]}).to_csv(
        root / "participants.csv", index=False)
    rng = np.random.default_rng(0)
    ei = [{"participant_id": p, "task": t, "emotion": e, "stimulus": s, "correct": int(rng.random() < 0.7)}
          for p in PIDS for t in TASKS for e in EMOTIONS for s in range(1, 11)]
    pd.DataFrame(ei).to_csv(root / "ei_responses.csv", index=False)
    ratings = [{"participant_id": p, "video_id": v, "domain": d, "arousal": 6 if d[0] == "H" else 2,
                "valence": 6 if d[2] == "H" else 3} for p in PIDS for v, d in VIDEOS.items()]
    pd.DataFrame(ratings).to_csv(root / "ratings.csv", index=False)
    (root / "ecg").mkdir()
    t = np.arange(0, 100 * FS + 1) / FS
    for p in PIDS:
        pd.DataFrame({"time_s": np.round(t, 4), "ecg": np.round(np.sin(2 * np.pi * 1.2 * t), 4)}).to_csv(
            root / "ecg" / f"{p}.csv", index=False)
    pd.DataFrame([r for p in PIDS for r in segment_table(p)]).to_csv(root / "ecg" / "segments.csv", index=False)
    if videos:
        template = root / "videos" / PIDS[0] / "v1.mp4"
        write_video(template)
        for p in PIDS:
            for v in VIDEOS:
                dest = root / "videos" / p / f"{v}.mp4"
                if dest != template:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(template, dest)
    return root


@pytest.fixture(scope="session")
def tiny_template(tmp_path_factory) -> Path:
    return build_study(tmp_path_factory.mktemp("tiny") / "study")


@pytest.fixture
def tiny(tiny_template, tmp_path) -> Path:
    """A fresh copy of the valid tiny study for one test to break."""
    return Path(shutil.copytree(tiny_template, tmp_path / "study"))
