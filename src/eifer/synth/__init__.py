"""Synthetic study with planted, known ground truth (SPEC §5).

>>> from eifer.synth import synth_study          # doctest: +SKIP
>>> synth_study("demo_study", participants=12, seed=0)   # doctest: +SKIP
"""
from typing import TYPE_CHECKING, Any

from eifer.synth.options import SYNTH, DemoStudy, SynthOptions

if TYPE_CHECKING:
    from eifer.synth.study import load_truth, synth_study

__all__ = ["synth_study", "load_truth", "SYNTH", "SynthOptions", "DemoStudy"]


def __getattr__(name: str) -> Any:
    # the command line reads the defaults (eifer.synth.options) without importing numpy, pandas and PyAV
    if name in ("synth_study", "load_truth"):
        from eifer.synth import study

        return getattr(study, name)
    raise AttributeError(f"module 'eifer.synth' has no attribute {name!r}")
