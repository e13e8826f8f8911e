"""An image estimator whose raw outputs leave [-1, 1] is clipped to exactly the bounds (unless clip=False)."""
from __future__ import annotations

import numpy as np

from eifer.affect.estimators import ImageEstimator


class _Scaled(ImageEstimator):
    def _forward(self, x):
        m = x.mean(axis=(1, 2, 3))
        return np.stack([m * 0, 3.0 * m, -3.0 * m], axis=1)   # valence, arousal in the last two columns


def test_outputs_beyond_unit_range_are_clipped_to_the_bounds(tmp_path):
    f = tmp_path / "m.bin"
    f.write_bytes(b"x")
    crops = np.stack([np.full((8, 8, 3), v, np.uint8) for v in (0, 40, 255)])
    est = _Scaled(f, input_size=8, mean=(0, 0, 0), std=(1, 1, 1))
    raw = est.raw_outputs(crops)[:, 1:]
    va = est.predict(crops)
    assert np.abs(raw).max() == 3.0                     # the model says 3 ...
    np.testing.assert_array_equal(va, np.clip(raw, -1, 1))
    assert va.min() == -1.0 and va.max() == 1.0         # ... eifer stores 1
    assert 0 < va[1, 0] < 1                             # values inside the range are untouched
    loose = _Scaled(f, input_size=8, mean=(0, 0, 0), std=(1, 1, 1), clip=False)
    np.testing.assert_array_equal(loose.predict(crops), raw)
