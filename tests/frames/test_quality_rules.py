"""Quality-rule edges: reason precedence, robust adaptive EAR threshold, hand cue kept t±k."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eifer.frames.quality import adaptive_ear_threshold, apply_quality, hand_keep_frames


def _frames(n, **cols):
    base = {"frame": np.arange(n), "face_found": True, "det_score": 0.9, "landmarks_found": True,
            "landmark_score": 0.9, "stream_cue": "", "ear_left": 0.3, "ear_right": 0.3}
    base.update(cols)
    return pd.DataFrame(base)


def test_detection_without_landmarks_is_never_occluded():
    # every occlusion cue set; detector fires at/around the threshold; the mesh finds nothing
    df = _frames(4, det_score=[0.4999, 0.5, 0.61, 0.95], landmarks_found=False, landmark_score=np.nan,
                 stream_cue="hand", ear_left=np.nan, ear_right=np.nan)
    q = apply_quality(df, min_detection_confidence=0.5, det_reference=0.95, det_drop=0.06)
    assert q["reason"].tolist() == ["no_face", "low_confidence", "low_confidence", "low_confidence"]
    assert not q["occluded"].any() and (q["occlusion_cue"] == "").all()
    # the same frames with landmarks: the occluder explains them
    q2 = apply_quality(df.assign(landmarks_found=True, landmark_score=0.9), det_reference=0.95)
    assert (q2["reason"] == "occluded").all() and q2["occluded"].all()


def test_ear_rule_at_the_threshold():
    df = _frames(3, ear_left=[0.15, 0.1499, 0.2], ear_right=[0.15, 0.1499, 0.2])
    assert apply_quality(df, ear_threshold=0.15)["reason"].tolist() == ["", "eyes_closed", ""]


def _participant(open_ear, n_open, closed_ear, n_closed, narrow=(), seed=0):
    rng = np.random.default_rng(seed)
    ear = np.r_[open_ear + rng.normal(0, 0.01, n_open), closed_ear + rng.normal(0, 0.01, n_closed), narrow]
    return pd.DataFrame({"ear_left": ear, "ear_right": ear, "landmarks_found": True})


def test_adaptive_threshold_keeps_narrow_smiling_eyes_and_drops_blinks():
    # open eyes ~0.25, narrow smiling eyes 0.16-0.18 (open), blinks ~0.06: the fixed 0.18 drops the smiles
    narrow = np.linspace(0.16, 0.18, 20)
    df = _participant(0.25, 300, 0.06, 15, narrow)
    thr = adaptive_ear_threshold(df)
    assert 0.10 < thr < 0.16
    ear = (df["ear_left"] + df["ear_right"]) / 2
    assert (narrow >= thr).all()
    assert (ear.iloc[300:315] < thr).all()


def test_adaptive_threshold_robust_to_many_blinks_and_squinting():
    blinker = adaptive_ear_threshold(_participant(0.30, 100, 0.05, 80))   # 44 % of frames shut
    assert blinker == pytest.approx(0.6 * 0.30, abs=0.01)
    squinter = adaptive_ear_threshold(_participant(0.16, 300, 0.04, 10))  # narrow eyes all the time
    assert 0.08 <= squinter < 0.12
    # floor and ceiling hold, exactly at the bounds
    assert adaptive_ear_threshold(_participant(0.05, 100, 0.01, 0)) == 0.08
    assert adaptive_ear_threshold(_participant(0.60, 100, 0.05, 5)) == 0.25
    # min_frames: 29 frames are too few, 30 are enough
    assert np.isnan(adaptive_ear_threshold(_participant(0.3, 29, 0.05, 0), min_frames=30))
    assert np.isfinite(adaptive_ear_threshold(_participant(0.3, 30, 0.05, 0), min_frames=30))


def test_hand_cue_kept_k_frames_each_side_within_the_video():
    n = 20
    cue = np.full(n, "", object)
    cue[10] = "hand"
    df = _frames(n, stream_cue=cue, video_id=["a"] * 12 + ["b"] * 8, participant_id="P")
    df.loc[8, "landmarks_found"] = False  # no landmarks: not flagged (reason rule)
    q = apply_quality(df, det_drop=0, hand_keep=2)
    flagged = set(np.flatnonzero(q["occluded"].to_numpy()))
    assert flagged == {9, 10, 11}  # 8 has no landmarks, 12 is another video, 7 and 13 are > k away
    assert set(np.flatnonzero(apply_quality(df, det_drop=0, hand_keep=0)["occluded"])) == {10}
    # a one-frame miss between two hand frames is filled
    cue2 = np.full(n, "", object)
    cue2[[5, 7]] = "hand"
    q2 = apply_quality(_frames(n, stream_cue=cue2), det_drop=0, hand_keep=1)
    assert set(np.flatnonzero(q2["occluded"])) == {4, 5, 6, 7, 8}


def test_hand_keep_default_follows_the_stride():
    from eifer.config import FramesConfig

    assert hand_keep_frames(FramesConfig(hand_stride=10)) == 2
    assert hand_keep_frames(FramesConfig(hand_stride=3)) == 1
    assert hand_keep_frames(FramesConfig(hand_stride=10, hand_keep_frames=4)) == 4
    assert FramesConfig().adaptive_ear is True


def test_adaptive_ear_shut_split_at_its_boundary():
    # half the frames at 0.30 (open), half at exactly 0.5 x the 90th percentile (0.15): at the split
    # they count as open, so the open level is the median of all (0.225); just above it, 0.30 alone
    ear = [0.30] * 30 + [0.15] * 30
    df = pd.DataFrame({"ear_left": ear, "ear_right": ear, "landmarks_found": True})
    kw = {"fraction": 0.5, "floor": 0.01, "ceiling": 1.0, "min_frames": 1}
    assert adaptive_ear_threshold(df, **kw) == pytest.approx(0.5 * 0.225)
    assert adaptive_ear_threshold(df, **kw, shut_split=0.51) == pytest.approx(0.5 * 0.30)
    # the reference quantile sets the split: at the median (0.225) x 0.5, both levels are open again
    assert adaptive_ear_threshold(df, **kw, shut_split=0.51, reference_quantile=0.5) == pytest.approx(0.5 * 0.225)
