"""The ``geometry`` estimator: valence/arousal from face-mesh geometry, no learned weights.

A documented *fallback* for studies without a learned model, and a sanity
baseline; it does not claim to match an AffectNet-trained model:

* valence = mouth-corner lift (smile up, frown down);
* arousal = weighted mean of eye opening (½), brow raise and mouth opening.

The ``geo_*`` features are measured by the frames stage on landmarks with the
head pose undone (a 3-D Procrustes fit to MediaPipe's canonical face, see
:mod:`eifer.frames.facepose`), so a bowed or raised head does not move them.

**Centring.** Each feature is centred on a robust per-participant reference:
the *median over all face frames* (landmarks found) of all that participant's
videos — not only the frames that pass the quality filter, which would bias
the reference towards whatever expression survives it (e.g. the smiles of a
participant whose crying frames are dropped for closed eyes). Participants
with fewer than ``min_frames`` face frames (a single still) are centred on
the population-neutral face itself (MediaPipe's canonical neutral face,
:data:`NEUTRAL_GEOMETRY`). ``reference_band`` (off by default) can hold the
valence centre within that distance of the population-neutral value; the
0.03 band used before was chosen while looking at the shared real clips, so
it is no longer a default (a rule chosen on the data that tests it proves
nothing). Known limit: a participant who shows one valence most of the time
is centred on it (docs/affect.md gives the measured numbers).

**Magnitude.** Centred features are divided by a robust scale (1.4826 × MAD
over the same frames, never below a floor of landmark-jitter size, so a
participant whose face never moves is not blown up to ±1), averaged with the
weights and squashed with ``tanh(x / temperature)``. So ``|valence|`` grows with
how far the face is from its reference in units comparable across
participants, which is what the top-|V| / top-|A| selection ranks.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from eifer._validation import require_columns
from eifer.io import hash_obj

_VALENCE = {"geo_mouth_lift": 1.0}
# Eye opening gets half weight: eye shape varies with gaze and head pitch.
_AROUSAL = {"geo_eye_open": 0.5, "geo_brow_raise": 1.0, "geo_mouth_open": 1.0}
# Smallest scale per feature (inter-ocular distances; EAR for eye opening): about landmark jitter.
SCALE_FLOOR = {"geo_mouth_lift": 0.02, "geo_mouth_open": 0.03, "geo_mouth_width": 0.03, "geo_eye_open": 0.02,
               "geo_brow_raise": 0.02}


def neutral_geometry() -> dict[str, float]:
    """Expression features of MediaPipe's canonical neutral face (the population-neutral reference).

    Examples
    --------
    >>> round(neutral_geometry()["geo_mouth_lift"], 3)   # corners level with the lip centre
    -0.012
    """
    from eifer.frames.facepose import canonical_face
    from eifer.frames.landmarks import GEO_COLUMNS, geometry_features

    feats = geometry_features(canonical_face())
    return {c: feats[c] for c in GEO_COLUMNS}


NEUTRAL_GEOMETRY = neutral_geometry()


def geometry_reference(x: pd.Series, feature: str, min_frames: int = 30,
                       band: float | None = None) -> tuple[float, float]:
    """Robust centre and scale of one participant's feature over all their face frames.

    Parameters
    ----------
    x : Series
        The feature over the participant's face frames (NaN ignored).
    feature : str
        ``geo_*`` column name (selects the population-neutral value and scale floor).
    min_frames : int
        Fewer frames: the population-neutral value and the floor scale.
    band : float, optional
        Hold the centre within ``band`` of the population-neutral value.

    Returns
    -------
    (centre, scale)

    Examples
    --------
    >>> import pandas as pd
    >>> smiles = pd.Series([0.12] * 40 + [-0.02] * 20)      # smiles most of the time
    >>> geometry_reference(smiles, "geo_mouth_lift", band=0.03)[0] < 0.02   # zero stays near neutral
    True
    >>> geometry_reference(smiles.head(1), "geo_mouth_lift") == (NEUTRAL_GEOMETRY["geo_mouth_lift"], 0.02)
    True
    """
    x = x.dropna()
    floor = SCALE_FLOOR.get(feature, 0.02)
    neutral = NEUTRAL_GEOMETRY.get(feature, np.nan)
    if len(x) < max(1, min_frames):
        return float(neutral), float(floor)
    centre = float(x.median())
    if band is not None and np.isfinite(neutral):
        centre = float(np.clip(centre, neutral - band, neutral + band))
    scale = max(1.4826 * float((x - x.median()).abs().median()), floor)
    return centre, scale


class GeometryEstimator:
    """Per-participant centred, pose-free geometry fallback (see module docstring)."""

    needs_images = False

    def __init__(self, temperature: float = 2.0, valence_weights: dict[str, float] | None = None,
                 arousal_weights: dict[str, float] | None = None, min_frames: int = 30,
                 reference_band: float | None = None, **_ignored: Any) -> None:
        self.temperature = float(temperature)
        self.valence_weights = dict(valence_weights or _VALENCE)
        self.arousal_weights = dict(arousal_weights or _AROUSAL)
        self.min_frames = int(min_frames)
        self.reference_band = None if reference_band is None else float(reference_band)

    @property
    def key(self) -> str:
        return hash_obj(["geometry", 3, self.temperature, self.valence_weights, self.arousal_weights,
                         self.min_frames, self.reference_band])

    def _score(self, face: pd.DataFrame, rows: pd.DataFrame, weights: dict[str, float],
               band: float | None) -> np.ndarray:
        """Weighted mean of the robustly centred and scaled features of ``rows``, squashed into [-1, 1]."""
        raw = np.zeros(len(rows))
        for c, w in weights.items():
            centre, scale = geometry_reference(face[c], c, self.min_frames, band)
            raw += w * (rows[c].to_numpy(float) - centre) / scale
        raw /= sum(abs(w) for w in weights.values()) or 1.0
        return np.tanh(raw / self.temperature)

    def estimate(self, frames: pd.DataFrame) -> pd.DataFrame:
        """Return ``frames`` with ``valence`` and ``arousal`` on every face frame (NaN where no landmarks).

        Parameters
        ----------
        frames : DataFrame
            Frame rows of one or more participants with ``participant_id``, ``valid``, ``geo_*``.

        Returns
        -------
        DataFrame (a copy)

        Examples
        --------
        >>> est = GeometryEstimator()
        >>> out = est.estimate(frames)  # doctest: +SKIP
        """
        require_columns(frames, ("participant_id", "valid", *self.valence_weights,
                                 *(c for c in self.arousal_weights if c not in self.valence_weights)),
                        "geometry estimator: frame table")
        out = frames.copy()
        out["valence"] = np.nan
        out["arousal"] = np.nan
        valid = out["valid"].astype(bool)
        # reference over, and estimates on, all face frames (landmarks found), valid or not
        face = out["landmarks_found"].fillna(False).astype(bool) if "landmarks_found" in out else valid
        for pid, idx in out[face].groupby("participant_id").groups.items():
            rows, ref = out.loc[idx], out[face & (out["participant_id"] == pid)]
            out.loc[idx, "valence"] = self._score(ref, rows, self.valence_weights, self.reference_band)
            out.loc[idx, "arousal"] = self._score(ref, rows, self.arousal_weights, None)
        return out
