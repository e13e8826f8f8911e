"""Congruent frame selection, test subsets and Figure 4 (paper §3.2.1–§3.2.2, SPEC §3)."""
from eifer.select.core import build_test_subsets, crop_relpath, select_frames
from eifer.select.figure import plot_figure4
from eifer.select.stage import run_select, store_crops

__all__ = ["select_frames", "build_test_subsets", "crop_relpath", "plot_figure4", "run_select", "store_crops"]
