"""frames → affect → select on the synthetic study: dataset, test subsets, crops, Figure 4."""
from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from eifer.frames import read_frames
from eifer.io import write_csv


def test_select_stage_outputs(frames_run):
    from eifer.labels import make_labels
    from eifer.select import run_select

    study, run = frames_run
    labels = make_labels(study.ratings)
    write_csv(run.path("labels.csv"), labels)
    outputs = run_select(study, run)
    assert all(run.path(o).exists() for o in outputs)
    ds = pd.read_parquet(run.path("dataset.parquet"))
    sub = pd.read_parquet(run.path("test_subsets.parquet"))
    cfg = run.config
    frames = read_frames(run)
    # selected frames are valid, sign-congruent with the dimension that picked them, <= n per video
    key = ["participant_id", "video_id", "frame"]
    m = ds.merge(frames[key + ["valid"]], on=key)
    assert len(m) == len(ds) and m["valid"].all()
    for task in ("arousal", "valence"):
        d = ds[ds.selected_by == task]
        assert (np.where(d[f"{task}_label"] == 1, 1, -1) * d[task] > 0).all()
    per_video = ds.groupby(["participant_id", "video_id"]).size()
    assert per_video.max() <= cfg.select.n_arousal + cfg.select.n_valence
    assert len(per_video) == len(study.videos())
    # test subsets exist for every participant, both tasks, both subsets
    assert set(sub.participant_id) == set(study.participants.participant_id.astype(str))
    assert set(sub.subset) == {"unambiguous", "ambiguous"} and set(sub.task) == {"arousal", "valence"}
    assert (sub.loc[sub.subset == "unambiguous", "s"] > 0).all()
    # crops: one aligned PNG per selected / test frame, at the configured size
    paths = set(ds.crop_path) | set(sub.crop_path)
    assert all(run.path(p).is_file() for p in paths)
    img = cv2.imread(str(run.path(ds.crop_path.iloc[0])))
    assert img.shape == (cfg.select.crop_size, cfg.select.crop_size, 3)
    assert len(list(run.path("crops").rglob("*.png"))) == len(paths)  # nothing else stored
    assert run.path("figures", "figure4.png").stat().st_size > 10_000
