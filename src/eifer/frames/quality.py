"""Frame quality rule: ``valid`` and one ``reason`` per dropped frame.

Reasons, in order of precedence (a frame gets the first that applies):
``no_face`` (no detection), ``low_confidence`` (detector score or mesh
agreement below threshold, or no mesh), ``occluded`` (hand or appearance cue),
``eyes_closed`` (mean eye aspect ratio below the threshold). Occlusion comes
before eye closure because landmarks under an occluder are guesses.
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
                  min_landmark_confidence: float = 0.5, ear_threshold: float = 0.18) -> pd.DataFrame:
    """Set ``valid``, ``reason`` and ``ear_threshold``; NaN the estimates of dropped frames.

    Parameters
    ----------
    frames : DataFrame
        Output of :func:`eifer.frames.extract_video` (raw detection columns).
    min_detection_confidence, min_landmark_confidence, ear_threshold : float

    Returns
    -------
    DataFrame (a copy)

    Examples
    --------
    >>> import pandas as pd, numpy as np
    >>> df = pd.DataFrame({"face_found": [False, True, True], "det_score": [np.nan, .9, .9],
    ...     "landmarks_found": [False, True, True], "landmark_score": [np.nan, .9, .9],
    ...     "occluded": [False, False, False], "ear_left": [np.nan, .3, .05], "ear_right": [np.nan, .3, .05]})
    >>> apply_quality(df)["reason"].tolist()
    ['no_face', '', 'eyes_closed']
    """
    out = frames.copy()
    ear = (out["ear_left"] + out["ear_right"]) / 2
    rules = [
        ("no_face", ~out["face_found"].astype(bool)),
        ("low_confidence", (out["det_score"] < min_detection_confidence) | ~out["landmarks_found"].astype(bool)
         | (out["landmark_score"] < min_landmark_confidence)),
        ("occluded", out["occluded"].astype(bool)),
        ("eyes_closed", ear < ear_threshold),
    ]
    reason = np.full(len(out), "", dtype=object)
    for name, mask in reversed(rules):  # earlier rules overwrite later ones
        reason[mask.fillna(False).to_numpy(bool)] = name
    out["reason"] = reason
    out["valid"] = out["reason"] == ""
    out["ear_threshold"] = float(ear_threshold)
    for col in ("valence", "arousal"):
        if col in out:
            out.loc[~out["valid"], col] = np.nan
    return out
