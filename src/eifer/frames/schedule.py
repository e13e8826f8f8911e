"""When the face detector runs, and what the frames in between carry.

The face mesh runs on every frame in tracking mode and already follows the
face; the separate face detector (BlazeFace) is what gives each frame its
``det_score``, its box and, by agreeing with the mesh, its ``landmark_score``.
Running both on every frame costs more than decoding and detecting together,
so the detector runs every ``stride``-th frame and at once when anything looks
off, with the same look-back rule as the hand checks:

* a check is due every ``stride`` frames, on every frame after an abnormal
  check (so an episode's end is exact), on the first frame without a mesh and
  on the first frame the mesh finds a face again;
* during a stretch without any face (no mesh, no detection), frames in
  between are simply no-face frames: without a mesh a frame is unusable
  whatever the detector says, so there is nothing to look back for (the only
  difference a check could make is ``no_face`` vs ``low_confidence``);
* frames in between *carry* the last normal check: its score, its landmark
  score, and its box moved and scaled with the mesh's eyes;
* a check is **abnormal** when no face is detected, the score or landmark
  score is within ``margin`` of its threshold, or the score fell more than
  ``margin`` below the video's running median of normal checks (the
  detector-drop occlusion cue fires at ``det_drop`` below the participant
  median; ``margin`` is half of it; abnormal checks stay out of the median, so
  a long episode does not become the reference). It has **jumped** when its
  score differs from the previous normal check by more than ``det_drop``.
  Either way the carried frames since the previous check are checked one by
  one ("look-back"), so the onset of a drop is found exactly. Otherwise the
  carried frames get the lower of the two bracketing checks (the
  conservative value for the quality rule).

Only an abnormal episode that starts *and* ends between two checks (shorter
than ``stride`` frames) can be missed. ``det_checked`` in ``frames.parquet``
says which frames had the detector run; ``stride = 1`` checks every frame.

Examples
--------
>>> s = DetectorSchedule(stride=3)
>>> s.due(pts=None)  # no mesh and nothing known yet: the detector must look
True
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from eifer.config import DEFAULTS
from eifer.frames.landmarks import eye_line

if TYPE_CHECKING:
    from eifer.frames.analyzer import _Frame


def _eyes(pts: np.ndarray) -> tuple[np.ndarray, float]:
    el, er, iod = eye_line(pts)
    return (el + er) / 2.0, iod


class DetectorSchedule:
    """Per-video detector schedule (see module docstring).

    Parameters
    ----------
    stride : int
        Detector every ``stride``-th frame when all is normal (1 = every frame).
    min_detection_confidence, min_landmark_confidence : float
        The quality rule's thresholds; checks near them are abnormal.
    det_drop : float
        The detector-drop occlusion threshold; the look-back margin is half of
        it (at least 0.02).
    """

    _BOX = ("bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1")

    def __init__(self, stride: int = DEFAULTS.frames.detect_stride,
                 min_detection_confidence: float = DEFAULTS.frames.min_detection_confidence,
                 min_landmark_confidence: float = DEFAULTS.frames.min_landmark_confidence,
                 det_drop: float = DEFAULTS.frames.occlusion_det_drop):
        if stride < 1:
            raise ValueError(f"detect_stride must be >= 1, got {stride}")
        self.stride = int(stride)
        self.min_det = float(min_detection_confidence)
        self.min_land = float(min_landmark_confidence)
        self.margin = max(0.02, float(det_drop) / 2.0)
        self._scores: deque[float] = deque(maxlen=301)
        self._last: dict[str, Any] | None = None  # last normal check
        self._unchecked: list = []  # items carried since the last check
        self._no_face = False  # the last check found no face at all
        self._skipped = 0  # no-face frames since that check

    def due(self, pts: np.ndarray | None) -> bool:
        """True when this frame (mesh landmarks ``pts``) needs a detector check."""
        if self.stride == 1:
            return True
        if pts is None:
            return not self._no_face or self._skipped >= self.stride - 1
        return self._last is None or len(self._unchecked) >= self.stride - 1

    def carry(self, item: _Frame) -> None:
        """Fill an unchecked frame's record from the last normal check, moved with the mesh."""
        if item.pts is None:  # inside a no-face stretch: the record stays empty
            self._skipped += 1
            return
        last, rec = self._last, item.rec
        assert last is not None  # due() asks for a check until there is one
        centre, iod = _eyes(item.pts)
        box = centre + (np.asarray(last["box"]).reshape(2, 2) - last["centre"]) * (iod / last["iod"])
        rec.update(face_found=True, det_score=last["score"], landmark_score=last["landmark_score"],
                   **dict(zip(self._BOX, map(float, box.ravel()))))
        self._unchecked.append(item)

    def observe(self, rec: dict[str, Any], pts: np.ndarray | None) -> bool:
        """Take in a checked frame's record; True when the carried frames must be looked back at."""
        score, lscore = rec["det_score"], rec["landmark_score"]
        ref = float(np.median(self._scores)) if self._scores else np.nan
        abnormal = (not np.isfinite(score) or score < self.min_det + self.margin
                    or (pts is not None and not (lscore >= self.min_land + self.margin))
                    or score < ref - self.margin)
        # a jump of a whole det_drop between checks (e.g. the end of an episode the reference had absorbed)
        jumped = self._last is not None and not abs(score - self._last["score"]) <= 2 * self.margin
        look_back = bool(self._unchecked) and (abnormal or jumped)
        if not look_back:
            for item in self._unchecked:
                item.rec["det_score"] = min(item.rec["det_score"], score)
                item.rec["landmark_score"] = min(item.rec["landmark_score"], lscore)
            self._unchecked.clear()
        if not abnormal:  # the reference is the normal level: an episode must not pull it down
            self._scores.append(float(score))
        self._no_face, self._skipped = pts is None and not np.isfinite(score), 0
        self._last = None
        if not abnormal and pts is not None:
            centre, iod = _eyes(pts)
            self._last = {"score": score, "landmark_score": lscore, "centre": centre, "iod": iod,
                          "box": [rec[k] for k in self._BOX]}
        return look_back

    def pop_last_unchecked(self) -> _Frame | None:
        """The newest carried frame, removed from the carried list (None when there is none).

        At the end of a video there is no next check to bracket the last
        carried frames: the caller checks this one, which settles the rest.
        """
        return self._unchecked.pop() if self._unchecked else None

    def take_unchecked(self) -> list:
        """The carried frames since the last check (for look-back); the list is emptied."""
        items, self._unchecked = self._unchecked, []
        return items
