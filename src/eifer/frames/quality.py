"""Frame quality rule: ``valid`` and one ``reason`` per dropped frame.

Reasons, in order of precedence (a frame gets the first that applies):
``no_face`` (neither the detector nor the mesh tracker finds a face), ``occluded`` (any occlusion cue), ``low_confidence``
(detector score or mesh agreement below threshold, or no mesh), ``eyes_closed``
(mean eye aspect ratio below the threshold). An occluder is the more specific
explanation of a low score, and landmarks under an occluder are guesses, so
occlusion wins over both.

Occlusion cues (``occlusion_cue`` names the first that fired):

* ``hand`` — a hand box covers the face box (MediaPipe Hands, in-stream);
* ``appearance`` — skin patches changed colour/texture (in-stream, see
  :mod:`eifer.frames.occlusion`);
* ``detector_drop`` — the face detector's score fell more than ``det_drop``
  below the participant's median score. A partly covered face keeps its
  landmarks (the mesh guesses them) but loses detector confidence; the
  reference is per participant because one short video can be mostly occluded.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

REASONS = ("no_face", "low_confidence", "occluded", "eyes_closed")


def adaptive_ear_threshold(frames: pd.DataFrame, fraction: float = 0.6) -> float:
    """Per-participant eye-closure threshold: ``fraction`` × median EAR of confident face frames.

    People's open-eye EAR differs (eye shape, camera angle); a fixed threshold
    drops all frames of narrow-eyed participants and no blinks of wide-eyed
    ones. Eyes are open most of the time, so the median is the open-eye level.

    Parameters
    ----------
    frames : DataFrame
        One participant's frames with ``ear_left``, ``ear_right``, ``landmarks_found``.
    fraction : float

    Returns
    -------
    float (NaN when there are no landmark frames)

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ear_left": [0.3, 0.3, 0.05], "ear_right": [0.3, 0.3, 0.05],
    ...                    "landmarks_found": [True, True, True]})
    >>> round(adaptive_ear_threshold(df, 0.5), 3)
    0.15
    """
    ear = ((frames["ear_left"] + frames["ear_right"]) / 2)[frames["landmarks_found"].astype(bool)]
    ear = ear.dropna()
    return float(fraction * ear.median()) if len(ear) else float("nan")


def apply_quality(frames: pd.DataFrame, min_detection_confidence: float = 0.5,
                  min_landmark_confidence: float = 0.5, ear_threshold: float = 0.18,
                  det_reference: float | None = None, det_drop: float = 0.06) -> pd.DataFrame:
    """Set ``occluded``, ``occlusion_cue``, ``valid``, ``reason``; NaN the estimates of dropped frames.

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
    """
    out = frames.copy()
    face = out["face_found"].astype(bool)
    if det_reference is None:
        det_reference = float(out.loc[face, "det_score"].median()) if face.any() else np.nan
    cue = out["stream_cue"].astype(str).to_numpy(object).copy()
    if det_drop > 0 and np.isfinite(det_reference):
        # a face only the mesh tracker still holds (detector lost it) counts as score 0
        score = out["det_score"].fillna(0.0)
        dropped = (score < det_reference - det_drop).to_numpy() & face.to_numpy() & (cue == "")
        cue[dropped] = "detector_drop"
    out["occlusion_cue"] = cue
    out["occluded"] = cue != ""
    out["det_reference"] = det_reference
    ear = (out["ear_left"] + out["ear_right"]) / 2
    rules = [
        ("no_face", ~face),
        ("occluded", out["occluded"]),
        # a face only the mesh tracker holds (no detector score) is never trusted on its own
        ("low_confidence", (out["det_score"] < min_detection_confidence) | out["det_score"].isna()
         | ~out["landmarks_found"].astype(bool) | (out["landmark_score"] < min_landmark_confidence)),
        ("eyes_closed", ear < ear_threshold),
    ]
    reason = np.full(len(out), "", dtype=object)
    for name, mask in reversed(rules):  # earlier rules overwrite later ones
        reason[mask.fillna(False).to_numpy(bool)] = name
    out["reason"] = reason
    out["valid"] = out["reason"] == ""
    out["ear_threshold"] = float(ear_threshold)
    for col in ("valence", "arousal"):
        if f"est_{col}" in out:  # in-stream estimates exist for every usable frame
            out[col] = out[f"est_{col}"]
        if col in out:
            out.loc[~out["valid"], col] = np.nan
    # A frame that became valid (new per-participant references) without an
    # estimate makes the stored estimates stale: the affect stage redoes them.
    if "affect_source" in out and "valence" in out and (out["valid"] & out["valence"].isna()).any():
        out["affect_source"] = ""
    return out
