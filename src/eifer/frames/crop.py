"""The one function that cuts an aligned face crop (eyes level, fixed margin).

Both the affect estimators' input crops and the stored training crops use
:func:`align_crop`; their geometry is set by the stage that uses them
(``affect.crop_*`` and ``select.crop_*``, the same by default), so a model
sees the same geometry in training and in estimation, only at a different
resolution.
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from eifer.config import DEFAULTS


def align_crop(rgb: np.ndarray, eye_l: tuple[float, float], eye_r: tuple[float, float],
               size: int = DEFAULTS.select.crop_size, margin: float = DEFAULTS.select.crop_margin,
               eye_y: float = DEFAULTS.select.crop_eye_y,
               iod_fraction: float = DEFAULTS.select.crop_iod_fraction) -> np.ndarray:
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
        (0 = tight crop; ``select.crop_margin`` / ``affect.crop_margin``).
    eye_y : float
        Height of the eye midpoint in the crop, as a fraction from the top.
    iod_fraction : float
        Eye distance as a fraction of the face width (before the margin).

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
    face_w = iod / iod_fraction
    scale = size / (face_w * (1.0 + margin))
    centre = (el + er) / 2.0
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), float(scale))
    # Move the eye midpoint to its place in the output crop.
    m[0, 2] += size * 0.5 - centre[0]
    m[1, 2] += size * eye_y - centre[1]
    return cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def estimator_crop(rgb: np.ndarray, eye_l: tuple[float, float], eye_r: tuple[float, float],
                   estimator: Any) -> np.ndarray:
    """The input crop of an image affect estimator: :func:`align_crop` at its ``input_size`` and crop geometry.

    The geometry is the estimator's (``crop_margin``, ``crop_eye_y``,
    ``crop_iod_fraction``, set from ``affect.crop_*``; an estimator without
    them gets the ``affect`` defaults), so the frames stage's decode pass and the
    affect stage's re-read cut the same crops.

    Examples
    --------
    >>> import numpy as np
    >>> class Est:
    ...     input_size = 32
    >>> estimator_crop(np.zeros((120, 160, 3), np.uint8), (60, 50), (100, 50), Est()).shape
    (32, 32, 3)
    """
    a = DEFAULTS.affect
    return align_crop(rgb, eye_l, eye_r, estimator.input_size, getattr(estimator, "crop_margin", a.crop_margin),
                      getattr(estimator, "crop_eye_y", a.crop_eye_y),
                      getattr(estimator, "crop_iod_fraction", a.crop_iod_fraction))
