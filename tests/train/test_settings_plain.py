"""The cores' plain settings mirror the config: every field carried over, same defaults (paper profile)."""
from dataclasses import FrozenInstanceError, fields

import pytest

from eifer.config import DEFAULTS, load_config
from eifer.train import TrainSettings, train_settings
from eifer.transfer_cv import CVSettings, cv_settings

# read by the stage itself, not by the core
CV_STAGE_ONLY = {"enabled", "folds", "table_conditions"}


@pytest.mark.parametrize("settings, section, stage_only, built", [
    (TrainSettings, "train", set(), train_settings),
    (CVSettings, "transfer_cv", CV_STAGE_ONLY, cv_settings),
])
def test_settings_carry_every_field_with_the_config_defaults(settings, section, stage_only, built):
    names = {f.name for f in fields(settings)} - {"gpus_per_train_unit"}
    cfg_fields = set(type(getattr(DEFAULTS, section)).model_fields)
    assert names == cfg_fields - stage_only
    default = settings()
    for name in names:
        want = getattr(getattr(DEFAULTS, section), name)
        got = getattr(default, name)
        assert (list(got) if isinstance(got, tuple) else got) == (list(want) if isinstance(want, tuple | list)
                                                                  else want), name
    # a demo config carries over field by field (lists become tuples: the settings are immutable)
    cfg = load_config(profile="demo")
    s = built(cfg)
    for name in names:
        want = getattr(getattr(cfg, section), name)
        got = getattr(s, name)
        assert (list(got) if isinstance(got, tuple) else got) == (list(want) if isinstance(want, tuple | list)
                                                                  else want), name
    with pytest.raises(FrozenInstanceError):
        s.image_size = 1


def test_train_settings_take_the_executor_gpu_share():
    cfg = load_config(overrides={"executor": {"gpus_per_train_unit": 0.5}})
    assert train_settings(cfg).gpus_per_train_unit == 0.5
    assert TrainSettings().gpus_per_train_unit == DEFAULTS.executor.gpus_per_train_unit
