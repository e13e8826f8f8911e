"""Synthetic study with planted, known ground truth (SPEC §5).

>>> from eifer.synth import synth_study          # doctest: +SKIP
>>> synth_study("demo_study", participants=12, seed=0)   # doctest: +SKIP
"""
from eifer.synth.study import load_truth, synth_study

__all__ = ["synth_study", "load_truth"]
