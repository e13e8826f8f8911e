"""Response-driven labels (paper §2.2.3): Likert ratings → binary arousal/valence labels.

Ratings below the scale's neutral point are *low* (0), above it *high* (1). A
neutral rating is kept, not dropped: it gets a weak label from the predefined
domain of the video (``HA``/``LA`` → arousal, ``HV``/``LV`` → valence) and is
flagged ``<task>_weak=True``. The scale (1–7, 1–9 SAM, ...) and the neutral
point come from ``study.yaml``.
"""
from eifer.labels.make import domain_directions, make_labels
from eifer.labels.stage import run_labels

__all__ = ["make_labels", "domain_directions", "run_labels"]
