"""Per-frame face analysis with MediaPipe: detection, refined face mesh, hands.

One :class:`FaceAnalyzer` per worker process (MediaPipe graphs are not
picklable and keep tracking state per video).

Throughput decisions (paper scale is ~1.9 M frames; costs per call on one
core at 640 × 480: decode ≈ 1 ms, detector ≈ 1.7 ms, refined mesh ≈ 3 ms,
hands ≈ 7.5 ms):

* the face mesh runs on every frame in tracking mode
  (``static_image_mode=False``): after the first frame it refines the previous
  frame's landmarks instead of searching the whole image. Refinement stays on:
  without it the eyelid landmarks barely close and blink recall falls to ~4 %;
* the face detector (score, box, keypoints for the landmark score) runs every
  ``detect_stride``-th frame and at once when anything looks off, with a
  look-back that finds the exact onset of a drop
  (:class:`~eifer.frames.schedule.DetectorSchedule`); it runs on a copy
  downscaled to ≤ 640 px (BlazeFace sees 128 px anyway), so its cost does not
  grow with the video resolution;
* graphs are called through :mod:`eifer.frames.mpgraph`, which skips
  MediaPipe's per-call wrapper overhead (~0.3 ms) and reads landmarks from
  their serialised bytes;
* the hand model (~7.5 ms a frame even with no hand in view) runs every
  ``hand_stride``-th face frame, every frame while a hand is near the face, and
  at once when the face box jumps. When a check finds a new hand, the frames
  since the previous check are re-checked one by one ("look-back"), so the
  onset of an occlusion is found exactly; only an occlusion that starts *and*
  ends between two checks (< ``hand_stride`` frames) can be missed. After a
  hand is lost the checks go on frame by frame for ``hand_keep`` more frames,
  so one frame the hand model misses does not hide the rest of the occlusion.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from eifer.config import DEFAULTS
from eifer.frames.landmarks import (
    EYE_IMG_LEFT,
    EYE_IMG_RIGHT,
    GEO_COLUMNS,
    LIP_INNER_BOTTOM,
    LIP_INNER_TOP,
    NOSE_TIP,
    POSE_COLUMNS,
    eye_aspect_ratio,
    eye_centres,
    eye_line,
    geometry_features,
)
from eifer.frames.mpgraph import landmarks_xy, landmarks_xyz, run_image
from eifer.frames.occlusion import AppearanceTracker
from eifer.frames.quality import hand_keep_frames
from eifer.frames.schedule import DetectorSchedule

if TYPE_CHECKING:
    from eifer.config import FramesConfig

_F = DEFAULTS.frames
_SHARED: dict[tuple, dict[str, Any]] = {}  # per-process MediaPipe graphs without per-video state


def _empty_record(idx: int, t: float) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "frame": idx, "time_s": t, "face_found": False, "det_score": np.nan,
        "bbox_x0": np.nan, "bbox_y0": np.nan, "bbox_x1": np.nan, "bbox_y1": np.nan,
        "landmarks_found": False, "landmark_score": np.nan, "ear_left": np.nan, "ear_right": np.nan,
        "stream_cue": "", "hand_checked": False, "det_checked": False,
        "eye_lx": np.nan, "eye_ly": np.nan, "eye_rx": np.nan, "eye_ry": np.nan,
    }
    for c in GEO_COLUMNS + POSE_COLUMNS:
        rec[c] = np.nan
    return rec


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Fraction of box ``a`` (x0, y0, x1, y1) covered by box ``b``."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = max(1e-9, (a[2] - a[0]) * (a[3] - a[1]))
    return iw * ih / area


@dataclass
class _Frame:
    """One analysed frame on its way out (held back while look-backs may still change it)."""

    rec: dict[str, Any]
    rgb: np.ndarray
    pts: np.ndarray | None = None  # face-mesh landmarks (pixels)


@dataclass
class FaceAnalyzer:
    """Stateful per-video analyser; call :meth:`analyze` once per video.

    Parameters mirror :class:`eifer.config.FramesConfig`.
    """

    min_detection_confidence: float = _F.min_detection_confidence
    min_landmark_confidence: float = _F.min_landmark_confidence
    occlusion_overlap: float = _F.occlusion_overlap
    hand_stride: int = _F.hand_stride
    detect_stride: int = _F.detect_stride
    occlusion_det_drop: float = _F.occlusion_det_drop
    refine_landmarks: bool = _F.refine_landmarks
    hand_max_side: int = _F.hand_max_side
    appearance_cue: bool = _F.appearance_cue
    appearance_threshold: float = _F.appearance_threshold
    hand_keep: int = hand_keep_frames(_F)  # after a hand is lost, check this many more frames one by one
    appearance_warmup: int = _F.appearance_warmup
    appearance_alpha: float = _F.appearance_alpha
    appearance_floor: float = _F.appearance_floor
    # Face detections at or above this score are recorded (det_score, bbox) and
    # dropped as low_confidence by the quality rule when below min_detection_confidence.
    detector_floor: float = _F.detector_floor
    detector_max_side: int = _F.detector_max_side
    hand_min_confidence: float = _F.hand_min_confidence
    box_jump_overlap: float = _F.box_jump_overlap
    appearance_min_patches: int = _F.appearance_min_patches
    hand_box_padding: float = _F.hand_box_padding
    _models: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, cfg: FramesConfig) -> FaceAnalyzer:
        return cls(min_detection_confidence=cfg.min_detection_confidence,
                   min_landmark_confidence=cfg.min_landmark_confidence,
                   occlusion_overlap=cfg.occlusion_overlap, hand_stride=cfg.hand_stride,
                   detect_stride=cfg.detect_stride, occlusion_det_drop=cfg.occlusion_det_drop,
                   refine_landmarks=cfg.refine_landmarks,
                   hand_max_side=cfg.hand_max_side, appearance_cue=cfg.appearance_cue,
                   appearance_threshold=cfg.appearance_threshold, hand_keep=hand_keep_frames(cfg),
                   appearance_warmup=cfg.appearance_warmup, appearance_alpha=cfg.appearance_alpha,
                   appearance_floor=cfg.appearance_floor, detector_floor=cfg.detector_floor,
                   detector_max_side=cfg.detector_max_side, hand_min_confidence=cfg.hand_min_confidence,
                   box_jump_overlap=cfg.box_jump_overlap, appearance_min_patches=cfg.appearance_min_patches,
                   hand_box_padding=cfg.hand_box_padding)

    # -- models --------------------------------------------------------------
    def _reset_models(self) -> None:
        """Fresh face mesh (its tracking state is per video); detector and hands reused per process."""
        from eifer.logs import filter_native_logs

        filter_native_logs()  # MediaPipe's C++ info/warning lines (command line only, not --verbose)
        import mediapipe as mp

        sol = mp.solutions
        if "mesh" in self._models:
            self._models.pop("mesh").close()
        key = ("det", "hands", self.detector_floor, self.hand_min_confidence)
        if key not in _SHARED:  # stateless in static mode: building them costs ~1 s, so build once
            _SHARED[key] = {
                "det": sol.face_detection.FaceDetection(model_selection=0,
                                                        min_detection_confidence=self.detector_floor),
                # static mode: checks are strided, so there is no previous frame to track from
                "hands": sol.hands.Hands(static_image_mode=True, max_num_hands=2, model_complexity=0,
                                         min_detection_confidence=self.hand_min_confidence),
            }
        self._models = dict(_SHARED[key])
        self._models["mesh"] = sol.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                                      refine_landmarks=self.refine_landmarks,
                                                      min_detection_confidence=self.detector_floor,
                                                      min_tracking_confidence=self.min_landmark_confidence)

    def close(self) -> None:
        if "mesh" in self._models:
            self._models.pop("mesh").close()
        self._models = {}

    # -- single-model steps ----------------------------------------------------
    @staticmethod
    def _downscale(rgb: np.ndarray, max_side: int) -> np.ndarray:
        h, w = rgb.shape[:2]
        f = max_side / max(h, w)
        if f >= 1:
            return rgb
        return cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)

    def _detect(self, rgb: np.ndarray, rec: dict[str, Any]) -> np.ndarray | None:
        """Face detector on this frame: score and box into ``rec``; the 4 keypoints (eyes, nose, mouth) or None."""
        h, w = rgb.shape[:2]
        rec["det_checked"] = True
        dets = run_image(self._models["det"], self._downscale(rgb, self.detector_max_side), "detections")
        if not dets:
            return None
        det = max(dets, key=lambda d: d.score[0])
        bb = det.location_data.relative_bounding_box
        rec.update(face_found=True, det_score=float(det.score[0]),
                   bbox_x0=max(0.0, bb.xmin * w), bbox_y0=max(0.0, bb.ymin * h),
                   bbox_x1=min(float(w), (bb.xmin + bb.width) * w), bbox_y1=min(float(h), (bb.ymin + bb.height) * h))
        return np.array([(k.x * w, k.y * h) for k in det.location_data.relative_keypoints[:4]])

    def _mesh(self, rgb: np.ndarray, rec: dict[str, Any]) -> np.ndarray | None:
        """Face mesh (tracking): landmarks, EAR, eye centres and geometry into ``rec``; (478, 2) pixels or None."""
        h, w = rgb.shape[:2]
        faces = run_image(self._models["mesh"], rgb, "multi_face_landmarks")
        if not faces:
            return None
        pts3 = landmarks_xyz(faces[0], w, h)
        pts = np.ascontiguousarray(pts3[:, :2])
        el, er = eye_centres(pts)
        rec.update(landmarks_found=True,
                   ear_left=eye_aspect_ratio(pts, EYE_IMG_LEFT), ear_right=eye_aspect_ratio(pts, EYE_IMG_RIGHT),
                   eye_lx=float(el[0]), eye_ly=float(el[1]), eye_rx=float(er[0]), eye_ry=float(er[1]))
        # expression features on the landmarks with the head pose undone (3-D Procrustes fit)
        rec.update(geometry_features(pts3))
        return pts

    @staticmethod
    def _agreement(rec: dict[str, Any], pts: np.ndarray | None, keypoints: np.ndarray | None,
                   shape: tuple[int, ...]) -> None:
        """Landmark score of a detector-checked frame; the mesh's box when only the mesh holds the face."""
        if pts is None:
            return
        h_img, w_img = shape[:2]
        if keypoints is None:
            # The tracker still holds a face the detector lost (typically a
            # partly covered face): a face is there, its box comes from the mesh.
            rec.update(face_found=True, bbox_x0=float(max(0, pts[:, 0].min())), bbox_y0=float(max(0, pts[:, 1].min())),
                       bbox_x1=float(min(w_img, pts[:, 0].max())), bbox_y1=float(min(h_img, pts[:, 1].max())))
            return
        # Landmark confidence: agreement of the mesh with the detector's own
        # keypoints (eyes, nose tip, mouth centre), in eye distances. The legacy
        # mesh exposes no score; two independent models agreeing is the proxy.
        el, er, iod = eye_line(pts)
        mesh_kp = np.array([el, er, pts[NOSE_TIP], (pts[LIP_INNER_TOP] + pts[LIP_INNER_BOTTOM]) / 2])
        eyes_det = keypoints[:2] if keypoints[0, 0] <= keypoints[1, 0] else keypoints[1::-1]
        det_kp = np.vstack([eyes_det, keypoints[2:4]])
        rec["landmark_score"] = max(0.0, 1.0 - float(np.mean(np.linalg.norm(mesh_kp - det_kp, axis=1))) / iod)

    def _check_face(self, item: _Frame) -> None:
        """Run the detector on a frame whose mesh is already known (replacing any carried values)."""
        item.rec.update(face_found=False, det_score=np.nan, landmark_score=np.nan,
                        bbox_x0=np.nan, bbox_y0=np.nan, bbox_x1=np.nan, bbox_y1=np.nan)
        keypoints = self._detect(item.rgb, item.rec)
        self._agreement(item.rec, item.pts, keypoints, item.rgb.shape)

    def _detector_step(self, item: _Frame, schedule: DetectorSchedule) -> None:
        """Detector check on this frame; on an abnormal result, also on the frames carried since the last check."""
        self._check_face(item)
        if schedule.observe(item.rec, item.pts):
            for p in schedule.take_unchecked():
                self._check_face(p)

    def _hand_overlap(self, rgb: np.ndarray, rec: dict[str, Any]) -> bool:
        """Run the hand model; True when a hand box covers enough of the face box."""
        rec["hand_checked"] = True
        hands = run_image(self._models["hands"], self._downscale(rgb, self.hand_max_side), "multi_hand_landmarks")
        if not hands:
            return False
        h, w = rgb.shape[:2]
        face = (rec["bbox_x0"], rec["bbox_y0"], rec["bbox_x1"], rec["bbox_y1"])
        for hand in hands:
            xy = landmarks_xy(hand, w, h)
            # the landmarks sit inside the hand's outline
            pad = self.hand_box_padding * float(np.ptp(xy[:, 0]) + np.ptp(xy[:, 1])) / 2
            box = (xy[:, 0].min() - pad, xy[:, 1].min() - pad, xy[:, 0].max() + pad, xy[:, 1].max() + pad)
            if _overlap(face, box) >= self.occlusion_overlap:
                return True
        return False

    # -- stream ----------------------------------------------------------------
    def analyze(self, frames: Iterable[tuple[int, float, np.ndarray]]
                ) -> Iterator[tuple[dict[str, Any], np.ndarray]]:
        """Analyse a stream of ``(index, time_s, rgb)``; yield ``(record, rgb)`` in order.

        Records are yielded up to ``hand_stride`` frames late (the look-back
        window); the rgb array is the frame's own image.
        """
        self._reset_models()
        appearance = (AppearanceTracker(self.appearance_threshold, self.appearance_min_patches,
                                        warmup=self.appearance_warmup,
                                        alpha=self.appearance_alpha, floor=self.appearance_floor)
                      if self.appearance_cue else None)
        schedule = DetectorSchedule(self.detect_stride, self.min_detection_confidence,
                                    self.min_landmark_confidence, self.occlusion_det_drop)
        pending: list[_Frame] = []
        since_check = self.hand_stride  # check the first face frame
        hand_near = False
        near_left = 0  # per-frame hand checks still owed after the last hand seen
        last_box: tuple[float, ...] | None = None

        def flush() -> Iterator[tuple[dict[str, Any], np.ndarray]]:
            for p in pending:
                yield p.rec, p.rgb
            pending.clear()

        for idx, t, rgb in frames:
            rec = _empty_record(idx, t)
            item = _Frame(rec, rgb, self._mesh(rgb, rec))
            if schedule.due(item.pts):
                self._detector_step(item, schedule)
            else:
                schedule.carry(item)
            if not rec["face_found"]:
                # No face: nothing to occlude; a new check is due when it returns.
                yield from flush()
                yield rec, rgb
                since_check, hand_near, last_box, near_left = self.hand_stride, False, None, 0
                continue
            if appearance is not None and item.pts is not None and appearance.update(rgb, item.pts):
                rec["stream_cue"] = "appearance"
            box = (rec["bbox_x0"], rec["bbox_y0"], rec["bbox_x1"], rec["bbox_y1"])
            moved = last_box is not None and _overlap(box, last_box) < self.box_jump_overlap
            since_check += 1
            if hand_near or moved or since_check >= self.hand_stride:
                if not rec["det_checked"]:  # frames are released here: their detector values must be final
                    self._detector_step(item, schedule)
                    box = (rec["bbox_x0"], rec["bbox_y0"], rec["bbox_x1"], rec["bbox_y1"])
                found = self._hand_overlap(rgb, rec)
                if found:
                    rec["stream_cue"] = "hand"
                    if not hand_near:  # new hand: look back at the unchecked frames
                        for p in pending:
                            if not p.rec["hand_checked"] and self._hand_overlap(p.rgb, p.rec):
                                p.rec["stream_cue"] = "hand"
                yield from flush()
                yield rec, rgb
                # a single frame the hand model misses must not end the per-frame checks:
                # keep checking hand_keep more frames (the quality rule fills the gap)
                near_left = self.hand_keep + 1 if found else max(0, near_left - 1)
                hand_near, since_check, last_box = near_left > 0, 0, box
            else:
                pending.append(item)
        last = schedule.pop_last_unchecked()
        if last is not None:  # no later check will bracket the tail: check its newest frame now
            self._detector_step(last, schedule)
        yield from flush()
