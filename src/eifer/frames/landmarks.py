"""Face-mesh landmark geometry: eye aspect ratio, eye centres, expression features.

Indices are those of MediaPipe Face Mesh (468 points + 10 iris points with
``refine_landmarks=True``). "l"/"r" in column names mean *image* left/right.
"""
from __future__ import annotations

import math

import numpy as np

# Eye contours for the EAR of Soukupová & Čech (2016): p1..p6 (corner, top, top, corner, bottom, bottom)
EYE_IMG_LEFT = (33, 160, 158, 133, 153, 144)   # subject's right eye
EYE_IMG_RIGHT = (362, 385, 387, 263, 373, 380)  # subject's left eye
BROW_IMG_LEFT = (70, 63, 105, 66, 107)
BROW_IMG_RIGHT = (300, 293, 334, 296, 336)
MOUTH_CORNERS = (61, 291)
LIP_INNER_TOP, LIP_INNER_BOTTOM = 13, 14
LIP_OUTER_TOP, LIP_OUTER_BOTTOM = 0, 17
NOSE_TIP = 1

GEO_COLUMNS = ["geo_mouth_lift", "geo_mouth_open", "geo_mouth_width", "geo_eye_open", "geo_brow_raise"]
POSE_COLUMNS = ["head_pitch", "head_yaw", "head_roll"]
# the landmarks geometry_features reads (only these are brought to the canonical pose)
_FEATURE_IDS = np.array(sorted(set(EYE_IMG_LEFT + EYE_IMG_RIGHT + BROW_IMG_LEFT + BROW_IMG_RIGHT + MOUTH_CORNERS
                                   + (LIP_INNER_TOP, LIP_INNER_BOTTOM))))


def eye_aspect_ratio(pts: np.ndarray, idx: tuple[int, ...]) -> float:
    """EAR = (|p2-p6| + |p3-p5|) / (2 |p1-p4|) from (N, 2) pixel landmarks."""
    # scalar math: called several times per frame on 1.9 M frames, where numpy's per-call overhead dominates
    (x1, y1), (x2, y2), (x3, y3), (x4, y4), (x5, y5), (x6, y6) = pts[list(idx)].tolist()
    width = math.hypot(x1 - x4, y1 - y4)
    if width <= 0:
        return float("nan")
    return (math.hypot(x2 - x6, y2 - y6) + math.hypot(x3 - x5, y3 - y5)) / (2.0 * width)


def eye_centres(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image-left and image-right eye centres (corner midpoints: stable when eyes close)."""
    left = (pts[EYE_IMG_LEFT[0]] + pts[EYE_IMG_LEFT[3]]) / 2.0
    right = (pts[EYE_IMG_RIGHT[0]] + pts[EYE_IMG_RIGHT[3]]) / 2.0
    return left, right


def eye_line(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Image-left and image-right eye centres and the inter-ocular distance (1.0 when they coincide)."""
    left, right = eye_centres(pts)
    return left, right, float(np.hypot(*(right - left))) or 1.0


def face_frame(pts: np.ndarray) -> np.ndarray:
    """Landmarks rotated so the eyes are level, centred between the eyes, scaled by eye distance."""
    left, right, iod = eye_line(pts)
    c, s = (right - left) / iod
    rot = np.array([[c, s], [-s, c]])  # rotates the eye line onto +x
    return ((pts - (left + right) / 2.0) @ rot.T) / iod


def geometry_features(pts: np.ndarray) -> dict[str, float]:
    """Pose-, roll- and scale-invariant expression features (image y grows downwards).

    ``geo_mouth_lift``: mouth-corner height above the lip centre (smile > 0);
    ``geo_mouth_open``: inner-lip gap; ``geo_mouth_width``: corner distance;
    ``geo_eye_open``: mean EAR; ``geo_brow_raise``: brow height above the eye line.
    All distances are in units of the inter-ocular distance.

    With 3-D landmarks ``(N, 3)`` (the face mesh's ``z``), the head pose is
    undone first (:func:`eifer.frames.facepose.canonical_landmarks`), so head
    pitch and yaw do not move the features, and the head pose is added
    (``head_pitch``, ``head_yaw``, ``head_roll``, degrees); with ``(N, 2)`` only
    the roll is undone (eyes levelled).

    Examples
    --------
    >>> from eifer.frames.facepose import canonical_face
    >>> c = canonical_face()
    >>> a = np.radians(25)   # head pitched: the 2-D mouth lift moves, the 3-D one does not
    >>> rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    >>> pitched = 30 * c @ rot.T + 200
    >>> f2, f3 = geometry_features(pitched[:, :2]), geometry_features(pitched)
    >>> f0 = geometry_features(c)
    >>> abs(f3["geo_mouth_lift"] - f0["geo_mouth_lift"]) < 1e-9 < abs(f2["geo_mouth_lift"] - f0["geo_mouth_lift"])
    True
    """
    pose: dict[str, float] = {}
    if pts.shape[1] == 3:
        from eifer.frames.facepose import canonical_landmarks, pose_angles

        q, rot = canonical_landmarks(pts, _FEATURE_IDS)
        pose = dict(zip(POSE_COLUMNS, pose_angles(rot)))
        f = pts = np.ascontiguousarray(q[:, :2])
    else:
        f = face_frame(pts)
    corners_y = f[list(MOUTH_CORNERS), 1].mean()
    centre_y = (f[LIP_INNER_TOP, 1] + f[LIP_INNER_BOTTOM, 1]) / 2.0
    brows_y = f[list(BROW_IMG_LEFT + BROW_IMG_RIGHT), 1].mean()
    eyes_y = f[list(EYE_IMG_LEFT + EYE_IMG_RIGHT), 1].mean()
    return {
        "geo_mouth_lift": float(centre_y - corners_y),
        "geo_mouth_open": float(f[LIP_INNER_BOTTOM, 1] - f[LIP_INNER_TOP, 1]),
        "geo_mouth_width": float(np.linalg.norm(f[MOUTH_CORNERS[0]] - f[MOUTH_CORNERS[1]])),
        "geo_eye_open": (eye_aspect_ratio(pts, EYE_IMG_LEFT) + eye_aspect_ratio(pts, EYE_IMG_RIGHT)) / 2.0,
        "geo_brow_raise": float(eyes_y - brows_y),
        **pose,
    }
