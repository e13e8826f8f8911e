"""Procedural, shaded faces drawn with OpenCV (one frame at a time).

A face is drawn in *face coordinates*: origin at the face centre, unit = the
face's half-width ``R``; the head pose (centre, size, roll) maps them to
pixels. The static parts of a head (hair, ears, shaded skin, nose) are drawn
once per identity into an RGBA sprite and warped per frame; the expressive
parts are drawn per frame:

* valence -> mouth-corner curvature (smile / frown) and a slight brow tilt;
* arousal -> eye opening, brow raise and mouth opening;
* ``eye_open`` = 0 draws closed lids (a blink).

Occluders (a skin-toned hand with fingers, or a mug / book / phone) are
drawn over the face; ``scene="empty"`` or ``"away"`` draws no face at all
(person out of frame, or the back of the head).

Examples
--------
>>> ident = make_identity(np.random.default_rng(0))
>>> img = render_face(ident, valence=0.8, arousal=0.2)
>>> img.shape, img.dtype
((240, 320, 3), dtype('uint8'))
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

_AA = cv2.LINE_AA
_SHIFT = 4  # sub-pixel precision of cv2 drawing (coordinates × 16)
_SKIN_TONES = [(247, 214, 190), (234, 192, 160), (214, 164, 128), (190, 140, 100), (160, 110, 78),
               (120, 80, 58), (96, 64, 46)]
_HAIR = [(30, 22, 18), (70, 45, 25), (120, 80, 40), (190, 150, 90), (60, 60, 60), (140, 60, 30)]
_IRIS = [(70, 45, 25), (90, 60, 30), (60, 100, 140), (70, 120, 80), (110, 90, 60)]


@dataclass(frozen=True)
class FaceIdentity:
    """Everything that makes one synthetic person look like themselves (RGB colours)."""

    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    iris: tuple[int, int, int]
    lips: tuple[int, int, int]
    shirt: tuple[int, int, int]
    wall: tuple[int, int, int]
    aspect: float = 1.3          # face half-height / half-width
    eye_dx: float = 0.42         # eye centre distance from the midline
    eye_y: float = -0.18
    eye_w: float = 0.2
    mouth_y: float = 0.68
    mouth_w: float = 0.32
    hair_style: int = 0          # 0 short, 1 long, 2 fringe
    size: float = 0.21           # face half-width / frame height
    extras: tuple = field(default=())


def make_identity(rng: np.random.Generator) -> FaceIdentity:
    """Draw a random identity.

    Parameters
    ----------
    rng : numpy Generator

    Returns
    -------
    FaceIdentity
    """
    def rgb(values: Iterable[float]) -> tuple[int, int, int]:
        r, g, b = (int(c) for c in values)
        return r, g, b

    def pick(options: Sequence[tuple[int, int, int]]) -> tuple[int, int, int]:
        return rgb(options[rng.integers(len(options))])

    skin = pick(_SKIN_TONES)
    lips = rgb(np.clip(np.array(skin) * [0.82, 0.55, 0.55] + [25, 0, 5], 0, 255))
    return FaceIdentity(
        skin=skin, hair=pick(_HAIR), iris=pick(_IRIS), lips=lips,
        shirt=rgb(rng.integers(30, 220, 3)),
        wall=rgb(rng.integers(150, 235, 3)),
        aspect=float(rng.uniform(1.22, 1.38)), eye_dx=float(rng.uniform(0.38, 0.45)),
        eye_y=float(rng.uniform(-0.22, -0.14)), eye_w=float(rng.uniform(0.18, 0.22)),
        mouth_y=float(rng.uniform(0.62, 0.72)), mouth_w=float(rng.uniform(0.28, 0.36)),
        hair_style=int(rng.integers(3)), size=float(rng.uniform(0.2, 0.23)),
    )


def _pts(xy: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Face coordinates (N, 2) -> fixed-point pixel coordinates for cv2 (N, 1, 2) int32."""
    p = xy @ M[:, :2].T + M[:, 2]
    return np.round(p * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)


def _ellipse(cx: float, cy: float, rx: float, ry: float, a0: float = 0, a1: float = 360, n: int = 48) -> np.ndarray:
    t = np.deg2rad(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)


def _fill(img: np.ndarray, xy: np.ndarray, M: np.ndarray, color: tuple[float, ...]) -> None:
    cv2.fillPoly(img, [_pts(xy, M)], color, _AA, _SHIFT)


def _line(img: np.ndarray, xy: np.ndarray, M: np.ndarray, color: tuple[float, ...], thickness: float) -> None:
    cv2.polylines(img, [_pts(xy, M)], False, color, max(1, int(round(thickness))), _AA, _SHIFT)


def _shade(color: tuple[int, ...], f: float) -> tuple[int, ...]:
    return tuple(int(min(255, max(0, c * f))) for c in color)


def _pose_matrix(cx: float, cy: float, r: float, roll_deg: float) -> np.ndarray:
    a = np.deg2rad(roll_deg)
    c, s = np.cos(a) * r, np.sin(a) * r
    return np.array([[c, -s, cx], [s, c, cy]], dtype=np.float64)


@lru_cache(maxsize=64)
def _head_sprite(ident: FaceIdentity, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Static head (RGB, alpha) drawn at face half-width ``r`` px, centred in a square canvas."""
    size = int(4 * r)
    M = _pose_matrix(size / 2, size / 2, r, 0)
    rgb = np.zeros((size, size, 3), np.uint8)
    alpha = np.zeros((size, size), np.uint8)
    a, skin, hair = ident.aspect, ident.skin, ident.hair

    def both(xy: np.ndarray, color: tuple[int, ...]) -> None:
        _fill(rgb, xy, M, color)
        _fill(alpha, xy, M, (255,))

    if ident.hair_style == 1:  # long hair behind the head
        both(np.concatenate([_ellipse(0, -0.2, 1.25, a * 1.05, 180, 360), [[1.3, 1.2], [-1.3, 1.2]]]), hair)
    both(np.array([[-0.45, 0.9], [0.45, 0.9], [0.5, 1.9], [-0.5, 1.9]]), _shade(skin, 0.85))  # neck
    for sx in (-1, 1):  # ears
        both(_ellipse(sx * 0.98, -0.05, 0.17, 0.28), _shade(skin, 0.9))
        _fill(rgb, _ellipse(sx * 0.99, -0.05, 0.08, 0.17), M, _shade(skin, 0.72))
    both(_ellipse(0, 0, 1.0, a), skin)
    # shading: darker rim, lighter cheeks and forehead, soft nose shadow
    face_mask = np.zeros((size, size), np.uint8)
    _fill(face_mask, _ellipse(0, 0, 1.0, a), M, (255,))
    shade: np.ndarray = np.zeros((size, size), np.float32)
    cv2.fillPoly(shade, [_pts(_ellipse(0, 0.05, 0.8, a * 0.85), M)], (1.0,), _AA, _SHIFT)
    shade = cv2.GaussianBlur(shade, (0, 0), r * 0.25)
    nose: np.ndarray = np.zeros((size, size), np.float32)
    _fill(nose, np.array([[0.05, -0.15], [0.16, 0.3], [0.12, 0.38], [0.0, 0.4]]), M, (1.0,))
    nose = cv2.GaussianBlur(nose, (0, 0), r * 0.05)
    f = (0.78 + 0.3 * shade - 0.25 * nose)[..., None]
    m = face_mask[..., None] > 0
    rgb[:] = np.where(m, np.clip(rgb * f, 0, 255), rgb).astype(np.uint8)
    # nostrils and the nose tip highlight
    for sx in (-1, 1):
        _fill(rgb, _ellipse(sx * 0.09, 0.37, 0.055, 0.03), M, _shade(skin, 0.45))
    _line(rgb, np.array([[-0.16, 0.33], [-0.1, 0.4], [0.1, 0.4], [0.16, 0.33]]), M, _shade(skin, 0.65), r * 0.03)
    # hair on top
    if ident.hair_style == 2:  # fringe
        cap = np.concatenate([_ellipse(0, -0.3, 1.08, a * 0.88, 180, 360), [[0.95, -0.45], [-0.95, -0.45]]])
    else:
        cap = np.concatenate([_ellipse(0, -0.2, 1.08, a * 0.98, 180, 360), [[0.85, -0.68], [-0.85, -0.68]]])
    both(cap, hair)
    _line(rgb, _ellipse(0, -0.2, 0.95, a * 0.85, 200, 340), M, _shade(hair, 1.4), r * 0.04)
    return rgb, alpha


@lru_cache(maxsize=64)
def _backgrounds(ident: FaceIdentity, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(wall with torso, empty wall) for one identity and frame size."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    wall = (np.array(ident.wall, np.float32) * (1.05 - 0.2 * y)).repeat(width, 1)
    wall = np.clip(wall, 0, 255).astype(np.uint8)
    # a door frame and a picture: static, clearly not face-like
    cv2.rectangle(wall, (int(0.04 * width), int(0.1 * height)), (int(0.16 * width), height),
                  _shade(ident.wall, 0.8), -1)
    cv2.rectangle(wall, (int(0.8 * width), int(0.15 * height)), (int(0.95 * width), int(0.35 * height)),
                  _shade(ident.wall, 0.6), 2)
    empty = wall.copy()
    cx, r = width / 2, ident.size * height
    torso = np.array([[cx - 2.6 * r, height + 5], [cx - 2.2 * r, height - 0.9 * r], [cx - 0.8 * r, height - 1.3 * r],
                      [cx + 0.8 * r, height - 1.3 * r], [cx + 2.2 * r, height - 0.9 * r], [cx + 2.6 * r, height + 5]])
    cv2.fillPoly(wall, [np.round(torso * 16).astype(np.int32)], ident.shirt, _AA, _SHIFT)
    return wall, empty


def _draw_eye(img: np.ndarray, M: np.ndarray, ident: FaceIdentity, sx: int, opening: float, r: float,
              gaze: float) -> None:
    ex, ey, w = sx * ident.eye_dx, ident.eye_y, ident.eye_w
    skin = ident.skin
    # socket shadow
    _fill(img, _ellipse(ex, ey - 0.01, w * 1.25, w * 0.6), M, _shade(skin, 0.88))
    if opening < 0.08:  # closed lid: a curved lash line on skin
        _line(img, _ellipse(ex, ey - 0.02, w * 0.95, w * 0.22, 10, 170, 16), M, (40, 28, 24), max(1.5, r * 0.035))
        return
    h = w * 0.55 * opening
    upper = _ellipse(ex, ey + 0.02 * w, w, h, 180, 360, 24)
    lower = _ellipse(ex, ey, w, h * 0.7, 0, 180, 24)
    eye = np.concatenate([upper, lower])
    _fill(img, eye, M, (245, 245, 240))
    # iris and pupil, clipped to the eye opening (worked on the eye's bounding box only)
    px = eye @ M[:, :2].T + M[:, 2]
    x0, y0 = np.maximum(np.floor(px.min(0)).astype(int) - 2, 0)
    x1, y1 = np.ceil(px.max(0)).astype(int) + 3
    roi = img[y0:y1, x0:x1]
    if roi.size == 0:
        return
    Mr = M.copy()
    Mr[:, 2] -= (x0, y0)
    mask = np.zeros(roi.shape[:2], np.uint8)
    _fill(mask, eye, Mr, (255,))
    layer = roi.copy()
    ix = ex + gaze * w * 0.25
    _fill(layer, _ellipse(ix, ey, w * 0.48, w * 0.48), Mr, ident.iris)
    _fill(layer, _ellipse(ix, ey, w * 0.22, w * 0.22), Mr, (15, 12, 12))
    _fill(layer, _ellipse(ix + w * 0.15, ey - w * 0.15, w * 0.08, w * 0.08), Mr, (250, 250, 250))
    sel = mask > 0
    roi[sel] = layer[sel]
    _line(img, upper, M, (35, 25, 22), max(1.5, r * 0.045))  # upper lid + lashes
    _line(img, lower, M, _shade(skin, 0.6), max(1, r * 0.015))


def _draw_mouth(img: np.ndarray, M: np.ndarray, ident: FaceIdentity, valence: float, arousal: float, r: float) -> None:
    my, mw = ident.mouth_y, ident.mouth_w
    curve = 0.16 * valence            # smile lifts the corners, frown lowers them
    gap = max(0.0, 0.12 * (arousal + 0.3))  # open mouth with arousal
    xs = np.linspace(-mw, mw, 21)
    u = (xs / mw) ** 2
    mid = my + curve * (1 - u) - curve * 0.3  # corners at my - 0.3 curve ... centre lower when smiling
    upper_out = mid - 0.07 * (1 - u) - gap * 0.5 * (1 - u)
    upper_in = mid - gap * 0.5 * (1 - u)
    lower_in = mid + gap * 0.5 * (1 - u)
    lower_out = mid + 0.09 * (1 - u) + gap * 0.5 * (1 - u)
    if gap > 0.01:
        _fill(img, np.concatenate([np.stack([xs, upper_in], 1), np.stack([xs, lower_in], 1)[::-1]]), M, (70, 25, 30))
        teeth = np.concatenate([np.stack([xs * 0.7, upper_in * 0 + (upper_in.min() + 0.005)], 1)[:1],
                                np.stack([xs * 0.7, np.minimum(upper_in + gap * 0.35, lower_in)], 1),
                                np.stack([xs * 0.7, upper_in], 1)[::-1]])
        _fill(img, teeth, M, (235, 232, 225))
    _fill(img, np.concatenate([np.stack([xs, upper_out], 1), np.stack([xs, upper_in], 1)[::-1]]), M, ident.lips)
    _fill(img, np.concatenate([np.stack([xs, lower_in], 1), np.stack([xs, lower_out], 1)[::-1]]), M,
          _shade(ident.lips, 1.08))
    _line(img, np.stack([xs, (upper_in + lower_in) / 2], 1), M, _shade(ident.lips, 0.5), max(1, r * 0.02))
    if valence > 0.3:  # cheek folds of a smile
        for sx in (-1, 1):
            _line(img, np.array([[sx * (mw + 0.12), my - 0.3], [sx * (mw + 0.1), my - curve * 0.3]]), M,
                  _shade(ident.skin, 0.75), max(1, r * 0.02))


def _draw_brows(img: np.ndarray, M: np.ndarray, ident: FaceIdentity, valence: float, arousal: float, r: float) -> None:
    raise_ = 0.1 * arousal
    knit = 0.07 * max(0.0, -valence)  # inner ends pulled down when unhappy
    for sx in (-1, 1):
        ex = sx * ident.eye_dx
        by = ident.eye_y - 0.26 - raise_
        pts = np.array([[ex - sx * 0.22, by + knit], [ex, by - 0.05], [ex + sx * 0.24, by + 0.02]])
        _line(img, pts, M, _shade(ident.hair, 0.8), max(2, r * 0.075))


def _draw_hand(img: np.ndarray, M: np.ndarray, ident: FaceIdentity, at: tuple[float, float], r: float) -> None:
    skin = _shade(ident.skin, 1.04)
    hx, hy = at
    _fill(img, _ellipse(hx, hy + 0.25, 0.55, 0.5), M, skin)  # palm
    for dx, ln in ((-0.45, 0.5), (-0.15, 0.65), (0.15, 0.7), (0.42, 0.6)):
        p = np.array([[hx + dx, hy + 0.1], [hx + dx * 1.1, hy - ln]])
        _line(img, p, M, _shade(skin, 0.7), r * 0.3)  # finger outline
        _line(img, p, M, skin, r * 0.24)
        _fill(img, _ellipse(hx + dx * 1.1, hy - ln + 0.02, 0.05, 0.04), M, _shade(skin, 1.1))  # nail
    _line(img, np.array([[hx + 0.5, hy + 0.45], [hx + 0.8, hy + 0.05]]), M, skin, r * 0.26)  # thumb
    _line(img, np.array([[hx - 0.3, hy + 0.6], [hx - 0.2, hy + 0.3]]), M, _shade(skin, 0.8), r * 0.02)
    _fill(img, np.array([[hx - 0.4, hy + 0.6], [hx + 0.4, hy + 0.6], [hx + 0.5, hy + 2.5], [hx - 0.5, hy + 2.5]]),
          M, _shade(ident.shirt, 0.9))  # forearm sleeve


def _draw_object(img: np.ndarray, M: np.ndarray, kind: int, at: tuple[float, float], r: float) -> None:
    ox, oy = at
    if kind == 0:  # mug
        body = np.array([[ox - 0.5, oy - 0.55], [ox + 0.5, oy - 0.55], [ox + 0.45, oy + 0.6], [ox - 0.45, oy + 0.6]])
        _line(img, _ellipse(ox + 0.55, oy, 0.25, 0.28, -90, 90), M, (200, 60, 50), r * 0.12)
        _fill(img, body, M, (200, 60, 50))
        _fill(img, _ellipse(ox, oy - 0.55, 0.5, 0.1), M, (120, 30, 25))
    elif kind == 1:  # book
        _fill(img, np.array([[ox - 0.8, oy - 0.7], [ox + 0.8, oy - 0.7], [ox + 0.8, oy + 0.7], [ox - 0.8, oy + 0.7]]),
              M, (40, 80, 150))
        _line(img, np.array([[ox - 0.5, oy - 0.3], [ox + 0.5, oy - 0.3]]), M, (230, 220, 120), r * 0.06)
    else:  # phone
        _fill(img, np.array([[ox - 0.4, oy - 0.8], [ox + 0.4, oy - 0.8], [ox + 0.4, oy + 0.8], [ox - 0.4, oy + 0.8]]),
              M, (25, 25, 30))
        _fill(img, np.array([[ox - 0.33, oy - 0.7], [ox + 0.33, oy - 0.7], [ox + 0.33, oy + 0.65],
                             [ox - 0.33, oy + 0.65]]), M, (70, 110, 160))


def render_face(ident: FaceIdentity, valence: float = 0.0, arousal: float = 0.0, *, eye_open: float = 1.0,
                width: int = 320, height: int = 240, dx: float = 0.0, dy: float = 0.0, roll: float = 0.0,
                scale: float = 1.0, light: float = 1.0, light_side: float = 0.0, gaze: float = 0.0,
                scene: str = "face", occluder: str | None = None, occluder_at: tuple[float, float] = (0.0, 0.45),
                object_kind: int = 0) -> np.ndarray:
    """Draw one RGB frame of a synthetic person.

    Parameters
    ----------
    ident : FaceIdentity
        From :func:`make_identity`.
    valence, arousal : float
        Displayed affect in [-1, 1].
    eye_open : float
        1 = normal, 0 = closed (blink).
    width, height : int
        Frame size in pixels.
    dx, dy : float
        Head offset from the frame centre, as fractions of width / height.
    roll : float
        Head roll in degrees.
    scale : float
        Head size relative to the identity's size.
    light : float
        Global brightness factor.
    light_side : float
        Left-right lighting gradient (-1..1).
    gaze : float
        Horizontal iris offset (-1..1).
    scene : {"face", "empty", "away"}
        ``"empty"``: nobody in the frame; ``"away"``: back of the head.
    occluder : {None, "hand", "object"}
        Drawn over the face at ``occluder_at`` (face coordinates).
    object_kind : int
        0 mug, 1 book, 2 phone.

    Returns
    -------
    numpy.ndarray
        ``(height, width, 3)`` uint8 RGB image.
    """
    if scene not in ("face", "empty", "away"):
        raise ValueError(f"scene must be 'face', 'empty' or 'away', got {scene!r}")
    valence, arousal = float(np.clip(valence, -1, 1)), float(np.clip(arousal, -1, 1))
    wall, empty = _backgrounds(ident, width, height)
    r = ident.size * height * scale
    cx, cy = width * (0.5 + dx), height * (0.46 + dy)
    if scene == "empty":
        img = empty.copy()
    else:
        img = wall.copy()
        M = _pose_matrix(cx, cy, r, roll)
        if scene == "away":
            _fill(img, _ellipse(0, -0.05, 1.1, ident.aspect * 1.05), M, ident.hair)
            _line(img, _ellipse(0, -0.1, 0.8, ident.aspect * 0.8, 200, 340), M, _shade(ident.hair, 1.3), r * 0.05)
        else:
            _paste_sprite(img, ident, r, cx, cy, roll)
            for sx in (-1, 1):
                _draw_eye(img, M, ident, sx, eye_open * (1 + 0.35 * arousal), r, gaze)
            _draw_brows(img, M, ident, valence, arousal, r)
            _draw_mouth(img, M, ident, valence, arousal, r)
            if occluder == "hand":
                _draw_hand(img, M, ident, occluder_at, r)
            elif occluder == "object":
                _draw_object(img, M, object_kind, occluder_at, r)
            elif occluder is not None:
                raise ValueError(f"occluder must be None, 'hand' or 'object', got {occluder!r}")
    if light != 1.0 or light_side:
        gain = (light * (1 + 0.25 * light_side * _xramp(width)))[None, :, None]
        img = np.clip(img * gain, 0, 255).astype(np.uint8)
    return img


@lru_cache(maxsize=8)
def _xramp(width: int) -> np.ndarray:
    return np.linspace(-1, 1, width, dtype=np.float32)


def _paste_sprite(img: np.ndarray, ident: FaceIdentity, r: float, cx: float, cy: float, roll: float) -> None:
    """Warp the identity's static head onto ``img`` (alpha-blended, in place)."""
    base = max(8, int(round(r)))
    rgb, alpha = _head_sprite(ident, base)
    s = r / base
    M = cv2.getRotationMatrix2D((rgb.shape[1] / 2, rgb.shape[0] / 2), -roll, s)
    M[0, 2] += cx - rgb.shape[1] / 2
    M[1, 2] += cy - rgb.shape[0] / 2
    # warp only the bounding box the head can reach, not the whole frame
    h, w = img.shape[:2]
    half = int(2.05 * r) + 2  # the sprite spans ±2 r around the face centre
    x0, y0 = max(0, int(cx) - half), max(0, int(cy) - half)
    x1, y1 = min(w, int(cx) + half), min(h, int(cy) + half)
    if x0 >= x1 or y0 >= y1:
        return
    M[0, 2] -= x0
    M[1, 2] -= y0
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpAffine(rgb, M, size, flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0))
    a = cv2.warpAffine(alpha, M, size, flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0)).astype(np.float32) / 255.0
    roi = img[y0:y1, x0:x1]
    roi[:] = cv2.blendLinear(warped, roi, a, 1.0 - a)
