"""Config profiles, YAML merge and the `eifer config show` command."""
import pytest
import yaml
from typer.testing import CliRunner

from eifer.cli import app
from eifer.config import Config, load_config


def test_paper_profile_carries_the_papers_parameters():
    cfg = load_config(profile="paper")
    t = cfg.train
    assert t.backbone == "tf_efficientnetv2_l"
    assert (t.stage1_epochs, t.stage2_epochs, t.warmup_epochs) == (4, 6, 3)
    assert (t.head_lr, t.backbone_lr_start, t.backbone_lr_peak) == (3e-4, 2e-5, 1e-4)
    assert (t.weight_decay, t.batch_size, t.grad_clip, t.regression_weight) == (1e-2, 32, 1.0, 0.4)
    assert t.image_size == 224 and t.repetitions == 5
    assert (cfg.select.n_arousal, cfg.select.n_valence, cfg.select.n_test_frames) == (100, 100, 6)
    assert (cfg.split.n_test_high, cfg.split.n_test_low) == (2, 2)
    assert cfg.cutoff.step == 10 and cfg.cutoff.alpha == 0.05


def test_yaml_file_overrides_profile(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump({"profile": "demo", "train": {"repetitions": 7}}))
    cfg = load_config(f, seed=3)
    assert cfg.profile == "demo" and cfg.train.repetitions == 7 and cfg.seed == 3
    # demo values not overridden by the file survive the merge
    assert cfg.train.image_size == load_config(profile="demo").train.image_size


def test_unknown_key_is_rejected(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump({"train": {"repetitons": 7}}))
    with pytest.raises(ValueError, match="repetitons"):
        load_config(f)


def test_section_hash_changes_only_with_its_section():
    a = load_config(profile="demo")
    b = load_config(profile="demo", overrides={"train": {"repetitions": 9}})
    assert a.section_hash("frames") == b.section_hash("frames")
    assert a.section_hash("train") != b.section_hash("train")


def test_config_show_roundtrips():
    res = CliRunner().invoke(app, ["config", "show", "--profile", "demo"])
    assert res.exit_code == 0, res.output
    assert Config.model_validate(yaml.safe_load(res.stdout)) == load_config(profile="demo")


def test_config_show_bad_file_exits_nonzero(tmp_path):
    res = CliRunner().invoke(app, ["config", "show", "--config", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 1
    assert "missing.yaml" in res.output
