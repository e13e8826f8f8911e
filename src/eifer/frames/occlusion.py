"""Second occlusion cue: appearance change of landmark-anchored skin patches.

The hand model only sees hands; cups, phones, hair or a sleeve in front of the
face are not hands. The face mesh still *predicts* landmarks under an occluder,
so we sample the colour of small patches at skin landmarks (forehead, cheeks,
nose, chin, jaw: away from eyes and mouth, which change with expression) and
compare each to its own running reference (median-initialised, then an
exponential moving average of unoccluded frames, so slow lighting drift is
followed). A global shift shared by all patches (lighting) is removed first;
the frame is flagged when at least two patches deviate by more than
``threshold`` robust scale units. (A texture/gradient feature was tried: it
caught more skin-coloured hands but also flagged blinks and 2 % of clean
frames, so it is not used.)
"""
from __future__ import annotations

import cv2
import numpy as np

from eifer.config import DEFAULTS
from eifer.frames.landmarks import eye_line

# forehead, between brows, nose bridge, nose side L/R, cheeks L/R (x2), chin, jaw L/R
SKIN_POINTS = (151, 9, 6, 48, 278, 50, 280, 205, 425, 152, 172, 397)


class AppearanceTracker:
    """Running per-patch colour reference for one video.

    Parameters
    ----------
    threshold : float
        Deviation (robust scale units) that flags a patch.
    min_patches : int
        Flagged patches that make the frame occluded.
    warmup : int
        Frames whose median colour starts the reference (nothing is flagged before).
    alpha : float
        Weight of each unoccluded frame in the moving reference.
    floor : float
        Smallest scale, in Lab units: below it no change is meaningful (compression noise).
    """

    def __init__(self, threshold: float = DEFAULTS.frames.appearance_threshold,
                 min_patches: int = DEFAULTS.frames.appearance_min_patches,
                 warmup: int = DEFAULTS.frames.appearance_warmup, alpha: float = DEFAULTS.frames.appearance_alpha,
                 floor: float = DEFAULTS.frames.appearance_floor):
        self.threshold = threshold
        self.min_patches = min_patches
        self.warmup, self.alpha, self.floor = int(warmup), float(alpha), float(floor)
        self._warm: list[np.ndarray] = []
        self.mu: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    @staticmethod
    def patch_colours(rgb: np.ndarray, pts: np.ndarray) -> np.ndarray:
        """Mean Lab colour of a small square around each skin landmark, shape (P, 3)."""
        h, w = rgb.shape[:2]
        r = max(1, int(eye_line(pts)[2] / 12))
        xy = np.round(pts[list(SKIN_POINTS)]).astype(int)
        x0 = np.clip(xy[:, 0] - r, 0, w - 2)
        y0 = np.clip(xy[:, 1] - r, 0, h - 2)
        k = 2 * r + 1
        # all patches in one array (P, k, k, 3); patches at the border are shifted inside
        x0 = np.minimum(x0, w - k) if w > k else np.zeros_like(x0)
        y0 = np.minimum(y0, h - k) if h > k else np.zeros_like(y0)
        patches = np.stack([rgb[y:y + k, x:x + k] for x, y in zip(x0, y0)]).astype(np.float32)
        mean = patches.mean(axis=(1, 2))
        return cv2.cvtColor(mean[None] / 255.0, cv2.COLOR_RGB2LAB)[0].astype(np.float64)

    def update(self, rgb: np.ndarray, pts: np.ndarray) -> bool:
        """Return True when this frame looks occluded; learn from it otherwise."""
        x = self.patch_colours(rgb, pts)
        if self.mu is None:
            self._warm.append(x)
            if len(self._warm) >= self.warmup:
                stack = np.stack(self._warm)
                self.mu = np.median(stack, axis=0)
                self.scale = np.maximum(np.median(np.abs(stack - self.mu), axis=0) * 1.4826, self.floor)
                self._warm = []
            return False
        assert self.mu is not None and self.scale is not None  # set at the end of the warm-up
        d = x - self.mu
        d -= np.median(d, axis=0)  # shared lighting change
        z = np.max(np.abs(d) / self.scale, axis=1)
        occluded = int(np.sum(z > self.threshold)) >= self.min_patches
        if not occluded:
            self.mu += self.alpha * (x - self.mu)
            self.scale = np.maximum((1 - self.alpha) * self.scale + self.alpha * 1.4826 * np.abs(x - self.mu),
                                    self.floor)
        return occluded
