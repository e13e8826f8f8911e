"""The synthetic study's parameters and their defaults, in one place.

:func:`eifer.synth.synth_study`, ``eifer synth`` and ``eifer demo`` take their
defaults from here, so a default changes in one line. This module imports
nothing heavy: the command line reads it to build its options.

Examples
--------
>>> SYNTH.participants, SYNTH.fps, DemoStudy().video_seconds
(12, 15, 12.0)
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SynthOptions:
    """Defaults of :func:`eifer.synth.synth_study` (its parameters of the same names)."""

    participants: int = 12
    seed: int = 0
    video_seconds: float = 20.0
    fps: int = 15
    no_video: bool = False
    null: bool = False
    planted_cutoff: float = 830.0
    segment_seconds: tuple[float, float, float] = (120.0, 120.0, 60.0)  # baseline, stimulus, recovery
    ecg_fs: int = 250
    width: int = 320
    height: int = 240


SYNTH = SynthOptions()


@dataclass(frozen=True)
class DemoStudy:
    """Size of the synthetic demo study (arguments of :func:`eifer.synth.synth_study`).

    Smaller than :data:`SYNTH` (shorter videos at a lower frame rate), so that
    ``eifer demo`` finishes in minutes on a 2-core CPU.
    """

    participants: int = 12
    video_seconds: float = 12.0
    fps: int = 10
    seed: int = SYNTH.seed
