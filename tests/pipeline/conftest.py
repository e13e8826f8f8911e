"""A tiny profile for end-to-end pipeline tests (seconds per stage on 2 cores)."""
from __future__ import annotations

import pytest
import yaml

# Overrides of the demo profile: 6 participants need groups of ≥ 2 and a 1 + 1 test set;
# one repetition of one task keeps training to a few seconds per unit.
TINY = {
    "profile": "demo",
    "cutoff": {"min_group_size": 2, "n_permutations": 0},
    "split": {"n_test_high": 1, "n_test_low": 1},
    "select": {"n_arousal": 5, "n_valence": 5},
    "train": {"repetitions": 1, "stage1_epochs": 1, "stage2_epochs": 2, "warmup_epochs": 1, "image_size": 32,
              "tasks": ["arousal"], "compositions": ["direct", "transfer"], "n_jobs": 1},
    "transfer_cv": {"enabled": False},
    "report": {"calibrate_sims": 2},  # the calibrate stage runs (and reruns after train), in about a second
}


@pytest.fixture
def tiny_config(tmp_path):
    """Path of a YAML config with the tiny profile (``--config`` for ``eifer run``)."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


@pytest.fixture(scope="session")
def tiny_profile():
    """The tiny profile's overrides (a dict)."""
    return TINY
