"""Preflight: a configured file that is missing stops `eifer run` before any stage, naming key and path."""
import time

import yaml
from typer.testing import CliRunner

from eifer.cli import app
from eifer.config import load_config
from eifer.pipeline.preflight import check_before_run, run_preflight


def _config(tmp_path, tiny_profile, **sections):
    data = {**tiny_profile}
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_missing_model_file_fails_before_any_stage(synth_video_small, tiny_profile, tmp_path):
    missing = tmp_path / "weights" / "effnet.safetensors"
    cfg = _config(tmp_path, tiny_profile, train={"pretrained_path": str(missing), "allow_random_init": False})
    out = tmp_path / "run"
    t0 = time.perf_counter()
    res = CliRunner().invoke(app, ["run", str(synth_video_small), "--out", str(out), "--config", str(cfg)])
    seconds = time.perf_counter() - t0
    assert res.exit_code == 1, res.output
    assert "train.pretrained_path" in res.output and str(missing) in res.output.replace("\n", "")
    # nothing ran and nothing was written: the check came before the first stage
    assert not out.exists()
    print(f"preflight failure after {seconds:.2f} s")


def test_every_problem_is_listed_at_once(synth_video_small, tmp_path):
    cfg = load_config(profile="paper", overrides={
        "affect": {"estimator": "onnx", "path": str(tmp_path / "va.onnx")},
        "transfer_cv": {"pretrained_paths": {"resnet50": str(tmp_path / "r50.pth")}},
        "split": {"test_participants": ["P01", "P99"]}})
    from eifer.study import load_study

    study = load_study(synth_video_small, validate_media=False)
    p = run_preflight(synth_video_small, cfg, tmp_path / "run", loaded=study)
    keys = list(p["key"])
    assert keys == ["affect.path", "train.pretrained_path", "transfer_cv.pretrained_paths.resnet50",
                    "transfer_cv.pretrained_paths.vgg16", "split.test_participants", "study size"]
    assert "6 participant(s), but the configured stages need at least 10" in p["problem"].iloc[-1]
    assert str(tmp_path / "va.onnx") in p.set_index("key").loc["affect.path", "problem"]
    assert p.set_index("key").loc["split.test_participants", "value"] == "P99"  # P01 exists


def test_settings_that_are_in_order_pass(synth_video_small, tmp_path):
    import torch

    weights = tmp_path / "w.pth"
    torch.save({"w": torch.zeros(2)}, weights)  # the preflight reads the weights (issue 27): real ones
    cfg = load_config(profile="demo", overrides={"train": {"pretrained_path": str(weights)},
                                                 # 6 participants: the smallest study (docs/study-folder.md)
                                                 "cutoff": {"min_group_size": 3},
                                                 "split": {"n_test_high": 1, "n_test_low": 1}})
    assert check_before_run(synth_video_small, cfg, tmp_path / "run").empty


def test_stages_not_asked_for_are_not_checked(synth_video_small, tmp_path):
    cfg = load_config(profile="paper", overrides={"affect": {"estimator": "onnx"}})  # no path, no checkpoints
    assert run_preflight(synth_video_small, cfg, stages=["hrv"]).empty
    assert set(run_preflight(synth_video_small, cfg, stages=["affect"])["key"]) == {"affect.path"}


def test_builtin_estimator_needs_no_model_file_and_refuses_one(synth_video_small, tmp_path):
    cfg = load_config(profile="paper")  # the default: the shipped model
    assert cfg.affect.estimator == "builtin"
    assert run_preflight(synth_video_small, cfg, stages=["affect"]).empty
    named = load_config(profile="paper", overrides={"affect": {"path": str(tmp_path / "va.onnx")}})
    p = run_preflight(synth_video_small, named, stages=["affect"])
    assert list(p["key"]) == ["affect.path"] and "affect.estimator: onnx" in p["problem"].iloc[0]


def test_study_without_videos_needs_no_model_files(synth_novideo, tmp_path):
    from eifer.study import load_study

    cfg = load_config(profile="paper")
    assert run_preflight(synth_novideo, cfg, loaded=load_study(synth_novideo, validate_media=False)).empty


def test_unwritable_run_folder_and_missing_study(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("a file where the run folder's parent should be")
    p = run_preflight(tmp_path / "nostudy", load_config(profile="demo"), blocker / "run")
    assert list(p["key"]) == ["STUDY", "--out"]
    assert "nostudy" in p["problem"][0] and "results is a file" in p["problem"][1]


def test_eifer_check_command(synth_video_small, tiny_profile, tmp_path):
    cfg = _config(tmp_path, tiny_profile, affect={"estimator": "onnx", "path": "nowhere/va.onnx"})
    res = CliRunner().invoke(app, ["check", str(synth_video_small), "--config", str(cfg)])
    assert res.exit_code == 1
    assert "affect.path = nowhere/va.onnx" in res.output
    ok = CliRunner().invoke(app, ["check", str(synth_video_small), "--config", str(_config(tmp_path, tiny_profile))])
    assert ok.exit_code == 0 and ok.output.startswith("OK")
