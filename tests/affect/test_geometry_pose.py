"""Pose-free geometry features and the geometry estimator's centring and magnitude."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eifer.affect import GeometryEstimator
from eifer.affect.geometry import NEUTRAL_GEOMETRY, geometry_reference
from eifer.frames.facepose import canonical_face, head_pose, pose_angles
from eifer.frames.landmarks import geometry_features


def _rot(pitch=0.0, yaw=0.0, roll=0.0):
    a, b, c = np.radians([pitch, yaw, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _smile(face, lift):
    """The canonical face with its mouth corners (and their neighbours) raised by ``lift`` (canonical units)."""
    out = face.copy()
    out[[61, 291], 1] -= lift
    return out


@pytest.mark.parametrize("pitch,yaw,roll", [(25, 0, 0), (-25, 0, 0), (0, 35, 0), (15, -20, 10)])
def test_features_do_not_move_with_head_pose(pitch, yaw, roll):
    face = _smile(canonical_face(), 0.3)
    rot = _rot(pitch, yaw, roll)
    posed = 40 * face @ rot.T + np.array([320, 240, 0])
    f0, f3 = geometry_features(40 * face), geometry_features(posed)
    for col in ("geo_mouth_lift", "geo_mouth_open", "geo_mouth_width", "geo_brow_raise", "geo_eye_open"):
        assert f3[col] == pytest.approx(f0[col], abs=1e-6), col
    got = pose_angles(head_pose(posed)[0])
    assert got == pytest.approx(pose_angles(rot), abs=1e-6)


def test_pitch_confounds_the_projected_mouth_lift_but_not_the_canonical_one():
    # a bowed neutral face looks like a smile in 2-D; a raised smiling one like a frown
    neutral, smile = canonical_face(), _smile(canonical_face(), 0.3)
    bowed = 40 * neutral @ _rot(pitch=30).T   # chin down: the face's forward axis turns towards +y
    raised = 40 * smile @ _rot(pitch=-30).T
    assert pose_angles(head_pose(bowed)[0])[0] == pytest.approx(30)  # head_pitch > 0: bowed
    def lift2d(p):
        return geometry_features(p[:, :2])["geo_mouth_lift"]

    def lift3d(p):
        return geometry_features(p)["geo_mouth_lift"]

    assert lift2d(bowed) > lift2d(raised)  # the confound the issue found on real video
    assert lift3d(bowed) < lift3d(raised)
    assert lift3d(bowed) == pytest.approx(NEUTRAL_GEOMETRY["geo_mouth_lift"], abs=1e-6)


def _participant(pid, lifts, valid):
    n = len(lifts)
    return pd.DataFrame({"participant_id": pid, "valid": valid, "landmarks_found": True,
                         "geo_mouth_lift": lifts, "geo_mouth_open": 0.09, "geo_eye_open": 0.25,
                         "geo_brow_raise": 0.35, "geo_mouth_width": 0.8, "frame": np.arange(n)})


def test_no_landmarks_no_estimate():
    df = _participant("P", np.full(40, 0.02), True)
    df.loc[:4, "landmarks_found"] = False
    out = GeometryEstimator().estimate(df)
    assert out.loc[:4, ["valence", "arousal"]].isna().all().all()
    assert out.loc[5:, ["valence", "arousal"]].notna().all().all()


def test_reference_uses_all_face_frames_not_only_valid_ones():
    # crying frames (corners down) are all dropped by the quality rule; weak and broad smiles stay
    lifts = np.r_[np.full(60, -0.07), np.full(30, 0.04), np.full(30, 0.12)]
    valid = np.r_[np.zeros(60, bool), np.ones(60, bool)]
    for band in (None, 0.03):  # None: the participant's own median alone
        out = GeometryEstimator(reference_band=band).estimate(_participant("P", lifts, valid))
        v = out["valence"].to_numpy()
        assert (v[:60] < 0).all()  # dropped frames are estimated too (validity stays beside them)
        assert out["valid"].tolist() == valid.tolist()
        assert (v[60:] > 0).all()  # centring on the valid frames (smiles) would make the weak smiles negative
        assert (v[90:] > v[60:90]).all()


def test_reference_band_and_too_few_frames():
    neutral = NEUTRAL_GEOMETRY["geo_mouth_lift"]
    mostly_smiling = pd.Series(np.r_[np.full(50, 0.12), np.full(10, neutral)])
    assert geometry_reference(mostly_smiling, "geo_mouth_lift", band=0.03)[0] == pytest.approx(neutral + 0.03)
    assert geometry_reference(mostly_smiling, "geo_mouth_lift", band=None)[0] == pytest.approx(0.12)
    inside = pd.Series(np.full(60, neutral + 0.01))
    assert geometry_reference(inside, "geo_mouth_lift", band=0.03)[0] == pytest.approx(neutral + 0.01)
    # min_frames: 29 frames fall back to the population-neutral face, 30 use the participant's own
    assert geometry_reference(inside.head(29), "geo_mouth_lift", min_frames=30)[0] == neutral
    assert geometry_reference(inside.head(30), "geo_mouth_lift", min_frames=30)[0] == pytest.approx(neutral + 0.01)


def test_magnitude_is_comparable_across_participants():
    rng = np.random.default_rng(0)
    subtle = np.r_[rng.normal(-0.012, 0.004, 60), np.full(20, 0.02)]   # small smiles
    broad = np.r_[rng.normal(-0.012, 0.004, 60), np.full(20, 0.14)]    # broad smiles
    still = np.r_[rng.normal(-0.012, 0.004, 80)]                        # never smiles: jitter only
    df = pd.concat([_participant("A", subtle, True), _participant("B", broad, True),
                    _participant("C", still, True)], ignore_index=True)
    out = GeometryEstimator().estimate(df)
    v = out.groupby("participant_id")["valence"]
    assert v.max()["B"] > v.max()["A"] > 0
    assert v.apply(lambda s: s.abs().max())["C"] < 0.5  # jitter is not blown up to a strong expression
