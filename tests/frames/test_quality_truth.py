"""The frame stage against the synthetic study's planted truth (blinks, occlusions, no-face, affect)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from eifer.affect import read_estimates
from eifer.frames import read_frames


def _joined(frames_run):
    study, run = frames_run
    truth = pd.read_parquet(study.root / "_truth" / "frames.parquet")
    truth = truth.rename(columns={"occluded": "true_occluded"})
    df = read_estimates(run.root)  # the frame tables with the affect stage's estimates
    m = df.merge(truth, on=["participant_id", "video_id", "frame"], validate="one_to_one")
    assert len(m) == len(truth) == len(df)  # every frame of every video analysed once
    return m


def test_drop_reasons_match_truth(frames_run):
    m = _joined(frames_run)
    blink, occ = m[m["blink"]], m[m["true_occluded"]]
    clean = m[m["face_visible"] & ~m["blink"]]
    assert len(blink) >= 20 and len(occ) >= 40 and len(clean) >= 300
    assert (blink["reason"] == "eyes_closed").mean() >= 0.95
    assert (occ["reason"] == "occluded").mean() >= 0.90
    assert (~clean["valid"]).mean() <= 0.05
    assert not m.loc[m["no_face"], "valid"].any()
    assert set(m["reason"]) <= {"", "no_face", "low_confidence", "occluded", "eyes_closed"}
    assert (m["valid"] == (m["reason"] == "")).all()


def test_geometry_estimates_track_truth(frames_run):
    m = _joined(frames_run)
    v = m[m["valid"]]
    assert v[["valence", "arousal"]].notna().all().all()
    # every frame with a face crop has an estimate, valid or dropped; no face crop, no estimate
    face = m["landmarks_found"].astype(bool)
    assert m.loc[face, ["valence", "arousal"]].notna().all().all()
    assert m.loc[~face, ["valence", "arousal"]].isna().all().all()
    assert (face & ~m["valid"]).sum() >= 20  # blinks and occlusions with landmarks: estimated too
    assert v[["valence", "arousal"]].abs().max().max() <= 1
    assert np.corrcoef(v["valence"], v["true_valence"])[0, 1] >= 0.8
    assert np.corrcoef(v["arousal"], v["true_arousal"])[0, 1] >= 0.8
    # not planted: the valence estimate does not follow arousal
    assert abs(np.corrcoef(v["valence"], v["true_arousal"])[0, 1]) < 0.4


def test_frame_table_columns(frames_run):
    _, run = frames_run
    df = read_frames(run)
    for col in ["participant_id", "video_id", "frame", "time_s", "face_found", "det_score", "bbox_x0", "bbox_y0",
                "bbox_x1", "bbox_y1", "landmark_score", "ear_left", "ear_right", "occluded", "valid", "reason",
                "eye_lx", "eye_ly", "eye_rx", "eye_ry", "geo_mouth_lift", "affect_source"]:
        assert col in df.columns, col
    # the estimates are the affect stage's (RUN/affect/), never columns of the frames stage's tables
    assert not {"valence", "arousal"} & set(df.columns)
    assert list(read_estimates(run.root, columns=["frame", "valence"]).columns) == ["frame", "valence"]
    ok = df[df["valid"]]
    assert (ok["eye_lx"] < ok["eye_rx"]).all()
    assert ((ok["bbox_x0"] <= ok["eye_lx"]) & (ok["eye_rx"] <= ok["bbox_x1"])).all()
    assert df["time_s"].is_monotonic_increasing or df.groupby(["participant_id", "video_id"])["time_s"].apply(
        lambda s: s.is_monotonic_increasing).all()
