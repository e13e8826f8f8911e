"""Head pose from the 3-D face mesh and landmarks in a canonical, frontal pose.

MediaPipe Face Mesh gives every landmark a depth ``z`` (same scale as ``x``), so
the head's rotation can be estimated and undone before expression features are
measured: a bowed head no longer lifts the projected mouth corners, a raised
one no longer lowers them.

The pose is a weighted similarity Procrustes (Kabsch-Umeyama) fit of the rigid
landmarks of MediaPipe's own face-geometry pipeline (forehead, nose bridge and
tip, eye corners, cheekbones, jaw: ``procrustes_landmark_basis`` with its
weights) to MediaPipe's canonical neutral face. The installed wheel holds the
face-geometry protos but not this model, so the coordinates of the points
used here are copied below from ``mediapipe/modules/face_geometry/data/
geometry_pipeline_metadata_landmarks.pbtxt`` (Apache License 2.0, Copyright
2020 The MediaPipe Authors), converted to image axes (x right, y down, z away
from the camera). Undoing the fitted rotation, translation and scale brings a
frame's landmarks into the canonical frame, in units of the canonical face's
inter-ocular distance (IOD).

The canonical face is also a *population-neutral reference*: its expression
features (:data:`NEUTRAL_GEOMETRY`) are what a neutral face measures, which the
geometry estimator uses for participants with too few frames to be centred on
themselves (e.g. a single still).
"""
from __future__ import annotations

import math

import numpy as np

# landmark id -> canonical-face coordinates (x, y up, z towards the camera), MediaPipe's units (cm)
_CANONICAL_RAW = {
    0: (0.000000, -3.406404, 5.979507),
    1: (0.000000, -1.126865, 7.475604),
    2: (0.000000, -2.089024, 6.058267),
    4: (0.000000, -0.463170, 7.586580),
    6: (0.000000, 2.473255, 5.788627),
    10: (0.000000, 8.261778, 4.481535),
    13: (0.000000, -3.994436, 5.219482),
    14: (0.000000, -4.542400, 5.404754),
    17: (0.000000, -5.365123, 5.535441),
    33: (-4.445859, 2.663991, 3.173422),
    54: (-6.279331, 6.615427, 1.425850),
    61: (-2.456206, -4.342621, 4.283884),
    63: (-4.985894, 4.802461, 3.751977),
    66: (-2.760292, 5.100971, 5.015990),
    67: (-3.523964, 8.005976, 3.729163),
    70: (-5.720968, 4.254584, 2.830852),
    105: (-3.986562, 5.109487, 4.466315),
    107: (-1.395634, 5.011963, 5.316032),
    117: (-5.258659, 0.945811, 2.974312),
    119: (-3.300681, 0.861641, 3.872784),
    121: (-1.820731, 1.467954, 4.224124),
    127: (-7.743095, 2.364999, -2.005167),
    129: (-1.785794, -0.978284, 4.850470),
    132: (-7.270895, -2.890917, -2.252455),
    133: (-1.856432, 2.585245, 3.757904),
    136: (-5.085276, -7.178590, 0.714711),
    143: (-6.407571, 2.236021, 1.560843),
    144: (-3.670075, 2.360153, 3.635230),
    147: (-6.234883, -1.944430, 1.663542),
    152: (0.000000, -9.403378, 4.264492),
    153: (-2.724032, 2.315802, 3.777151),
    158: (-2.724032, 2.961810, 3.871767),
    160: (-3.670075, 2.927714, 3.724325),
    168: (0.000000, 3.271027, 5.236015),
    198: (-1.246815, 0.230297, 5.681036),
    205: (-3.832928, -1.537326, 4.137731),
    263: (4.445859, 2.663991, 3.173422),
    284: (6.279331, 6.615427, 1.425850),
    291: (2.456206, -4.342621, 4.283884),
    293: (4.985894, 4.802461, 3.751977),
    296: (2.760292, 5.100971, 5.015990),
    297: (3.523964, 8.005976, 3.729163),
    300: (5.720968, 4.254584, 2.830852),
    334: (3.986562, 5.109487, 4.466315),
    336: (1.395634, 5.011963, 5.316032),
    346: (5.258659, 0.945811, 2.974312),
    348: (3.300681, 0.861641, 3.872784),
    350: (1.820731, 1.467954, 4.224124),
    356: (7.743095, 2.364999, -2.005167),
    358: (1.785794, -0.978284, 4.850470),
    361: (7.270895, -2.890917, -2.252455),
    362: (1.856432, 2.585245, 3.757904),
    365: (5.085276, -7.178590, 0.714711),
    372: (6.407571, 2.236021, 1.560843),
    373: (3.670075, 2.360153, 3.635230),
    376: (6.234883, -1.944430, 1.663542),
    380: (2.724032, 2.315802, 3.777151),
    385: (2.724032, 2.961810, 3.871767),
    387: (3.670075, 2.927714, 3.724325),
    420: (1.246815, 0.230297, 5.681036),
    425: (3.832928, -1.537326, 4.137731),
}
# MediaPipe's procrustes_landmark_basis: rigid landmarks and their weights
_BASIS = {
    4: 0.070909939706326, 6: 0.032100144773722, 10: 0.008446550928056, 33: 0.058724168688059,
    54: 0.007667080033571, 67: 0.009078059345484, 117: 0.009791937656701, 119: 0.014565368182957,
    121: 0.018591361120343, 127: 0.005197994410992, 129: 0.120625205338001, 132: 0.005560018587857,
    133: 0.05328618362546, 136: 0.066890455782413, 143: 0.014816547743976, 147: 0.014262833632529,
    198: 0.025462191551924, 205: 0.047252278774977, 263: 0.058724168688059, 284: 0.007667080033571,
    297: 0.009078059345484, 346: 0.009791937656701, 348: 0.014565368182957, 350: 0.018591361120343,
    356: 0.005197994410992, 358: 0.120625205338001, 361: 0.005560018587857, 362: 0.05328618362546,
    365: 0.066890455782413, 372: 0.014816547743976, 376: 0.014262833632529, 420: 0.025462191551924,
    425: 0.047252278774977,
}
BASIS_IDS = np.array(sorted(_BASIS))
_W = np.array([_BASIS[i] for i in BASIS_IDS]) / sum(_BASIS.values())


def canonical_face() -> np.ndarray:
    """The canonical neutral face as a (478, 3) landmark array in image axes (NaN where not stored).

    Examples
    --------
    >>> f = canonical_face()
    >>> f.shape, bool(f[1, 2] < f[33, 2])   # the nose tip is nearer the camera than an eye corner
    ((478, 3), True)
    """
    out = np.full((478, 3), np.nan)
    for i, (x, y, z) in _CANONICAL_RAW.items():
        out[i] = (x, -y, -z)
    return out


_CANON = canonical_face()
_CANON_BASIS = _CANON[BASIS_IDS]
_CANON_MEAN = _W @ _CANON_BASIS
_CANON_C = _CANON_BASIS - _CANON_MEAN
_CANON_VAR = float(_W @ (_CANON_C ** 2).sum(axis=1))
_CANON_CW = np.ascontiguousarray((_CANON_C * _W[:, None]).T)
# inter-ocular distance of the canonical face (eye-corner midpoints), the unit of canonical coordinates
_CANON_IOD = float(np.linalg.norm((_CANON[362] + _CANON[263]) / 2 - (_CANON[33] + _CANON[133]) / 2))


def head_pose(pts3: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Similarity transform taking the canonical face onto these landmarks: ``p ≈ s R c + t``.

    Parameters
    ----------
    pts3 : ndarray (N ≥ 468, 3)
        Face-mesh landmarks in pixels (``z`` scaled like ``x``).

    Returns
    -------
    R : ndarray (3, 3)
        Rotation (a proper one: det = +1).
    s : float
        Scale (pixels per canonical unit).
    t : ndarray (3,)

    Examples
    --------
    >>> c = canonical_face()
    >>> a = np.radians(20)
    >>> rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    >>> R, s, t = head_pose(3 * c @ rot.T + 5)
    >>> bool(np.allclose(R, rot)), round(s, 6)
    (True, 3.0)
    """
    p = pts3[BASIS_IDS]
    mp = _W @ p
    # 3 x 3 cross-covariance canonical -> observed; the weighted canonical points are centred,
    # so the observed ones need not be (per-frame cost matters: scalar math where numpy is slow)
    cov = _CANON_CW @ p
    (a, b, c), (d_, e, f), (g, h, i) = cov.tolist()
    det = a * (e * i - f * h) - b * (d_ * i - f * g) + c * (d_ * h - e * g)
    u, sv, vt = np.linalg.svd(cov)
    d = 1.0 if det >= 0 else -1.0  # sign(det(V U^T)) = sign(det(cov)): no reflection
    rot = (vt.T * (1.0, 1.0, d)) @ u.T
    s = float((sv[0] + sv[1] + d * sv[2]) / _CANON_VAR)
    return rot, s, mp - s * (rot @ _CANON_MEAN)


def pose_angles(rot: np.ndarray) -> tuple[float, float, float]:
    """(pitch, yaw, roll) in degrees of a head rotation from :func:`head_pose` (0, 0, 0 = frontal).

    Pitch > 0: the head is bowed (chin down), the case where a 2-D mouth lift
    reads a neutral mouth as a smile.
    """
    pitch = math.degrees(math.atan2(rot[2, 1], rot[2, 2]))
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, -rot[2, 0]))))
    roll = math.degrees(math.atan2(rot[1, 0], rot[0, 0]))
    return pitch, yaw, roll


def canonical_landmarks(pts3: np.ndarray, idx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks with the head pose undone, in canonical inter-ocular distances; and the rotation.

    ``idx`` limits the work to those landmarks (the other rows are NaN).

    Examples
    --------
    >>> c = canonical_face()
    >>> a = np.radians(-25)
    >>> rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    >>> q, R = canonical_landmarks(40 * c @ rot.T + 100)
    >>> bool(np.allclose(q[BASIS_IDS], c[BASIS_IDS] / q.dtype.type(1) / _CANON_IOD))
    True
    """
    rot, s, t = head_pose(pts3)
    if idx is None:
        return ((pts3 - t) @ rot) / (s * _CANON_IOD), rot
    out = np.full(pts3.shape, np.nan)
    out[idx] = ((pts3[idx] - t) @ rot) / (s * _CANON_IOD)
    return out, rot
