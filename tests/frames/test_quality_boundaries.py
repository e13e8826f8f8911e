"""Frame-quality rules at their edges: unequal eyes, a tracked face without a detector score,
the detector-drop and landmark thresholds exactly."""
from __future__ import annotations

import numpy as np
import pandas as pd

from eifer.frames.quality import adaptive_ear_threshold, apply_quality, mean_ear


def _frames(n, **cols):
    base = {"frame": np.arange(n), "face_found": True, "det_score": 0.9, "landmarks_found": True,
            "landmark_score": 0.9, "stream_cue": "", "ear_left": 0.3, "ear_right": 0.3}
    base.update(cols)
    return pd.DataFrame(base)


def test_eye_rule_uses_the_mean_of_unequal_eyes():
    # a wink or a turned head: one eye 0.125, the other 0.375 -> mean 0.25, open at threshold 0.25
    df = _frames(3, ear_left=[0.125, 0.375, 0.125], ear_right=[0.375, 0.125, 0.25])
    assert mean_ear(df).tolist() == [0.25, 0.25, 0.1875]
    assert apply_quality(df, ear_threshold=0.25, det_drop=0)["reason"].tolist() == ["", "", "eyes_closed"]
    # the adaptive threshold learns from the same mean
    many = _frames(40, ear_left=[0.125] * 40, ear_right=[0.375] * 40)
    assert adaptive_ear_threshold(many, fraction=0.5, floor=0.0, ceiling=1.0, min_frames=1) == 0.5 * 0.25


def test_tracked_face_without_detector_score():
    # the mesh tracker holds the face, the detector gave no score: never trusted on its own
    df = _frames(2, det_score=[np.nan, 0.9])
    q = apply_quality(df, det_drop=0)
    assert q["reason"].tolist() == ["low_confidence", ""]
    # with the detector-drop cue on, a lost score counts as 0: a drop on a face with landmarks = occluded
    q = apply_quality(df, det_reference=0.9, det_drop=0.2)
    assert q["reason"].tolist() == ["occluded", ""] and q["occlusion_cue"].tolist() == ["detector_drop", ""]
    # no landmarks and no score: no face at all
    q = apply_quality(df.assign(landmarks_found=False, landmark_score=np.nan), det_drop=0)
    assert q["reason"].tolist() == ["no_face", "low_confidence"]


def test_detector_drop_exactly_at_the_drop_is_not_occlusion():
    # reference 0.75, drop 0.25: a score of exactly 0.5 is kept, just below it is a drop
    df = _frames(3, det_score=[0.5, np.nextafter(0.5, 0), 0.75])
    q = apply_quality(df, min_detection_confidence=0.3, det_reference=0.75, det_drop=0.25)
    assert q["occlusion_cue"].tolist() == ["", "detector_drop", ""]
    assert q["reason"].tolist() == ["", "occluded", ""]
    # the reference defaults to the median score of the frames with a face
    q = apply_quality(_frames(3, det_score=[0.5, 0.75, 0.8]), min_detection_confidence=0.3, det_drop=0.25)
    assert q["det_reference"].iloc[0] == 0.75 and q["occlusion_cue"].tolist() == ["", "", ""]


def test_landmark_confidence_exactly_at_the_threshold_is_kept():
    df = _frames(2, landmark_score=[0.5, np.nextafter(0.5, 0)])
    q = apply_quality(df, min_landmark_confidence=0.5, det_drop=0)
    assert q["reason"].tolist() == ["", "low_confidence"]
    assert q["valid"].tolist() == [True, False]
