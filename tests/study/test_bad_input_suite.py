"""Bad input through the CLI: every case exits non-zero with a clear message (file, line, what) and no
traceback, and never loses finished work (issue 13).

Property-based (hypothesis) over ids, encodings, CSV shapes and config values, on the hand-built tiny
study of ``conftest.py`` (3 participants); environment failures (disk full, permission denied) are
simulated by making eifer's atomic writer raise. Each case counts in ``CASES`` (printed at the end).
"""
from __future__ import annotations

import contextlib
import errno
import math
import shutil
import string
from pathlib import Path

import pandas as pd
import pytest
import yaml
from _cli_checks import assert_clear_failure, invoke, snapshot, study_conftest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eifer.config import load_config
from eifer.errors import ConfigError, EiferError
from eifer.io import read_csv
from eifer.study.checks import id_problem

SETTINGS = settings(max_examples=10, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
TABLES = ("participants.csv", "ei_responses.csv", "ratings.csv", "ecg/segments.csv")
CASES: dict[str, int] = {}


def _count(name: str) -> None:
    CASES[name] = CASES.get(name, 0) + 1


def fresh(template: Path, tmp: Path) -> Path:
    dst = tmp / "study"
    if dst.exists():
        shutil.rmtree(dst)
    return Path(shutil.copytree(template, dst))


def set_pid(root: Path, old: str, new: str, rename_files: bool) -> None:
    """Replace one participant id in every table (and, if it can name files, in the ECG/video paths)."""
    for rel in TABLES:
        df = pd.read_csv(root / rel, dtype=str, keep_default_na=False)
        df["participant_id"] = df["participant_id"].replace({old: new})
        df.to_csv(root / rel, index=False)
    if rename_files:
        (root / "ecg" / f"{old}.csv").rename(root / "ecg" / f"{new}.csv")
        (root / "videos" / old).rename(root / "videos" / new)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return study_conftest().build_study(tmp_path_factory.mktemp("badinput") / "study")


@pytest.fixture(scope="module", autouse=True)
def _report_cases():
    yield
    print(f"\nbad-input suite: {sum(CASES.values())} cases: {dict(sorted(CASES.items()))}")


# --- ids ------------------------------------------------------------------------------------------------------
_safe = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=0, max_size=8)
_unsafe_char = st.sampled_from(list("/\\*?[]") + [chr(i) for i in range(32) if chr(i) not in "\n\r"] + ["\x7f"])
BAD_IDS = st.one_of(
    st.builds(lambda a, c, b: a + c + b, _safe, _unsafe_char, _safe),  # separators, NUL, control characters
    st.integers(101, 400).map(lambda n: "P" * n),  # too long to name a file (300 chars: File name too long)
    st.integers(51, 120).map(lambda n: "é" * n),  # 102+ bytes in UTF-8
    st.sampled_from(["segments", "SEGMENTS", "hrv", "HRV", "problems.csv", "Problems", "P01.rr", ".hidden", "..", "."]),
)
_id_chars = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="/\\*?[]\x7f")
GOOD_IDS = st.one_of(
    st.sampled_from(["NA", "NaN", "nan", "null", "None", "NULL", "<NA>", "#N-A", "-nan", "1.0", "007", "TRUE",
                     "cache", "frames", "models"]),
    st.text(_id_chars, min_size=1, max_size=24),
).filter(lambda s: s == s.strip() and id_problem(s) is None and s not in ("P02", "P03")
         and s.strip(string.whitespace + "\u00a0\u2000\u3000") == s and len(s.encode()) <= 100)


@SETTINGS
@given(bad=BAD_IDS)
def test_bad_participant_id_is_named_with_file_and_line(template, tmp_path, bad):
    _count("bad id -> validate")
    root = fresh(template, tmp_path)
    set_pid(root, "P01", bad, rename_files=False)
    res = invoke("validate", root, "--skip-media")
    # P01 is the first data row of participants.csv: line 2
    assert_clear_failure(res, "participants.csv, line 2")


@SETTINGS
@given(good=GOOD_IDS)
def test_odd_but_valid_ids_stay_the_same_string(template, tmp_path, good):
    _count("odd valid id -> validate + ei")
    root = fresh(template, tmp_path)
    set_pid(root, "P01", good, rename_files=True)
    res = invoke("validate", root, "--skip-media")
    assert res.exit_code == 0 and "OK: no problems found." in res.output, res.output
    out = tmp_path / "run"
    shutil.rmtree(out, ignore_errors=True)
    res = invoke("ei", root, "--out", out)
    assert res.exit_code == 0, res.output
    assert sorted(read_csv(out / "ei_scores.csv")["participant_id"]) == sorted([good, "P02", "P03"])


def test_long_id_in_a_full_run_is_a_validation_problem(template, tmp_path):
    _count("300-char id -> run")
    root = fresh(template, tmp_path)
    set_pid(root, "P02", "Q" * 300, rename_files=False)
    res = invoke("run", root, "--out", tmp_path / "run", "-p", "demo")
    assert_clear_failure(res, "participants.csv, line 3", "300 bytes long")


# --- encodings and CSV shapes ------------------------------------------------------------------------------------
@SETTINGS
@given(file=st.sampled_from(["study.yaml", "participants.csv", "ratings.csv", "ei_responses.csv", "ecg/segments.csv"]),
       encoding=st.sampled_from(["latin-1", "cp1252", "utf-16", "mac-roman"]),
       text=st.text(st.sampled_from("éüßçñø"), min_size=1, max_size=4))
def test_non_utf8_files_are_named(template, tmp_path, file, encoding, text):
    _count("encoding")
    root = fresh(template, tmp_path)
    path = root / file
    if file.endswith(".yaml"):
        body = path.read_text() + f"# {text}\n"
    else:  # a non-ASCII value in a free column of the first data row
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        df["note"] = ""
        df.loc[0, "note"] = text
        body = df.to_csv(index=False)
    path.write_bytes(body.encode(encoding))
    res = invoke("validate", root, "--skip-media")
    out = assert_clear_failure(res, file)
    assert "not UTF-8" in out or "NUL byte" in out, out


def _shapes(df: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Broken versions of a table: name -> (text, expected needle)."""
    text = df.to_csv(index=False)
    lines = text.splitlines()
    extra_all = "\n".join([lines[0]] + [ln + ",x" for ln in lines[1:]]) + "\n"
    extra_one = "\n".join(lines[:3] + [lines[3] + ",x"] + lines[4:]) + "\n"
    semicolon = text.replace(",", ";")
    return {"extra field every row": (extra_all, "line 2: the rows have 1 field(s) more than the header"),
            "extra field one row": (extra_one, "line 4: the row has"),
            "semicolons": (semicolon, "semicolon-separated"),
            "empty": ("", "file is empty"),
            "header only, wrong names": ("a,b,c\n", "required column is missing")}


@SETTINGS
@given(file=st.sampled_from(["participants.csv", "ratings.csv", "ei_responses.csv", "ecg/segments.csv"]),
       shape=st.sampled_from(["extra field every row", "extra field one row", "semicolons", "empty",
                              "header only, wrong names"]))
def test_broken_csv_shapes_are_named(template, tmp_path, file, shape):
    _count("csv shape")
    root = fresh(template, tmp_path)
    text, needle = _shapes(pd.read_csv(root / file, dtype=str, keep_default_na=False))[shape]
    (root / file).write_text(text)
    assert_clear_failure(invoke("validate", root, "--skip-media"), f"{file}", needle)


@pytest.mark.parametrize("text", ["\ufeff", "\r\n"])
def test_bom_and_crlf_are_fine(template, tmp_path, text):
    _count("valid csv variant")
    root = fresh(template, tmp_path)
    for rel in TABLES:
        body = (root / rel).read_text()
        (root / rel).write_bytes((text + body if text == "\ufeff" else body.replace("\n", "\r\n")).encode())
    res = invoke("validate", root, "--skip-media")
    assert res.exit_code == 0, res.output


# --- study.yaml values ----------------------------------------------------------------------------------------------
@SETTINGS
@given(key=st.sampled_from([("video", "fps"), ("ecg", "sampling_rate")]),
       value=st.sampled_from([math.nan, math.inf, -math.inf, 0, -1, -0.5]))
def test_study_yaml_rates_must_be_finite_and_positive(template, tmp_path, key, value):
    _count("study.yaml rate")
    root = fresh(template, tmp_path)
    meta = yaml.safe_load((root / "study.yaml").read_text())
    meta[key[0]][key[1]] = value
    text = yaml.safe_dump(meta, sort_keys=True)
    (root / "study.yaml").write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), start=1)
                if ln.strip().startswith(f"{key[1]}:") and i > text.splitlines().index(f"{key[0]}:"))
    assert_clear_failure(invoke("validate", root, "--skip-media"), f"study.yaml, line {line}: key '{'.'.join(key)}'")


# --- config values: refused before anything in a finished run folder changes ------------------------------------
@pytest.fixture(scope="module")
def finished_run(template, tmp_path_factory):
    """The tiny study with its participant-level stages finished (ei, labels)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    for stage in ("ei", "labels"):
        res = invoke(stage, template, "--out", out, "-p", "demo")
        assert res.exit_code == 0, res.output
    return out


BAD_CONFIG = st.one_of(
    st.tuples(st.just(("train", "batch_size")), st.integers(max_value=0)),
    st.tuples(st.just(("train", "repetitions")), st.integers(max_value=0)),
    st.tuples(st.just(("select", "n_arousal")), st.integers(max_value=0)),
    st.tuples(st.just(("train", "head_lr")), st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -1e-4])),
    st.tuples(st.just(("split", "val_fraction")), st.one_of(st.floats(max_value=0), st.floats(min_value=1),
                                                            st.just(math.nan))),
    st.tuples(st.just(("cutoff", "alpha")), st.one_of(st.floats(max_value=0), st.floats(min_value=1))),
    st.tuples(st.just(("frames", "ear_threshold")), st.sampled_from([math.nan, -0.1, 1.0, 2.0])),
)


@SETTINGS
@given(case=BAD_CONFIG)
def test_bad_config_value_fails_before_touching_a_finished_run(template, finished_run, tmp_path, case):
    _count("bad config -> run")
    (section, key), value = case
    cfg = tmp_path / "bad.yaml"
    text = yaml.safe_dump({"profile": "demo", section: {key: value}}, sort_keys=False)
    cfg.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), start=1) if ln.startswith(f"  {key}:"))
    before = snapshot(finished_run)
    res = invoke("run", template, "--out", finished_run, "-c", cfg)
    assert_clear_failure(res, f"bad.yaml, line {line}: key '{section}.{key}'")
    assert snapshot(finished_run) == before


def test_bad_batch_size_on_a_trained_run_keeps_every_model(tmp_path):
    """The issue's case: ``train.batch_size: 0`` on a finished run deleted all models, then crashed."""
    from eifer.runfolder import RunFolder
    from eifer.split import run_split
    from eifer.train import run_train
    from eifer.train.toy import make_toy_run

    _count("batch_size 0 on trained run")
    root = tmp_path / "run"
    make_toy_run(root, participants=6, frames_per_video=4, n_test_frames=2, size=32, seed=1)
    tiny = {"train": {"repetitions": 1, "tasks": ["arousal"], "compositions": ["direct"], "stage1_epochs": 1,
                      "stage2_epochs": 1, "image_size": 32, "n_jobs": 1}, "split": {"n_test_high": 1, "n_test_low": 1}}
    run = RunFolder(root, load_config(profile="demo", overrides=tiny)).init()
    run_split(None, run)
    run_train(None, run)
    models = snapshot(root / "models")
    assert len([m for m in models if m.endswith("meta.json")]) == 3  # High, Low, Total
    bad = {**tiny, "train": {**tiny["train"], "batch_size": 0}}
    with pytest.raises(ConfigError, match="train.batch_size"):
        run_train(None, RunFolder(root, load_config(profile="demo", overrides=bad)))
    with pytest.raises(ValueError, match="batch_size"):  # nor by assignment in code
        run.config.train.batch_size = 0
    assert snapshot(root / "models") == models


# --- environment: disk full, permission denied, read-only ----------------------------------------------------------
def _failing_writer(monkeypatch, err: int, when) -> None:
    import eifer.io

    real = eifer.io.atomic_path

    @contextlib.contextmanager
    def failing(path):
        with real(path) as tmp:
            yield tmp
            if when(Path(path)):
                raise OSError(err, f"simulated {errno.errorcode[err]}", str(path))

    monkeypatch.setattr(eifer.io, "atomic_path", failing)


@pytest.mark.parametrize("err, needle", [(errno.ENOSPC, "the disk is full"), (errno.EACCES, "permission denied"),
                                         (errno.EROFS, "read-only")])
def test_write_failure_is_clear_and_keeps_finished_stages(template, tmp_path, monkeypatch, err, needle):
    _count("write failure")
    out = tmp_path / "run"
    assert invoke("ei", template, "--out", out).exit_code == 0
    ei_before = snapshot(out)["ei_scores.csv"]
    with monkeypatch.context() as m:
        _failing_writer(m, err, lambda p: p.name == "labels.csv")
        res = invoke("labels", template, "--out", out)
    assert_clear_failure(res, "labels.csv", needle)
    assert snapshot(out)["ei_scores.csv"] == ei_before and not (out / "labels.csv").exists()
    assert not list(out.rglob(".*.tmp"))
    res = invoke("labels", template, "--out", out)  # space freed: the run goes on, ei is not redone
    assert res.exit_code == 0, res.output
    assert snapshot(out)["ei_scores.csv"] == ei_before and (out / "labels.csv").is_file()


def test_out_below_a_file_is_a_clear_error(template, tmp_path):
    _count("unwritable --out parent")
    (tmp_path / "afile").write_text("x")
    res = invoke("ei", template, "--out", tmp_path / "afile" / "run")
    assert_clear_failure(res, "afile")


@pytest.mark.skipif(hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0,
                    reason="root ignores folder permissions; the simulated EACCES/EROFS cases cover this")
def test_read_only_out_parent_is_a_clear_error(template, tmp_path):
    _count("read-only --out parent")
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        assert_clear_failure(invoke("ei", template, "--out", parent / "run"), "ro")
    finally:
        parent.chmod(0o755)


def test_latin1_config_names_the_file(template, tmp_path):
    _count("latin-1 config")
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes("profile: demo\nname_note: caf\xe9\n".encode("latin-1"))
    assert_clear_failure(invoke("validate", template, "-c", cfg, "--skip-media"), "c.yaml, line 2", "not UTF-8")


def test_real_bugs_are_not_swallowed(monkeypatch, template, tmp_path):
    """friendly_errors catches eifer's own errors and OS errors only: a ValueError from a bug shows as a bug."""
    import eifer.study

    _count("bug surfaces")

    def boom(*a, **k):
        raise ValueError("a bug")

    monkeypatch.setattr(eifer.study, "scan_study", boom)
    res = invoke("validate", template, "--skip-media")
    assert res.exit_code != 0 and isinstance(res.exception, ValueError)


def test_all_equal_ei_scores_is_a_clear_error():
    import numpy as np

    from eifer.cutoff.sweep import cutoff_sweep

    _count("all-equal EI scores")
    ids = [f"p{i:02d}" for i in range(12)]
    h = pd.DataFrame({"participant_id": np.repeat(ids, 4),
                      "emotion_label": np.tile(["HAHV", "HALV", "LAHV", "LALV"], 12),
                      "HRV_X": np.random.default_rng(0).normal(size=48)})
    for score in (800.0, 805.0):  # on and off the step grid
        sc = pd.DataFrame({"participant_id": ids, "ei_score": score})
        with pytest.raises(EiferError, match="all 12 participants have the same ei_score"):
            cutoff_sweep(sc, h, step=10)


@pytest.mark.parametrize("free, code", [(0, errno.ENOSPC), (1 << 40, errno.EIO)])
def test_torch_write_failure_becomes_an_os_error(tmp_path, monkeypatch, free, code):
    """Disk full in torch.save surfaced as ``RuntimeError: [enforce fail at inline_container.cc:672]``."""
    import eifer.io
    from eifer.cli import os_error_message

    _count("torch write failure")
    monkeypatch.setattr(eifer.io.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(1 << 41, 0, free))
    target = tmp_path / "model.pt"
    with pytest.raises(OSError) as info:
        with eifer.io.atomic_path(target):
            raise RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing "
                               "file data/0: file write failed")
    assert info.value.errno == code and info.value.filename == str(target)
    assert not target.exists() and not list(tmp_path.iterdir())  # no half file, no temp file
    if code == errno.ENOSPC:
        assert "the disk is full" in os_error_message(info.value)
    with pytest.raises(RuntimeError, match="a bug"):  # other RuntimeErrors stay what they are
        with eifer.io.atomic_path(target):
            raise RuntimeError("a bug")


@pytest.mark.parametrize("shape, needle", [("every", "ecg/P01.csv, line 2: the rows have 1 field(s) more"),
                                           ("one", "ecg/P01.csv, line 5: the row has 3 fields but the header has 2")])
def test_ecg_rows_with_an_extra_field_are_named(template, tmp_path, shape, needle):
    _count("ecg csv shape")
    root = fresh(template, tmp_path)
    lines = (root / "ecg" / "P01.csv").read_text().splitlines()
    lines = [lines[0]] + [ln + ",0" if shape == "every" or i == 5 else ln for i, ln in enumerate(lines[1:], start=2)]
    (root / "ecg" / "P01.csv").write_text("\n".join(lines) + "\n")
    assert_clear_failure(invoke("validate", root, "-j", "1"), needle)
