"""The appearance cue's warm-up, moving-reference weight and floor are config settings that change the flags."""
from __future__ import annotations

import numpy as np

from eifer.config import DEFAULTS
from eifer.frames.occlusion import SKIN_POINTS, AppearanceTracker

P = len(SKIN_POINTS)
BASE = np.full((P, 3), 50.0)


class _Colours(AppearanceTracker):
    """Patch colours given directly (the image sampling is not under test)."""

    def update_with(self, colours: np.ndarray) -> bool:
        self.patch_colours = lambda rgb, pts: colours  # type: ignore[method-assign]
        return self.update(None, None)


def _shifted(amount: float) -> np.ndarray:
    x = BASE.copy()
    x[:2, 0] += amount  # two patches (the default min_patches) change lightness; the others do not
    return x


def test_defaults_are_the_config_values():
    t = AppearanceTracker()
    assert (t.warmup, t.alpha, t.floor, t.threshold) == (DEFAULTS.frames.appearance_warmup,
                                                         DEFAULTS.frames.appearance_alpha,
                                                         DEFAULTS.frames.appearance_floor,
                                                         DEFAULTS.frames.appearance_threshold) == (10, 0.05, 3.0, 4.0)


def test_warmup_frames_are_never_flagged_and_the_first_after_is():
    for warmup in (10, 20):
        t = _Colours(warmup=warmup)
        flags = [t.update_with(BASE) for _ in range(warmup - 1)]
        assert not t.update_with(_shifted(50)) and not any(flags)  # frame warmup: still learning
        t = _Colours(warmup=warmup)
        for _ in range(warmup):
            t.update_with(BASE)
        assert t.update_with(_shifted(50))  # the first frame after the warm-up is compared


def test_floor_sets_the_smallest_change_flagged_at_the_threshold():
    # no noise: the scale is the floor, so a change is flagged above threshold x floor (4 x 3 = 12 Lab units)
    def flag(amount, **kw):
        t = _Colours(**kw)
        for _ in range(t.warmup):
            t.update_with(BASE)
        return t.update_with(_shifted(amount))

    assert not flag(12.0)  # exactly at the threshold: not flagged (z > threshold)
    assert flag(12.01)
    assert flag(10.0, floor=2.0) and not flag(10.0)


def test_alpha_sets_how_fast_the_reference_follows_a_drift():
    def final(alpha):
        t = _Colours(alpha=alpha)
        for _ in range(t.warmup):
            t.update_with(BASE)
        drift = [t.update_with(_shifted(10.0)) for _ in range(30)]  # below the flag: learned
        assert not any(drift)
        return t.update_with(_shifted(20.0))

    assert final(0.001)  # the reference stayed at the start: 20 units away
    assert not final(0.5)  # the reference followed the drift: 10 units away


def test_min_patches_counts_the_changed_patches_at_the_rule():
    def flag(n_changed, **kw):
        t = _Colours(**kw)
        for _ in range(t.warmup):
            t.update_with(BASE)
        x = BASE.copy()
        x[:n_changed, 0] += 30
        return t.update_with(x)

    assert not flag(1) and flag(2)  # default: two patches
    assert not flag(2, min_patches=3) and flag(3, min_patches=3)
    assert flag(1, min_patches=1)
