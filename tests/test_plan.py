"""``eifer plan``: unit counts from a synthetic study with planted sizes, linear scaling, GPU advice."""
from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from eifer.config import load_config
from eifer.plan import CLUSTER_ADVISE_HOURS, COSTS, GPU_ADVISE_HOURS, cluster_advised, gpu_advised, plan_study
from eifer.study import load_study

# synth_video_small: 6 participants x 4 videos x 4 s at 10 fps; ECG segments 120 + 4 x 120 + 3 x 60 s
N_PART, N_VID, FRAMES, ECG_S = 6, 4, 40, 120 + 4 * 120 + 3 * 60


@pytest.fixture(scope="module")
def study(synth_video_small):
    return load_study(synth_video_small, validate_media=False)


def _by_stage(plan: pd.DataFrame) -> pd.DataFrame:
    return plan.set_index("stage")


def test_unit_counts_and_work_from_the_study(study, synth_video_small):
    truth = pd.read_parquet(synth_video_small / "_truth" / "frames.parquet")
    assert len(truth) == N_PART * N_VID * FRAMES  # the planted size the plan must find
    p = _by_stage(plan_study(study, load_config(profile="paper"), workers=2, gpus=0))
    assert p.loc["hrv", "units"] == N_PART and p.loc["hrv", "amount"] == pytest.approx(N_PART * ECG_S)
    assert p.loc["frames", "units"] == N_PART * N_VID
    assert p.loc["frames", "amount"] == N_PART * N_VID * FRAMES  # container headers, nothing decoded
    # paper: 2 tasks x 5 repetitions x (High, Low, Total direct + High->Total, Low->Total transfer)
    assert p.loc["train", "units"] == 50
    # ResNet50 + VGG16 x (High, Low, Total) x 2 tasks x 5 folds
    assert p.loc["transfer-cv", "units"] == 60
    assert "affect inference" not in p.index  # learned estimator on CPU: in-stream, as the stage runs it
    cfg = load_config(profile="paper", overrides={"train": {"repetitions": 2, "compositions": ["direct"]},
                                                    "transfer_cv": {"enabled": False},
                                                    "frames": {"every_nth": 2}})
    q = _by_stage(plan_study(study, cfg, workers=2, gpus=0))
    assert q.loc["train", "units"] == 2 * 2 * 3 and "transfer-cv" not in q.index
    assert q.loc["frames", "amount"] == N_PART * N_VID * FRAMES / 2
    # image-steps of one direct run do not depend on the number of runs: 12 of 30 units, Total twice as big
    per_run_direct = p.loc["train", "amount"] / (2 * 5) / (0.5 + 0.5 + 1 + 1 + 1)
    assert q.loc["train", "amount"] == pytest.approx(per_run_direct * 2 * 2 * 2)


def test_time_scales_linearly_with_workers(study):
    cfg = load_config(profile="paper")
    one, two, three = (_by_stage(plan_study(study, cfg, workers=w, gpus=0)) for w in (1, 2, 3))
    for stage in ("hrv", "frames"):  # equal units: wall time = serial time / workers
        assert one.loc[stage, "est_hours"] == pytest.approx(one.loc[stage, "serial_hours"])
        assert two.loc[stage, "est_hours"] == pytest.approx(one.loc[stage, "est_hours"] / 2)
        assert three.loc[stage, "est_hours"] == pytest.approx(one.loc[stage, "est_hours"] / 3)
    assert (two["serial_hours"] == one["serial_hours"]).all()  # the work itself does not change
    # more workers than units: the longest unit bounds the wall time
    many = _by_stage(plan_study(study, cfg, workers=1000, gpus=0))
    assert many.loc["frames", "est_hours"] == pytest.approx(one.loc["frames", "est_hours"] / (N_PART * N_VID))


def test_gpu_advised_for_paper_training(study):
    cpu = _by_stage(plan_study(study, load_config(profile="paper"), workers=4, gpus=0))
    assert cpu.loc["train", "gpu_advised"] and cpu.loc["train", "device"] == "cpu"
    assert cpu.loc["train", "est_hours"] >= GPU_ADVISE_HOURS
    assert not cpu.loc["hrv", "gpu_advised"]  # HRV cannot use a GPU
    assert "a GPU is advised for: " in cpu.attrs["advice"] and "train" in cpu.attrs["advice"]
    gpu = _by_stage(plan_study(study, load_config(profile="paper"), workers=4, gpus=2, executor="ray"))
    assert gpu.loc["train", "device"] == "gpu" and gpu.loc["train", "gpus"] == 1 and gpu.loc["train", "slots"] == 2
    # the local executor trains on one GPU at a time: half the GPU slots, twice the wall time
    local = _by_stage(plan_study(study, load_config(profile="paper"), workers=4, gpus=2, executor="local"))
    assert local.loc["train", "slots"] == 1 and "--executor ray" in local.attrs["advice"]
    assert local.loc["train", "est_hours"] == pytest.approx(2 * gpu.loc["train", "est_hours"])
    assert not gpu["gpu_advised"].any() and gpu.loc["train", "est_hours"] < cpu.loc["train", "est_hours"]
    # a learned estimator with a GPU: frame units on the CPU, batched inference units on the GPUs
    assert gpu.loc["affect inference", "gpus"] == 1 and gpu.loc["frames", "gpus"] == 0
    # the demo's tiny CNN needs no GPU
    demo = plan_study(study, load_config(profile="demo"), workers=4, gpus=0)
    assert not demo["gpu_advised"].any() and "advised" not in demo.attrs["advice"]


def test_advice_thresholds():
    assert gpu_advised(GPU_ADVISE_HOURS, True, False)
    assert not gpu_advised(GPU_ADVISE_HOURS * (1 - 1e-9), True, False)
    assert not gpu_advised(GPU_ADVISE_HOURS, False, False)
    assert cluster_advised(CLUSTER_ADVISE_HOURS) and not cluster_advised(CLUSTER_ADVISE_HOURS * (1 - 1e-9))
    assert all(c.source and c.value > 0 for c in COSTS.values())


def test_every_cost_says_whether_it_was_measured_when_and_on_what():
    import re

    for name, c in COSTS.items():
        assert re.match(r"(MEASURED \d{4}-\d\d-\d\d .*benchmarks/bench_\w+\.py|ASSUMED)", c.source), name
    # no GPU has run bench_gpu.py yet: the GPU rows must not pass for measurements
    assert all(c.source.startswith("ASSUMED") for n, c in COSTS.items() if "gpu" in n)


def test_training_cost_scales_exactly_by_the_test_resamples(study, synth_video_small, tmp_path):
    from eifer.cli import app

    one = _by_stage(plan_study(study, load_config(profile="paper"), workers=2, gpus=0))
    cfg = load_config(profile="paper", overrides={"split": {"test_resamples": 3}})
    three = plan_study(study, cfg, workers=2, gpus=0)
    k3 = _by_stage(three)
    assert k3.loc["train", "units"] == 3 * one.loc["train", "units"] == 150
    for col in ("amount", "serial_hours"):
        assert k3.loc["train", col] == pytest.approx(3 * one.loc["train", col])
    assert k3.loc["transfer-cv", "units"] == one.loc["transfer-cv", "units"]  # transfer-CV keeps resample 0's test set
    assert "split.test_resamples = 3: 3 test sets x 5 repetitions = 3x" in k3.loc["train", "note"]
    assert "multiplies the train stage by 3" in three.attrs["advice"] and one.loc["train", "note"] == ""
    (tmp_path / "k3.yaml").write_text("split:\n  test_resamples: 3\n")
    res = CliRunner().invoke(app, ["plan", str(synth_video_small), "-p", "paper", "-c", str(tmp_path / "k3.yaml"),
                                   "--workers", "2", "--gpus", "0"])
    assert res.exit_code == 0, res.output  # the CLI shows K and the multiplier
    assert "multiplies the train stage by 3" in res.output and " 150 " in res.output


def test_plan_cli(synth_video_small):
    from eifer.cli import app

    res = CliRunner().invoke(app, ["plan", str(synth_video_small), "-p", "paper", "--workers", "2", "--gpus", "0"])
    assert res.exit_code == 0, res.output
    assert "transfer-cv" in res.output and "a GPU is advised for" in res.output
    bad = CliRunner().invoke(app, ["plan", str(synth_video_small), "--workers", "0"])
    assert bad.exit_code == 1 and "workers must be >= 1" in bad.output


# --- minimum study size (eifer.plan.minimum_study), used by check / plan / validate / run -----------
@pytest.mark.parametrize("overrides, smallest", [
    ({}, 10),                                                                  # sweep: 2 x 5
    ({"cutoff": {"cutoff": 830}}, 8),                                          # fixed cutoff: the split's 2 + 2 + 4
    ({"cutoff": {"min_group_size": 3}, "split": {"n_test_high": 1, "n_test_low": 1}}, 6),
    ({"cutoff": {"min_group_size": 2}, "split": {"n_test_high": 3, "n_test_low": 1}}, 8),
    ({"split": {"test_participants": ["a", "b", "c", "d", "e", "f", "g"]}}, 11),
    ({"cutoff": {"cutoff": 830}, "split": {"test_resamples": 3}}, 12),         # 3 disjoint test sets: 3 x (2 + 2)
    ({"cutoff": {"cutoff": 830}, "split": {"test_resamples": 4, "n_test_high": 1, "n_test_low": 2}}, 12),
])
def test_minimum_study_is_exact_at_the_boundary(overrides, smallest):
    from eifer.plan import check_study_size, minimum_study

    cfg = load_config(overrides=overrides)
    assert minimum_study(cfg).participants == smallest
    assert check_study_size(smallest, cfg) == []
    (problem,) = check_study_size(smallest - 1, cfg)
    assert problem.startswith(f"{smallest - 1} participant(s), but the configured stages need at least {smallest}")
    assert "split.n_test_high" in problem or "split.test_participants" in problem


def test_size_errors_name_the_settings_and_values_that_fit():
    from eifer.plan import check_study_size, minimum_study

    cfg = load_config()
    (p7,) = check_study_size(7, cfg)
    assert "2 × cutoff.min_group_size (5) = 10" in p7
    assert "settings that fit 7: cutoff.min_group_size: 3" in p7 and "at most 3 (e.g. 1 and 2)" in p7
    # each proposed value really fits
    fixed = load_config(overrides={"cutoff": {"min_group_size": 3}, "split": {"n_test_high": 1, "n_test_low": 2}})
    assert check_study_size(7, fixed) == []
    (p5,) = check_study_size(5, cfg)
    assert "no settings fit 5" in p5 and "smallest study eifer can run has 6" in p5
    # a fixed cutoff skips the sweep's rule: the split's rule remains
    assert "cutoff.min_group_size" not in check_study_size(7, load_config(overrides={"cutoff": {"cutoff": 830}}))[0]
    # stages that are not run set no minimum
    assert minimum_study(cfg, {"ei", "hrv"}).participants == 0 and check_study_size(1, cfg, {"ei", "hrv"}) == []


def _cli(*args, cwd=None):
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""), "EIFER_NO_PROGRESS": "1"}
    return subprocess.run([sys.executable, "-m", "eifer.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_four_participant_pilot_is_refused_before_any_stage(tmp_path):
    """`eifer check` names the minimum and the smallest study; `eifer run` refuses before the first stage."""
    from eifer.synth import synth_study

    root = synth_study(tmp_path / "pilot", participants=4, seed=3, no_video=True, show_progress=False)
    res = _cli("check", root)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "error: study size = 4: 4 participant(s), but the configured stages need at least 10" in res.stdout
    assert "smallest study eifer can run has 6" in res.stdout
    pilot = tmp_path / "pilot.yaml"
    pilot.write_text("cutoff:\n  cutoff: 830\n  min_group_size: 2\nsplit:\n  n_test_high: 1\n  n_test_low: 1\n")
    res = _cli("check", root, "--config", pilot)  # the smallest settings still need 6
    assert res.returncode == 1 and "need at least 6" in res.stdout, res.stdout
    res = _cli("run", root, "--out", tmp_path / "run")
    assert res.returncode == 1 and "need at least 10" in res.stdout + res.stderr
    assert not (tmp_path / "run" / "hrv.parquet").exists()  # refused before the first stage
    res = _cli("validate", root, "--skip-media")
    assert "warning: study size: 4 participant(s)" in res.stdout and "OK: no problems found." in res.stdout
