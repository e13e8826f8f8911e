"""frames → affect → select on the synthetic study: dataset, test subsets, crops, Figure 4, resume."""
from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from eifer.frames import read_frames, run_frames
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


def test_interrupted_frames_stage_resumes_at_unfinished_video(frames_run):
    from eifer.affect import read_estimates, run_affect

    study, run = frames_run
    parts = sorted(run.path("frames").glob("*/*.parquet"))
    victim = parts[3]
    before = {p: p.stat().st_mtime_ns for p in parts if p != victim}
    ref = pd.read_parquet(victim)
    ref_va = read_estimates(run.root, victim.parent.name)
    victim.unlink()  # as if the run had been killed while this video was being analysed
    run_frames(study, run)
    assert victim.exists()
    assert {p: p.stat().st_mtime_ns for p in before} == before  # finished videos untouched
    again = pd.read_parquet(victim)
    pd.testing.assert_series_equal(again["reason"], ref["reason"])
    run_affect(study, run)  # the same frame table again: its estimates still fit
    pd.testing.assert_frame_equal(read_estimates(run.root, victim.parent.name), ref_va)


def test_affect_stage_writes_only_its_own_tables(frames_run):
    """One owner per file: run_affect writes RUN/affect/ and leaves the frame tables byte-identical."""
    import hashlib
    import shutil

    from eifer.affect import read_estimates, run_affect

    study, run = frames_run

    def hashes(folder):
        return {p.relative_to(run.root): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(run.path(folder).rglob("*")) if p.is_file()}

    before = read_estimates(run.root)
    frames_before = hashes("frames")
    shutil.rmtree(run.path("affect"))  # estimate everything again
    outputs = run_affect(study, run)
    assert hashes("frames") == frames_before
    assert outputs and all(o.startswith("affect/") and run.path(o).is_file() for o in outputs)
    assert len(outputs) == len(frames_before) - 1  # one affect table per frame table (not problems.csv)
    pd.testing.assert_frame_equal(read_estimates(run.root), before)
