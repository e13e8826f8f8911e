"""The one function that cuts an aligned face crop (eyes level, fixed margin).

Both the in-stream affect estimators and the stored training crops use
:func:`align_crop`, so a model sees the same geometry in training and in
estimation, only at a different resolution.
"""
from __future__ import annotations

import cv2
import numpy as np

# Where the eye midpoint sits in the crop (fraction of height from the top) and
# how wide the eye distance is relative to the face width before the margin.
_EYE_Y = 0.40
_IOD_FRACTION = 0.45


def align_crop(rgb: np.ndarray, eye_l: tuple[float, float], eye_r: tuple[float, float],
               size: int = 256, margin: float = 0.35) -> np.ndarray:
    """Rotate/scale so the eyes are level and cut a square ``size`` × ``size`` crop.

    Parameters
    ----------
    rgb : ndarray[H, W, 3] uint8
    eye_l, eye_r : (x, y)
        Image-left and image-right eye centres in pixels.
    size : int
        Output side in pixels.
    margin : float
        Extra context around the face as a fraction of the face width
        (0 = tight crop, 0.35 = default).

    Returns
    -------
    ndarray[size, size, 3] uint8 (border pixels replicated where the crop leaves the image)

    Examples
    --------
    >>> import numpy as np
    >>> align_crop(np.zeros((120, 160, 3), np.uint8), (60, 50), (100, 50), size=64).shape
    (64, 64, 3)
    """
    el = np.asarray(eye_l, dtype=np.float64)
    er = np.asarray(eye_r, dtype=np.float64)
    d = er - el
    iod = float(np.hypot(*d))
    if not np.isfinite(iod) or iod < 1.0:
        raise ValueError(f"eye centres {tuple(el)} / {tuple(er)} are too close to align a crop")
    angle = np.degrees(np.arctan2(d[1], d[0]))
    face_w = iod / _IOD_FRACTION
    scale = size / (face_w * (1.0 + margin))
    centre = (el + er) / 2.0
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), float(scale))
    # Move the eye midpoint to its place in the output crop.
    m[0, 2] += size * 0.5 - centre[0]
    m[1, 2] += size * _EYE_Y - centre[1]
    return cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
