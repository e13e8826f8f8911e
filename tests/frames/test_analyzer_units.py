"""Units of the frame analysis: strided hand checks with look-back, aligned crops, adaptive EAR."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eifer.frames import adaptive_ear_threshold, align_crop
from eifer.frames.analyzer import FaceAnalyzer
from eifer.frames.decode import iter_video


class _PlantedHands(FaceAnalyzer):
    """The hand model replaced by planted truth, so the stride logic is tested on its own."""

    hands_at: frozenset = frozenset()
    calls: int = 0

    def _hand_overlap(self, rgb, rec):
        rec["hand_checked"] = True
        self.calls += 1
        return rec["frame"] in self.hands_at


@pytest.mark.parametrize("stride", [1, 4, 6])
def test_strided_hand_checks_find_every_planted_frame(synth_video_small, stride):
    video = synth_video_small / "videos" / "P01" / "V1.mp4"
    planted = frozenset(range(8, 16)) | frozenset(range(27, 34))  # two episodes, not aligned to the stride
    fa = _PlantedHands(hand_stride=stride, appearance_cue=False)
    fa.hands_at = planted
    recs = [rec for rec, _ in fa.analyze(iter_video(video))]
    assert [r["frame"] for r in recs] == list(range(len(recs)))  # order kept despite the look-back buffer
    faces = {r["frame"] for r in recs if r["face_found"]}
    flagged = {r["frame"] for r in recs if r["stream_cue"] == "hand"}
    assert flagged == planted & faces  # every planted face frame, nothing else
    if stride > 1:
        assert fa.calls < 0.75 * len(faces)  # the stride saves hand-model calls


def test_align_crop_levels_the_eyes():
    img = np.zeros((200, 300, 3), np.uint8)
    angle = np.deg2rad(20)
    c, d = np.array([150.0, 100.0]), 30 * np.array([np.cos(angle), np.sin(angle)])
    el, er = c - d, c + d
    for p in (el, er):
        img[int(round(p[1])) - 2:int(round(p[1])) + 3, int(round(p[0])) - 2:int(round(p[0])) + 3] = 255
    crop = align_crop(img, el, er, size=128, margin=0.35)
    ys, xs = np.nonzero(crop[..., 0] > 127)
    left, right = xs < 64, xs >= 64
    assert abs(ys[left].mean() - ys[right].mean()) < 1.5  # eyes level after alignment
    assert abs((xs[left].mean() + xs[right].mean()) / 2 - 64) < 1.5  # centred
    big = align_crop(img, el, er, size=128, margin=1.0)
    ys2, xs2 = np.nonzero(big[..., 0] > 127)
    assert np.ptp(xs2) < np.ptp(xs)  # a larger margin shows more context: eyes closer together
    with pytest.raises(ValueError, match="too close"):
        align_crop(img, (10, 10), (10.2, 10), size=64)


def test_adaptive_ear_threshold_follows_the_person():
    rng = np.random.default_rng(0)
    narrow = pd.DataFrame({"ear_left": rng.normal(0.2, 0.01, 200), "ear_right": rng.normal(0.2, 0.01, 200),
                           "landmarks_found": True})
    wide = narrow.assign(ear_left=narrow.ear_left * 2, ear_right=narrow.ear_right * 2)
    t_narrow, t_wide = adaptive_ear_threshold(narrow, 0.6), adaptive_ear_threshold(wide, 0.6)
    assert t_narrow == pytest.approx(0.12, abs=0.005) and t_wide == pytest.approx(2 * t_narrow, rel=1e-6)


def test_detector_and_box_jump_settings_change_the_analysis(synth_video_small):
    """frames.detector_floor, detector_max_side and box_jump_overlap reach the analysis (not constants)."""
    video = synth_video_small / "videos" / "P01" / "V1.mp4"

    def run(**kw):
        fa = _PlantedHands(hand_stride=10, appearance_cue=False, **kw)
        recs = [rec for rec, _ in fa.analyze(iter_video(video))]
        return pd.DataFrame(recs), fa.calls

    base, calls = run()
    assert base["face_found"].mean() > 0.8
    # every face box moves "a lot" when a jump needs 100 % overlap: the hand model runs on every face frame
    jumpy, jumpy_calls = run(box_jump_overlap=1.0)
    assert jumpy_calls > 1.5 * calls
    # a floor above every score: the face mesh starts on no detection, faces are lost
    strict, _ = run(detector_floor=0.999)
    assert strict["face_found"].sum() < base["face_found"].sum()
    # the detector's input size: a 64-px copy gives other scores than the default 640
    small, _ = run(detector_max_side=64)
    both = base["det_score"].notna() & small["det_score"].notna()
    assert both.sum() > 10 and not np.allclose(small.loc[both, "det_score"], base.loc[both, "det_score"])


def test_align_crop_eye_height_and_eye_distance_follow_the_settings():
    img = np.zeros((200, 200, 3), np.uint8)
    el, er = (80, 90), (120, 90)
    img[88:93, 78:83] = 255
    img[88:93, 118:123] = 255

    def eyes(**kw):
        crop = align_crop(img, el, er, size=100, margin=0.35, **kw)
        ys, xs = np.nonzero(crop[..., 0] > 127)
        return ys.mean(), xs[xs > 50].mean() - xs[xs < 50].mean()

    y, d = eyes()
    assert abs(y - 40) < 1.5  # eye midpoint at 40 % of the height (default crop_eye_y 0.40)
    assert abs(d - 100 * 0.45 / 1.35) < 1.5  # eye distance = iod_fraction / (1 + margin) of the side
    assert abs(eyes(eye_y=0.3)[0] - 30) < 1.5
    assert abs(eyes(iod_fraction=0.6)[1] - 100 * 0.6 / 1.35) < 1.5


def test_analyzer_takes_every_analysis_setting_from_the_config():
    from eifer.config import DEFAULTS, FramesConfig

    changed = {"appearance_warmup": 20, "appearance_alpha": 0.1, "appearance_floor": 2.0, "detector_floor": 0.3,
               "detector_max_side": 320, "hand_min_confidence": 0.7, "box_jump_overlap": 0.6,
               "appearance_min_patches": 3, "appearance_threshold": 5.0, "hand_stride": 7, "hand_box_padding": 0.2}
    fa = FaceAnalyzer.from_config(FramesConfig(**changed))
    assert {k: getattr(fa, k) for k in changed} == changed
    default = FaceAnalyzer()  # keyword defaults are the paper profile's values
    assert {k: getattr(default, k) for k in changed} == {k: getattr(DEFAULTS.frames, k) for k in changed}


@pytest.mark.parametrize("padding, overlap_needed, covered", [
    (0.1, 0.05, True),    # the padded hand box reaches 10 % into the face box
    (0.1, 0.10, True),    # exactly at occlusion_overlap: covered (>=)
    (0.1, 0.11, False),
    (0.0, 0.05, False),   # unpadded, the hand box only touches the face box
])
def test_hand_box_padding_widens_the_hand_box(monkeypatch, padding, overlap_needed, covered):
    from eifer.frames import analyzer as mod

    # one hand whose landmarks span x 100..200, y 0..100, right of a face box x 0..100: padding
    # 0.1 x mean side 100 = 10 px on each side, so the hand box covers 10 % of the face box
    hand = np.array([[100.0, 0.0], [200.0, 100.0], [150.0, 50.0]])
    monkeypatch.setattr(mod, "run_image", lambda model, rgb, stream: [hand])
    monkeypatch.setattr(mod, "landmarks_xy", lambda h, w, hh: h)
    fa = FaceAnalyzer(hand_box_padding=padding, occlusion_overlap=overlap_needed)
    fa._models["hands"] = object()
    rec = {"bbox_x0": 0.0, "bbox_y0": 0.0, "bbox_x1": 100.0, "bbox_y1": 100.0}
    assert fa._hand_overlap(np.zeros((120, 240, 3), np.uint8), rec) is covered
