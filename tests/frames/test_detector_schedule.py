"""The detector schedule: strided face-detector checks with look-back, and the lean MediaPipe calls."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from eifer.frames.analyzer import FaceAnalyzer
from eifer.frames.decode import iter_video
from eifer.frames.mpgraph import landmarks_xy, run_image
from eifer.frames.schedule import DetectorSchedule

DROP = 0.6  # planted detector score: far below the synthetic faces' ~0.9


class _PlantedDrops(FaceAnalyzer):
    """The real detector, with its score replaced by a planted drop on chosen frames."""

    drops_at: frozenset = frozenset()
    calls: int = 0

    def _detect(self, rgb, rec):
        kp = super()._detect(rgb, rec)
        self.calls += 1
        if kp is not None and rec["frame"] in self.drops_at:
            rec["det_score"] = DROP
        return kp


def _records(video, stride, drops=frozenset(), n_frames=None):
    fa = _PlantedDrops(detect_stride=stride, appearance_cue=False)
    fa.drops_at = drops
    recs = [rec for rec, _ in fa.analyze(itertools.islice(iter_video(video), n_frames))]
    fa.close()
    return recs, fa.calls


@pytest.fixture(scope="module")
def video(synth_video_small):
    return synth_video_small / "videos" / "P01" / "V1.mp4"


@pytest.mark.parametrize("stride", [1, 3, 5])
def test_every_planted_drop_is_found_with_its_exact_onset(video, stride):
    # episodes of >= stride frames, not aligned to the stride: each holds a check
    planted = frozenset(range(7, 12)) | frozenset(range(22, 29))
    reference, every = _records(video, 1)  # frames where mesh and detector both find the face
    seen = {r["frame"] for r in reference if r["landmarks_found"] and np.isfinite(r["det_score"])}
    recs, calls = _records(video, stride, planted)
    assert [r["frame"] for r in recs] == list(range(len(recs)))
    dropped = {r["frame"] for r in recs if r["det_score"] == DROP}
    assert len(planted & seen) >= 8
    assert dropped == planted & seen  # every planted frame, onset and end exact; nothing else
    assert all(r["det_checked"] for r in recs if r["frame"] in dropped)
    if stride > 1:  # fewer calls even though a third of these 4 s are planted drops or a real occlusion
        assert calls < every - 5


def test_a_drop_in_the_last_frames_is_found(video):
    # no check follows the last frames of a video (here 21-23, after the hand check at 20):
    # the newest carried frame is checked at the end, and its drop sends the look-back to 22
    recs, _ = _records(video, 5, frozenset({22, 23}), n_frames=24)
    assert [r["frame"] for r in recs] == list(range(24))
    assert recs[-1]["det_checked"] and all(r["landmarks_found"] for r in recs[-2:])
    assert {r["frame"] for r in recs if r["det_score"] == DROP} == {22, 23}


def test_unchecked_frames_carry_the_bracketing_checks(video):
    full, _ = _records(video, 1)
    strided, _ = _records(video, 4)
    seen = [s["det_checked"] for f, s in zip(full, strided) if f["landmarks_found"] and np.isfinite(f["det_score"])]
    assert len(seen) >= 20 and np.mean(seen) <= 0.5  # where all is normal, a fraction of the frames is checked
    carried = [(f, s) for f, s in zip(full, strided) if s["landmarks_found"] and not s["det_checked"]]
    assert len(carried) >= 10
    checked = {s["frame"]: s["det_score"] for s in strided if s["det_checked"]}
    for f, s in carried:
        assert s["face_found"] and np.isfinite(s["det_score"]) and np.isfinite(s["landmark_score"])
        # the lower of the two bracketing checks (conservative), within the detector's own frame-to-frame range
        prev_c = max(k for k in checked if k < s["frame"])
        next_c = min(k for k in checked if k > s["frame"])
        assert s["det_score"] == pytest.approx(min(checked[prev_c], checked[next_c]))
        assert abs(s["det_score"] - f["det_score"]) < 0.05
        # the box moved with the mesh stays on the detector's box
        width = f["bbox_x1"] - f["bbox_x0"]
        for k in ("bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1"):
            assert abs(s[k] - f[k]) < 0.1 * width, k
    # frames without a face are no-face in both runs
    assert [r["face_found"] for r in full] == [r["face_found"] for r in strided]


def test_schedule_unit_rules():
    s = DetectorSchedule(stride=3, det_drop=0.06)
    assert s.margin == pytest.approx(0.03)
    assert s.due(pts=None)
    with pytest.raises(ValueError, match="detect_stride"):
        DetectorSchedule(stride=0)


def test_lean_graph_call_matches_process(video):
    import mediapipe as mp

    frames = [rgb for k, (_, _, rgb) in enumerate(iter_video(video)) if k < 12]
    det = mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.2)
    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True)
    try:
        for rgb in frames:
            a, b = run_image(det, rgb, "detections"), det.process(rgb).detections
            assert (a is None) == (b is None)
            if a:
                assert [d.score[0] for d in a] == [d.score[0] for d in b]
            lm = run_image(mesh, rgb, "multi_face_landmarks")
            ref = mesh.process(rgb).multi_face_landmarks
            if lm:
                h, w = rgb.shape[:2]
                slow = np.array([(p.x * w, p.y * h) for p in ref[0].landmark])
                np.testing.assert_allclose(landmarks_xy(lm[0], w, h), slow, rtol=0, atol=1e-9)
    finally:
        det.close()
        mesh.close()


def test_landmarks_xy_falls_back_on_other_layouts():
    from mediapipe.framework.formats import landmark_pb2

    lst = landmark_pb2.NormalizedLandmarkList()
    for x, y, vis in [(0.1, 0.2, None), (0.3, 0.4, 0.9), (0.0, 1.0, None)]:
        p = lst.landmark.add()
        p.x, p.y, p.z = x, y, 0.5
        if vis is not None:
            p.visibility = vis  # extra field: the fixed 17-byte layout no longer holds
    np.testing.assert_allclose(landmarks_xy(lst, 10, 100), [[1, 20], [3, 40], [0, 100]], atol=1e-6)
    assert landmarks_xy(landmark_pb2.NormalizedLandmarkList(), 10, 10).shape == (0, 2)
