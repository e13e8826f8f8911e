"""The ``geometry`` estimator: valence/arousal from face-mesh geometry, no learned weights.

A demo and sanity baseline, *not* a replacement for an AffectNet-trained model:

* valence = mouth-corner lift (smile up, frown down);
* arousal = weighted mean of eye opening (½), brow raise and mouth opening.

Each ``geo_*`` feature is z-scored per participant over that participant's
valid frames (people's neutral faces differ), the weighted sums are z-scored
again and squashed into [-1, 1] with ``tanh(z / temperature)``. Zero is
therefore the participant's average expression, which is what a sign-based
selection needs on a synthetic study; on a real study the sign of a learned
estimator is absolute, which this baseline cannot offer.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from eifer.errors import EiferError
from eifer.io import hash_obj

_VALENCE = {"geo_mouth_lift": 1.0}
# Eye opening gets half weight: eye shape varies with gaze and head pitch.
_AROUSAL = {"geo_eye_open": 0.5, "geo_brow_raise": 1.0, "geo_mouth_open": 1.0}


class GeometryEstimator:
    """Per-participant normalised geometry baseline (see module docstring)."""

    needs_images = False

    def __init__(self, temperature: float = 2.0, valence_weights: dict[str, float] | None = None,
                 arousal_weights: dict[str, float] | None = None, **_ignored):
        self.temperature = float(temperature)
        self.valence_weights = dict(valence_weights or _VALENCE)
        self.arousal_weights = dict(arousal_weights or _AROUSAL)

    @property
    def key(self) -> str:
        return hash_obj(["geometry", self.temperature, self.valence_weights, self.arousal_weights])

    @staticmethod
    def _z(x: pd.Series) -> pd.Series:
        sd = x.std()
        return (x - x.mean()) / sd if sd and np.isfinite(sd) and sd > 0 else x * 0.0

    def _score(self, part: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
        raw = sum(w * self._z(part[c]) for c, w in weights.items())
        return np.tanh(self._z(raw) / self.temperature)

    def estimate(self, frames: pd.DataFrame) -> pd.DataFrame:
        """Return ``frames`` with ``valence`` and ``arousal`` (NaN where not valid).

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
        needed = {"participant_id", "valid", *self.valence_weights, *self.arousal_weights}
        missing = needed - set(frames.columns)
        if missing:
            raise EiferError(f"geometry estimator: frame table lacks columns {sorted(missing)}")
        out = frames.copy()
        out["valence"] = np.nan
        out["arousal"] = np.nan
        valid = out["valid"].astype(bool)
        for _pid, idx in out[valid].groupby("participant_id").groups.items():
            part = out.loc[idx]
            out.loc[idx, "valence"] = self._score(part, self.valence_weights).to_numpy()
            out.loc[idx, "arousal"] = self._score(part, self.arousal_weights).to_numpy()
        return out
