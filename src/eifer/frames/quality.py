"""Frame quality rule: ``valid`` and one ``reason`` per dropped frame.

Reasons, in order of precedence (a frame gets the first that applies):

1. ``no_face`` — neither the detector nor the mesh tracker finds a face, or
   only a detection below ``min_detection_confidence`` that the face mesh does
   not confirm (no landmarks): a weak, unconfirmed box is no evidence of a face;
2. ``low_confidence`` — a detection at or above ``min_detection_confidence``
   without landmarks. With no landmarks there is nothing an occluder could be
   said to cover, so such a frame is **never** ``occluded`` (a bowed head or
   blurred title letters fire the detector but not the mesh);
3. ``occluded`` — any occlusion cue on a face with landmarks;
4. ``low_confidence`` — detector score or mesh agreement below threshold, or a
   face only the mesh tracker holds (no detector score);
5. ``eyes_closed`` — mean eye aspect ratio below the (per-participant) threshold.

An occluder is the more specific explanation of a low score on a face that has
landmarks, and landmarks under an occluder are guesses, so rule 3 wins over 4.
The ``occluded`` column is true exactly for frames whose reason is ``occluded``.

Occlusion cues (``occlusion_cue`` names the first that fired):

* ``hand`` — a hand box covers the face box (MediaPipe Hands, in-stream); a
  hand found in frame *t* keeps frames *t ± k* flagged (``hand_keep``), which
  fills the gap when the hand model misses a single frame;
* ``appearance`` — skin patches changed colour/texture (in-stream, see
  :mod:`eifer.frames.occlusion`);
* ``detector_drop`` — the face detector's score fell more than ``det_drop``
  below the participant's median score. A partly covered face keeps its
  landmarks (the mesh guesses them) but loses detector confidence; the
  reference is per participant because one short video can be mostly occluded.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from eifer._validation import require_columns
from eifer.config import DEFAULTS

if TYPE_CHECKING:
    from eifer.config import FramesConfig

REASONS = ("no_face", "low_confidence", "occluded", "eyes_closed")


def hand_keep_frames(cfg: FramesConfig) -> int:
    """Frames kept flagged on each side of a hand detection: ``frames.hand_keep_frames``.

    ``None`` (the default) derives it from the hand stride: ``max(1, hand_stride // 5)``
    (2 at the default stride 10): enough to bridge one or two frames the hand
    model misses, small against an occlusion episode.

    Examples
    --------
    >>> from eifer.config import FramesConfig
    >>> hand_keep_frames(FramesConfig()), hand_keep_frames(FramesConfig(hand_keep_frames=0))
    (2, 0)
    """
    k = getattr(cfg, "hand_keep_frames", None)
    return max(1, int(cfg.hand_stride) // 5) if k is None else int(k)


def mean_ear(frames: pd.DataFrame) -> pd.Series:
    """Mean of the two eyes' aspect ratios (NaN without landmarks)."""
    return (frames["ear_left"] + frames["ear_right"]) / 2


def adaptive_ear_threshold(frames: pd.DataFrame, fraction: float = DEFAULTS.frames.adaptive_ear_fraction,
                           floor: float = DEFAULTS.frames.adaptive_ear_floor,
                           ceiling: float = DEFAULTS.frames.adaptive_ear_ceiling,
                           min_frames: int = DEFAULTS.frames.adaptive_ear_min_frames,
                           reference_quantile: float = DEFAULTS.frames.adaptive_ear_reference_quantile,
                           shut_split: float = DEFAULTS.frames.adaptive_ear_shut_split) -> float:
    """Per-participant eye-closure threshold from the participant's own open-eye EAR.

    People's open-eye EAR differs (eye shape, camera angle, a smile narrows the
    eyes); a fixed threshold drops the open eyes of narrow-eyed participants and
    misses the blinks of wide-eyed ones. The open-eye level is found robustly in
    two steps: a first split at ``shut_split`` (half) of the ``reference_quantile``
    (90th percentile) removes shut eyes (a
    shut eye's EAR is well under half an open one's), so many blinks do not
    drag the level down; the level is the median of the rest (the open-eye
    cluster), so a participant who squints part of the time is measured on
    her own eyes. The threshold is ``fraction`` × that level, clipped to
    ``[floor, ceiling]`` so no participant gets an absurd rule.

    Parameters
    ----------
    frames : DataFrame
        One participant's frames (all videos) with ``ear_left``, ``ear_right``, ``landmarks_found``.
    fraction : float
        Share of the open-eye level below which eyes count as closed.
    floor, ceiling : float
        Bounds of the returned threshold.
    min_frames : int
        Fewer landmark frames than this: NaN (too little to learn from; the
        caller uses the fixed threshold).
    reference_quantile, shut_split : float
        EARs below ``shut_split`` × the ``reference_quantile`` of the participant's
        EAR are shut eyes and are left out of the open-eye level; an EAR exactly
        at the split counts as open.

    Returns
    -------
    float (NaN when there are fewer than ``min_frames`` landmark frames)

    Examples
    --------
    >>> import pandas as pd
    >>> ear = [0.30] * 40 + [0.05] * 20          # many blinks do not lower the open level
    >>> df = pd.DataFrame({"ear_left": ear, "ear_right": ear, "landmarks_found": True})
    >>> round(adaptive_ear_threshold(df, 0.5), 3)
    0.15
    >>> adaptive_ear_threshold(df.head(10))      # too few frames to learn from
    nan
    """
    ear = mean_ear(frames)[frames["landmarks_found"].astype(bool)].dropna()
    if len(ear) < max(1, min_frames):
        return float("nan")
    open_eyes = ear[ear >= shut_split * float(ear.quantile(reference_quantile))]
    return float(np.clip(fraction * float(open_eyes.median()), floor, ceiling))


def _dilate_hand(cue: np.ndarray, frames: pd.DataFrame, keep: int) -> np.ndarray:
    """Spread the ``hand`` cue to ``keep`` frames on each side, within each video, onto face frames."""
    hand = cue == "hand"
    if keep <= 0 or not hand.any():
        return cue
    keys = [c for c in ("participant_id", "video_id") if c in frames]
    order = np.lexsort([frames["frame"].to_numpy()] + [frames[c].astype(str).to_numpy() for c in reversed(keys)]) \
        if "frame" in frames else np.arange(len(frames))
    group = (frames.groupby(keys, sort=False).ngroup().to_numpy()[order] if keys
             else np.zeros(len(frames), int))
    h = hand[order]
    spread = h.copy()
    for s in range(1, keep + 1):
        same_prev = group[s:] == group[:-s]
        spread[s:] |= h[:-s] & same_prev
        spread[:-s] |= h[s:] & same_prev
    out = cue.copy()
    target = np.zeros(len(cue), bool)
    target[order] = spread
    ok = frames["face_found"].astype(bool).to_numpy() & frames["landmarks_found"].astype(bool).to_numpy()
    out[target & ok & (cue == "")] = "hand"
    return out


def apply_quality(frames: pd.DataFrame,
                  min_detection_confidence: float = DEFAULTS.frames.min_detection_confidence,
                  min_landmark_confidence: float = DEFAULTS.frames.min_landmark_confidence,
                  ear_threshold: float = DEFAULTS.frames.ear_threshold, det_reference: float | None = None,
                  det_drop: float = DEFAULTS.frames.occlusion_det_drop, hand_keep: int = 0) -> pd.DataFrame:
    """Set ``occluded``, ``occlusion_cue``, ``valid``, ``reason``.

    A pure function of the raw columns, so it can be re-applied with
    per-participant references (:func:`eifer.frames.finalize_quality`).

    Parameters
    ----------
    frames : DataFrame
        Output of :func:`eifer.frames.extract_video` (raw detection columns,
        ``stream_cue`` = in-stream occlusion cue or "").
    min_detection_confidence, min_landmark_confidence, ear_threshold : float
    det_reference : float, optional
        Typical detector score (default: median over these frames with a face).
    det_drop : float
        Detector-score drop that counts as occlusion (0 disables the cue).
    hand_keep : int
        A ``hand`` cue in frame *t* also flags frames *t ± hand_keep* of the same
        video (frames with landmarks only; 0 = no spreading).

    Returns
    -------
    DataFrame (a copy)

    Examples
    --------
    >>> import pandas as pd, numpy as np
    >>> df = pd.DataFrame({"face_found": [False, True, True], "det_score": [np.nan, .9, .9],
    ...     "landmarks_found": [False, True, True], "landmark_score": [np.nan, .9, .9],
    ...     "stream_cue": "", "ear_left": [np.nan, .3, .05], "ear_right": [np.nan, .3, .05]})
    >>> apply_quality(df)["reason"].tolist()
    ['no_face', '', 'eyes_closed']

    A detection the mesh does not confirm is ``no_face`` below the detector
    threshold, ``low_confidence`` at or above it, never ``occluded``:

    >>> df = pd.DataFrame({"face_found": True, "det_score": [.49, .5, .9], "landmarks_found": False,
    ...     "landmark_score": np.nan, "stream_cue": "hand", "ear_left": np.nan, "ear_right": np.nan})
    >>> apply_quality(df, det_drop=0)["reason"].tolist()
    ['no_face', 'low_confidence', 'low_confidence']
    """
    require_columns(frames, ("face_found", "det_score", "landmarks_found", "stream_cue", "ear_left", "ear_right"),
                    "apply_quality frames", "; pass extract_video() output")
    out = frames.copy()
    face = out["face_found"].astype(bool)
    if det_reference is None:
        det_reference = float(out.loc[face, "det_score"].median()) if face.any() else np.nan
    cue = _dilate_hand(out["stream_cue"].astype(str).to_numpy(object).copy(), out, hand_keep)
    if det_drop > 0 and np.isfinite(det_reference):
        # a face only the mesh tracker still holds (detector lost it) counts as score 0
        score = out["det_score"].fillna(0.0)
        dropped = (score < det_reference - det_drop).to_numpy() & face.to_numpy() & (cue == "")
        cue[dropped] = "detector_drop"
    landmarks = out["landmarks_found"].astype(bool)
    # no landmarks: nothing an occluder could cover (see the module docstring)
    cue[~landmarks.to_numpy()] = ""
    out["occlusion_cue"] = cue
    out["det_reference"] = det_reference
    ear = mean_ear(out)
    weak = (out["det_score"] < min_detection_confidence) | out["det_score"].isna()
    rules = [
        ("no_face", ~face | (weak & ~landmarks)),
        ("low_confidence", ~landmarks),
        ("occluded", pd.Series(cue != "", index=out.index)),
        # a face only the mesh tracker holds (no detector score) is never trusted on its own
        ("low_confidence", weak | (out["landmark_score"] < min_landmark_confidence)),
        ("eyes_closed", ear < ear_threshold),
    ]
    reason = np.full(len(out), "", dtype=object)
    for name, mask in reversed(rules):  # earlier rules overwrite later ones
        reason[mask.fillna(False).to_numpy(bool)] = name
    out["reason"] = reason
    out["occluded"] = out["reason"] == "occluded"
    out["valid"] = out["reason"] == ""
    out["ear_threshold"] = float(ear_threshold)
    # A frame that became valid (new per-participant references) without an
    # in-stream estimate makes them stale: the affect stage redoes them.
    if "affect_source" in out and "est_valence" in out and (out["valid"] & out["est_valence"].isna()).any():
        out["affect_source"] = ""
    return out
