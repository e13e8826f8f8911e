"""A damaged parquet table inside a run folder: one clear error naming the file and the stage to redo (#27c)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _cli_checks import run_cli as _cli
from _cli_checks import snapshot as _snapshot
from _cli_checks import study_conftest

from eifer import load_run
from eifer.errors import EiferError
from eifer.io import read_parquet, write_parquet
from eifer.report.summaries import hrv_quality_summary


@pytest.fixture(scope="module")
def hrv_run(tmp_path_factory):
    """A run folder with ei, labels and hrv done on the small study of tests/study (a few seconds)."""
    import neurokit2 as nk

    study = study_conftest().build_study(tmp_path_factory.mktemp("i27c") / "study")
    for k, pid in enumerate(("P01", "P02", "P03")):  # ECGs with beats, so the hrv stage finishes
        sig = nk.ecg_simulate(duration=101, sampling_rate=100, heart_rate=65 + 5 * k, random_state=k)
        pd.DataFrame({"time_s": np.round(np.arange(sig.size) / 100, 4), "ecg": np.round(sig, 5)}).to_csv(
            study / "ecg" / f"{pid}.csv", index=False)
    cfg = study.parent / "c.yaml"
    cfg.write_text("profile: demo\nhrv:\n  n_jobs: 1\n  min_beats: 5\ncutoff:\n  min_group_size: 1\n")
    out = tmp_path_factory.mktemp("i27crun") / "run"
    res = _cli("hrv", study, "--out", out, "-c", cfg)
    assert res.returncode == 0, res.stdout + res.stderr
    return study, out, cfg


@pytest.mark.parametrize("damage", ["half", "magic_only"])
def test_truncated_table_in_the_run_folder_is_named_and_nothing_else_changes(hrv_run, tmp_path, damage):
    study, finished, cfg = hrv_run
    run = Path(shutil.copytree(finished, tmp_path / "run"))
    table = run / "hrv.parquet"
    data = table.read_bytes()
    table.write_bytes({"half": data[: len(data) // 2], "magic_only": b"PAR1"}[damage])
    before = _snapshot(run)
    res = _cli("cutoff", study, "--out", run, "-c", cfg)
    text = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 1, text
    assert "Traceback" not in text and "ArrowInvalid" not in text
    assert f"{table}: damaged parquet table" in text
    assert "--force hrv" in text  # the stage that writes it, and how to redo it
    after = _snapshot(run)
    assert set(after) >= set(before)  # nothing deleted
    changed = {k for k in before if after[k][1] != before[k][1]}
    assert changed <= {"log.jsonl", ".lock", "cache/input_hashes.json"}, changed  # tables kept byte for byte
    assert {k for k in before if k.endswith((".parquet", ".csv")) and after[k] != before[k]} == set()
    assert not (run / "groups.csv").exists()


def test_the_advised_force_rebuilds_the_damaged_table(hrv_run, tmp_path):
    study, finished, cfg = hrv_run
    run = Path(shutil.copytree(finished, tmp_path / "run"))
    good = pd.read_parquet(run / "hrv.parquet")
    (run / "hrv.parquet").write_bytes((run / "hrv.parquet").read_bytes()[:40])
    res = _cli("hrv", study, "--out", run, "-c", cfg, "--force")
    assert res.returncode == 0, res.stdout + res.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(run / "hrv.parquet"), good)


def test_read_parquet_passes_missing_files_on_and_reads_columns(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_parquet(tmp_path / "absent.parquet", stage="select")
    write_parquet(tmp_path / "t.parquet", pd.DataFrame({"a": [1], "b": ["x"]}))
    assert read_parquet(tmp_path / "t.parquet", columns=["b"]).columns.tolist() == ["b"]
    (tmp_path / "t.parquet").write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")  # magic right, footer garbage: OSError
    with pytest.raises(EiferError, match="t.parquet: damaged parquet table .*delete it and run the stage"):
        read_parquet(tmp_path / "t.parquet")


@pytest.mark.parametrize("table, reader", [
    ("hrv.parquet", lambda run: load_run(run).data("hrv")),  # the Python API users read results with
    ("hrv_quality.parquet", hrv_quality_summary),  # the report's HRV quality page
])
def test_results_and_report_readers_name_a_damaged_table_and_its_stage(hrv_run, tmp_path, table, reader):
    _study, finished, _cfg = hrv_run
    run = Path(shutil.copytree(finished, tmp_path / "run"))
    reader(run)  # intact: reads
    (run / table).write_bytes(b"PAR1")
    with pytest.raises(EiferError, match=r"damaged parquet table.*--force hrv"):
        reader(run)
