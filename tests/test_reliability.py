"""Issue 27: every case of the independent bad-input and attack run, as a regression test.

Each case failed on the main branch the issue was filed against (a write through a link,
a result lost, a duplicate accepted, a traceback); here each one ends in a clear error
(exit 1, file and line named, no traceback) or the right result, and loses nothing.
The tiny hand-built study of ``tests/study/conftest.py`` (3 participants) is the input.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _cli_checks import SRC, invoke, study_conftest
from _cli_checks import assert_clear_failure as clear_failure
from _cli_checks import snapshot as _snapshot

from eifer.config import load_config
from eifer.errors import ConfigError, EiferError


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return _snapshot(folder, skip_links=True)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return study_conftest().build_study(tmp_path_factory.mktemp("i27") / "study")


@pytest.fixture(scope="module")
def finished(template, tmp_path_factory):
    """A run folder with the ei and labels stages done (the template of each copy below)."""
    out = tmp_path_factory.mktemp("i27run") / "run"
    for stage in ("ei", "labels"):
        res = invoke(stage, template, "--out", out, "-p", "demo")
        assert res.exit_code == 0, res.output
    return out


def fresh(src: Path, tmp: Path, name: str) -> Path:
    return Path(shutil.copytree(src, tmp / name, symlinks=True))


# --- escapes: nothing written or read through links ----------------------------------------------------------
@pytest.mark.parametrize("name", [".lock", "log.jsonl", ".stages", "cache", "tables", "figures", "report"])
def test_link_in_the_run_folder_leading_out_is_refused_and_nothing_outside_changes(finished, template, tmp_path,
                                                                                   name):
    run = fresh(finished, tmp_path, "run")
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("keep me\n")
    if (run / name).is_dir():
        shutil.rmtree(run / name)
    elif (run / name).exists():
        (run / name).unlink()
    (run / name).symlink_to(victim if name in (".lock", "log.jsonl") else outside)
    before = snapshot(outside)
    res = invoke("report", run) if name == "report" else invoke("ei", template, "--out", run, "-p", "demo", "--force")
    clear_failure(res, f"{name}: a symlink that leads out of the run folder")
    assert snapshot(outside) == before and sorted(p.name for p in outside.iterdir()) == ["victim.txt"]


def test_link_that_stays_inside_the_run_folder_is_fine(finished, template, tmp_path):
    run = fresh(finished, tmp_path, "run")
    (run / "mine").mkdir()
    (run / "alias").symlink_to(run / "mine")
    res = invoke("ei", template, "--out", run, "-p", "demo")
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("bad", ["../secret.png", "/etc/hostname", "crops/../../secret.png"])
def test_crop_path_leaving_the_run_folder_is_refused_with_include_faces(tmp_path, bad):
    from eifer.report import build_report
    from eifer.runfolder import RunFolder

    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not yours")
    run = RunFolder(tmp_path / "run", load_config(profile="demo")).init()
    pd.DataFrame({"participant_id": ["P01"], "video_id": ["v1"], "frame": [0], "task": ["arousal"],
                  "subset": ["high"], "s": [0.5], "crop_path": [bad], "valence": [0.1], "arousal": [0.2]}
                 ).to_parquet(run.path("test_subsets.parquet"))
    with pytest.raises(EiferError, match="leads outside the run folder"):
        build_report(run, include_faces=True)
    assert not run.path("report", "faces.png").exists()


def test_crop_path_leaving_the_run_folder_is_refused_by_training(tmp_path):
    from eifer.train.images import CropDataset

    table = pd.DataFrame({"crop_path": ["crops/a.png", "../outside.png"], "arousal_label": [1, 0],
                          "arousal": [0.5, -0.5]})
    with pytest.raises(EiferError, match="'../outside.png'.*does not lie inside the run folder"):
        CropDataset(tmp_path, table, "arousal", 32)


def test_every_markdown_table_escapes_study_strings():
    from eifer.cutoff.table1 import make_table1, table_markdown

    payload = '<img src=x onerror="alert(1)">'
    groups = pd.DataFrame({"participant_id": ["P01", "P02", "P03", "P04"], "score": [1.0, 2.0, 3.0, 4.0],
                           "group": ["Low", "Low", "High", "High"]})
    ratings = pd.DataFrame({"participant_id": ["P01", "P02", "P03", "P04"], "video_id": "v1", "domain": "HAHV",
                            "arousal": [5, 6, 6, 7], "valence": [5, 6, 6, 7]})
    participants = pd.DataFrame({"participant_id": ["P01", "P02", "P03", "P04"], "sex": ["f", payload, "m", "f"]})
    md = table_markdown(make_table1(groups, ratings, participants), "Table 1")
    assert payload in make_table1(groups, ratings, participants).index.str.cat()  # it does reach the table
    assert "<img" not in md and "&lt;img src=x onerror=" in md


# --- results lost: every file a stage reads is checked before anything is deleted ------------------------------
def _safetensors(header: bytes, data: bytes = b"", length: int | None = None) -> bytes:
    return (len(header) if length is None else length).to_bytes(8, "little") + header + data


BAD_WEIGHTS = {
    "huge_length.safetensors": _safetensors(b"{}", length=2**63),
    "bad_json.safetensors": _safetensors(b"{not json"),
    "claims_4gb.safetensors": _safetensors(json.dumps({"w": {"dtype": "F32", "shape": [1 << 30],
                                                            "data_offsets": [0, 4 << 30]}}).encode(), b"\0" * 16),
    "header_90mb.safetensors": _safetensors(b"{}", b"\0" * 64, length=90_000_000),
    "offsets_mismatch.safetensors": _safetensors(json.dumps({"w": {"dtype": "F32", "shape": [4],
                                                                   "data_offsets": [0, 8]}}).encode(), b"\0" * 16),
    "a_list.safetensors": _safetensors(b"[1, 2]"),
}


@pytest.mark.parametrize("name", sorted(BAD_WEIGHTS) + ["pickled.pth"])
def test_damaged_weights_file_is_found_by_the_preflight(tmp_path, name):
    """The preflight reads the file (on main it only checked that it exists; the run then removed the
    finished models before the loader found it unreadable)."""
    from eifer.pipeline.preflight import run_preflight

    path = tmp_path / name
    if name == "pickled.pth":
        import torch

        torch.save({"state_dict": {"w": torch.zeros(2)}, "obj": _Payload()}, path)
    else:
        path.write_bytes(BAD_WEIGHTS[name])
    for key, over in (("train.pretrained_path", {"train": {"pretrained_path": str(path)}}),
                      ("transfer_cv.pretrained_paths.eifer_tinycnn",
                       {"transfer_cv": {"pretrained_paths": {"eifer_tinycnn": str(path)}}})):
        rows = run_preflight(tmp_path, load_config(profile="demo", overrides=over))
        rows = rows[rows["key"] == key]
        assert len(rows) == 1 and "cannot be used" in rows["problem"].iloc[0], rows.to_dict("records")


class _Payload:  # a pickled object: torch's weights-only reader refuses it (no code of it is run)
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_sound_weights_pass_and_tilde_means_home_for_preflight_and_loader(tmp_path, monkeypatch):
    import torch
    from safetensors.torch import save_file

    from eifer.model import check_weights_file, read_state_dict
    from eifer.pipeline.preflight import run_preflight

    monkeypatch.setenv("HOME", str(tmp_path))
    torch.save({"w": torch.ones(3)}, tmp_path / "w.pt")
    save_file({"w": torch.ones(3)}, str(tmp_path / "w.safetensors"))
    for name in ("w.pt", "w.safetensors"):
        check_weights_file(f"~/{name}")
        assert torch.equal(read_state_dict(f"~/{name}")["w"], torch.ones(3))
        cfg = load_config(profile="demo", overrides={"train": {"pretrained_path": f"~/{name}"}})
        rows = run_preflight(tmp_path, cfg, stages=["train"])
        assert not rows["key"].eq("train.pretrained_path").any(), rows.to_dict("records")


def test_safetensors_header_limit_is_exact(tmp_path):
    from eifer.model import MAX_SAFETENSORS_HEADER, check_safetensors_header

    at = tmp_path / "at.safetensors"
    body = b"{}" + b" " * (MAX_SAFETENSORS_HEADER - 2)  # JSON allows trailing blanks
    at.write_bytes(_safetensors(body))
    check_safetensors_header(at)
    over = tmp_path / "over.safetensors"
    over.write_bytes(_safetensors(body + b" "))
    with pytest.raises(EiferError, match="header claims"):
        check_safetensors_header(over)


@pytest.mark.parametrize("args, needle", [
    (("--seed", str(2**64)), "key 'seed'"),
    (("--seed", str(2**32)), "key 'seed'"),
])
def test_seed_outside_the_generators_range_fails_before_touching_a_run(finished, template, tmp_path, args, needle):
    run = fresh(finished, tmp_path, "run")
    before = snapshot(run)
    clear_failure(invoke("run", template, "--out", run, "-p", "demo", *args), needle)
    assert snapshot(run) == before


def test_seed_range_boundary():
    assert load_config(profile="demo", seed=2**32 - 1).seed == 2**32 - 1
    with pytest.raises(ConfigError, match="seed"):
        load_config(profile="demo", seed=2**32)


@pytest.mark.parametrize("device, ok", [("banana", False), ("cuda:", False), ("cpu ", False), ("gpu", False),
                                        ("auto", True), ("cpu", True), ("cuda", True), ("cuda:1", True),
                                        ("mps", True)])
def test_train_device_must_be_one_torch_knows(device, ok):
    over = {"train": {"device": device}}
    if ok:
        assert load_config(profile="demo", overrides=over).train.device == device
    else:
        with pytest.raises(ConfigError, match="train.device"):
            load_config(profile="demo", overrides=over)


def test_threshold_grid_size_boundary():
    from eifer.config import MAX_THRESHOLDS

    step = 2.0**-17  # exact in binary: (1 - 0) / step is exactly 131072
    assert MAX_THRESHOLDS == 1 / step
    assert load_config(overrides={"train": {"threshold_grid": [0.0, 1.0, step]}}).train.threshold_grid[2] == step
    for tiny in (step * (1 - 2**-20), 1e-300):
        with pytest.raises(ConfigError, match="threshold_grid"):
            load_config(overrides={"train": {"threshold_grid": [0.0, 1.0, tiny]}})


def test_bad_device_or_grid_in_a_config_file_fails_before_touching_a_run(finished, template, tmp_path):
    run = fresh(finished, tmp_path, "run")
    before = snapshot(run)
    for text, needle in (("profile: demo\ntrain:\n  device: banana\n", "bad.yaml, line 3: key 'train.device'"),
                         ("profile: demo\ntrain:\n  threshold_grid: [0.2, 0.8, 1.0e-300]\n",
                          "bad.yaml, line 2: key 'train': threshold_grid: step 1e-300 gives more than")):
        cfg = tmp_path / "bad.yaml"
        cfg.write_text(text)
        clear_failure(invoke("run", template, "--out", run, "-c", cfg), needle)
        assert snapshot(run) == before


@pytest.mark.parametrize("content", [b'{"stage": "ei", "fingerp', b"[1, 2, 3]\n", b'{"stage": "ei"}\n',
                                     b'{"fingerprint": 7}\n', b"\xff\xfe"])
def test_damaged_stage_record_reruns_the_stage(finished, template, tmp_path, content):
    run = fresh(finished, tmp_path, "run")
    (run / ".stages" / "ei.json").write_bytes(content)
    (run / ".stages" / "labels.running.json").write_bytes(content)
    res = invoke("ei", template, "--out", run, "-p", "demo")
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    rec = json.loads((run / ".stages" / "ei.json").read_text())
    assert isinstance(rec["fingerprint"], str) and rec["outputs"]
    events = [json.loads(line)["event"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert events[-3:] == ["stage_invalidated", "stage_start", "stage_done"] or "stage_done" in events[-2:]


# --- duplicates and YAML ---------------------------------------------------------------------------------------
def _copy_study(template: Path, tmp: Path) -> Path:
    return Path(shutil.copytree(template, tmp / "study"))


def test_duplicate_key_in_study_yaml_is_named(template, tmp_path):
    root = _copy_study(template, tmp_path)
    text = (root / "study.yaml").read_text()
    (root / "study.yaml").write_text(text + "likert:\n  min: 1\n  max: 9\n")
    line = len(text.splitlines()) + 1
    clear_failure(invoke("validate", root, "--skip-media"), f"study.yaml, line {line}: key 'likert' appears twice")


def test_duplicate_key_in_a_config_is_named(template, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("profile: demo\ntrain:\n  repetitions: 2\n  repetitions: 3\n")
    clear_failure(invoke("config", "check", cfg), "c.yaml, line 4: key 'repetitions' appears twice")
    clear_failure(invoke("ei", template, "--out", tmp_path / "run", "-c", cfg), "appears twice")


@pytest.mark.parametrize("file, header_from, header_to", [
    ("participants.csv", "participant_id,sex,age", "participant_id,sex,age,sex"),
    ("ratings.csv", "participant_id,video_id,domain,arousal,valence",
     "participant_id,video_id,domain,arousal,valence,arousal"),
])
def test_duplicate_csv_column_is_named(template, tmp_path, file, header_from, header_to):
    root = _copy_study(template, tmp_path)
    lines = (root / file).read_text().splitlines()
    assert lines[0] == header_from
    extra = header_to.split(",")[-1]
    col = header_from.split(",").index(extra)
    body = [f"{ln},{ln.split(',')[col]}" for ln in lines[1:]]
    (root / file).write_text("\n".join([header_to, *body]) + "\n")
    clear_failure(invoke("validate", root, "--skip-media"),
                  f"{file}, line 1, column '{extra}': column appears more than once in the header")


def test_duplicate_ecg_column_is_named(template, tmp_path):
    root = _copy_study(template, tmp_path)
    df = pd.read_csv(root / "ecg" / "P02.csv")
    df.insert(2, "ecg2", df["ecg"])
    df.to_csv(root / "ecg" / "P02.csv", index=False)
    text = (root / "ecg" / "P02.csv").read_text().replace("ecg2", "ecg", 1)
    (root / "ecg" / "P02.csv").write_text(text)
    clear_failure(invoke("validate", root), "ecg/P02.csv, line 1, column 'ecg': column appears")


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


@pytest.mark.parametrize("where, text, needle", [
    ("study", "name: &n [1, *n]\n", "recursive structure"),
    ("study", BOMB, "expands to more than"),
    ("config", "profile: demo\naffect:\n  options: &o {a: *o}\n", "recursive structure"),
    ("config", "profile: demo\nseed: &s [*s]\n", "recursive structure"),
    ("config", "profile: demo\n" + BOMB, "expands to more than"),
])
def test_recursive_aliases_and_alias_bombs_are_refused(template, tmp_path, where, text, needle):
    t0 = time.perf_counter()
    if where == "study":
        root = _copy_study(template, tmp_path)
        (root / "study.yaml").write_text(text)
        clear_failure(invoke("validate", root, "--skip-media"), "study.yaml, line", needle)
    else:
        cfg = tmp_path / "c.yaml"
        cfg.write_text(text)
        clear_failure(invoke("config", "check", cfg), "c.yaml, line", needle)
        clear_failure(invoke("ei", template, "--out", tmp_path / "run", "-c", cfg), needle)
    assert time.perf_counter() - t0 < 60  # refused before expanding (a billion nodes would never finish)


def test_yaml_node_limit_is_exact():
    from eifer._yaml import MAX_YAML_NODES, YamlError, load_yaml

    # a flow list of n scalars is n + 1 nodes; the document mapping adds a key and itself: n + 3
    n = MAX_YAML_NODES - 3
    assert len(load_yaml("k: [" + ", ".join(["1"] * n) + "]\n", "f.yaml")["k"]) == n
    with pytest.raises(YamlError, match="expands to more than"):
        load_yaml("k: [" + ", ".join(["1"] * (n + 1)) + "]\n", "f.yaml")


@pytest.mark.parametrize("stimuli, ok", [(1000, True), (1001, False), (1_000_000_000_000, False)])
def test_ei_stimuli_is_bounded(stimuli, ok):
    from eifer.study.meta import meta_from_dict

    meta, problems = meta_from_dict({"ei": {"stimuli": stimuli}})
    assert (meta.ei_stimuli == stimuli and not problems) if ok else \
        (meta.ei_stimuli == 10 and "at most 1000" in str(problems[0]))


def test_huge_ei_stimuli_is_a_validation_problem(template, tmp_path):
    root = _copy_study(template, tmp_path)
    (root / "study.yaml").write_text((root / "study.yaml").read_text().replace("stimuli: 10", "stimuli: 1000000000000"))
    clear_failure(invoke("validate", root, "--skip-media"), "key 'ei.stimuli'", "at most 1000")


@pytest.mark.parametrize("key, value", [("clean_method", "banana"), ("peak_method", "banana"),
                                        ("peak_method", "")])
def test_hrv_methods_are_checked_against_neurokit(template, tmp_path, key, value):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"profile: demo\nhrv:\n  {key}: '{value}'\n")
    out = clear_failure(invoke("hrv", template, "--out", tmp_path / "run", "-c", cfg),
                        "NeuroKit2 does not accept this method")
    assert f"hrv.{key} = {value}: " in out if value else f"hrv.{key}: " in out
    assert not (tmp_path / "run").exists()


def test_hrv_methods_neurokit_accepts_pass_the_preflight(template):
    from eifer.pipeline.preflight import run_preflight

    cfg = load_config(profile="demo", overrides={"hrv": {"clean_method": "biosppy", "peak_method": "kalidas2017"}})
    assert not run_preflight(template, cfg, stages=["hrv"])["key"].str.startswith("hrv.").any()


@pytest.mark.parametrize("value, ok", [(1e9, True), (-1e9, True), (1.0000001e9, False), (1e308, False)])
def test_ecg_sample_magnitude_boundary(template, tmp_path, value, ok):
    from eifer.study.media import check_ecg_file
    from eifer.study.meta import read_meta

    root = _copy_study(template, tmp_path)
    df = pd.read_csv(root / "ecg" / "P01.csv")
    df.loc[40, "ecg"] = value
    df.to_csv(root / "ecg" / "P01.csv", index=False, float_format="%.10g")
    got, _fs, problems = check_ecg_file(root, read_meta(root)[0], "P01")
    assert got is not None
    if ok:
        assert not problems
    else:
        assert [(p.row, p.column) for p in problems] == [(42, "ecg")] and "beyond ±1e+09" in problems[0].message


def test_ecg_sample_of_1e308_is_a_validation_error_not_a_traceback(template, tmp_path):
    root = _copy_study(template, tmp_path)
    df = pd.read_csv(root / "ecg" / "P03.csv")
    df.loc[500, "ecg"] = 1e308
    df.to_csv(root / "ecg" / "P03.csv", index=False)
    clear_failure(invoke("hrv", root, "--out", tmp_path / "run", "-p", "demo"), "ecg/P03.csv, line 502, column 'ecg'")


def test_symlink_loops_in_the_study_are_named(template, tmp_path):
    root = _copy_study(template, tmp_path)
    (root / "videos" / "P01" / "a.mp4").symlink_to("b.mp4")
    (root / "videos" / "P01" / "b.mp4").symlink_to("a.mp4")
    (root / "ecg" / "self.csv").symlink_to("self.csv")
    out = clear_failure(invoke("validate", root, "--skip-media"), "videos/P01/a.mp4: is a symlink to b.mp4 that leads "
                                                                  "nowhere", "ecg/self.csv")
    assert "RuntimeError" not in out and "OSError" not in out


@pytest.mark.timeout(300)  # a FIFO opened for reading would block for ever
def test_fifo_as_ecg_file_is_not_a_regular_file(template, tmp_path):
    root = _copy_study(template, tmp_path)
    (root / "ecg" / "P02.csv").unlink()
    os.mkfifo(root / "ecg" / "P02.csv")
    clear_failure(invoke("validate", root), "ecg/P02.csv: not a regular file")


def test_folder_as_config_is_named_as_a_folder(tmp_path):
    clear_failure(invoke("config", "show", "-c", tmp_path), "is a folder, not a config file")


def test_custom_domain_names_are_refused_by_validate(template, tmp_path):
    from eifer.labels import domain_directions

    root = _copy_study(template, tmp_path)
    text = (root / "study.yaml").read_text()
    (root / "study.yaml").write_text(text.replace("- HAHV", "- happy"))
    clear_failure(invoke("validate", root, "--skip-media"), "key 'domains': 'happy' is not a domain eifer can label")
    with pytest.raises(EiferError):  # the stage that made validate's rule
        domain_directions("happy")


# --- ids, figures ----------------------------------------------------------------------------------------------
def test_ids_differing_in_punctuation_get_different_figure_files(tmp_path):
    from eifer.io import encode_file_name

    ids = ["A.1", "A 1", "A_1", "A-1", "A/1", "A_2e1", "a.1", "Ä1", "A1"]
    names = [encode_file_name(i) for i in ids]
    assert len(set(names)) == len(ids)
    for n in names:  # each one a plain file name on every OS
        assert all(ch.isascii() and (ch.isalnum() or ch in "-_~") for ch in n)
        (tmp_path / f"{n}.png").write_bytes(b"x")
    assert len(list(tmp_path.iterdir())) == len(ids)


def test_mathtext_in_a_participant_id_draws_as_text(tmp_path):
    from eifer.report.figures import frame_quality_figure, participant_frames_figure, save_png

    f = pd.DataFrame({"video_id": "v$^^$1", "time_s": [0.0, 0.1, 0.2], "reason": ["", "no_face", ""],
                      "valence": [0.2, np.nan, 0.3], "arousal": [-0.1, np.nan, 0.0]})
    save_png(participant_frames_figure(f, "Participant P$^^$1"), tmp_path / "p.png")
    q = pd.DataFrame({"participant_id": ["P$^^$1", "$\\frac{1}{0}$"], "frames": [3, 3], "valid": [2, 3],
                      "no_face": [1, 0]})
    save_png(frame_quality_figure(q, ["valid", "no_face"]), tmp_path / "q.png")
    assert (tmp_path / "p.png").stat().st_size > 0 and (tmp_path / "q.png").stat().st_size > 0


# --- video display matrix ---------------------------------------------------------------------------------------
def _write(path: Path, frames: list[np.ndarray], rotation: int | None = None) -> None:
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = w, h, "yuv444p"
        s.options = {"qp": "0"}
        if rotation is not None:
            s.set_display_rotation(rotation)
        for img in frames:
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_display_matrix_is_honoured_as_a_player_would(tmp_path, rotation):
    """A portrait picture stored as landscape pixels + a display matrix decodes upright."""
    from eifer.frames.decode import iter_video

    upright = np.zeros((64, 48, 3), np.uint8)  # portrait: a bright block at the top left, a mid one below
    upright[:12, :16] = 250
    upright[40:52, 20:40] = 120
    stored = np.ascontiguousarray(np.rot90(upright, k=-(rotation // 90)))  # what the phone wrote
    _write(tmp_path / "rot.mp4", [stored] * 3, rotation)
    got = [rgb for _i, _t, rgb in iter_video(tmp_path / "rot.mp4")]
    assert len(got) == 3 and got[0].shape == upright.shape
    assert np.abs(got[0].astype(int) - upright).max() <= 8  # lossless up to the colour conversion


@pytest.mark.parametrize("rotation", [None, 90])
def test_decoded_frames_are_freed_when_dropped_not_left_to_the_cycle_collector(tmp_path, rotation):
    # issue 26: reading frame.side_data (PyAV) on every frame tied each decoded frame into a reference
    # cycle; a worker then held up to hundreds of MB of decoded frames between cycle collections
    import gc

    from eifer.frames.decode import iter_video, read_frames_at

    img = np.zeros((48, 64, 3), np.uint8)
    found = {}
    for n in (4, 40):
        _write(tmp_path / f"v{n}.mp4", [img] * n, rotation)
        gc.collect()
        gc.disable()
        try:
            assert sum(1 for _ in iter_video(tmp_path / f"v{n}.mp4")) == n
            assert [i for i, _ in read_frames_at(tmp_path / f"v{n}.mp4", [1, 3])] == [1, 3]  # stops early
            found[n] = gc.collect()
        finally:
            gc.enable()
    assert found[40] == found[4], found  # cyclic garbage per video, none per frame


def test_mirroring_display_matrix_is_refused_clearly(tmp_path):
    from eifer.frames.decode import iter_video

    img = np.zeros((48, 64, 3), np.uint8)
    import av

    with av.open(str(tmp_path / "m.mp4"), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.set_display_rotation(0, hflip=True)
        for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    with pytest.raises(EiferError, match="mirrors the picture"):
        list(iter_video(tmp_path / "m.mp4"))


def test_unrotated_video_is_unchanged(tmp_path):
    from eifer.frames.decode import iter_video

    img = np.zeros((48, 64, 3), np.uint8)
    img[:10, :20] = 250
    _write(tmp_path / "plain.mp4", [img])
    (_i, _t, got), = list(iter_video(tmp_path / "plain.mp4"))
    assert got.shape == img.shape and np.abs(got.astype(int) - img).max() <= 8


# --- --out, cache, Ctrl-C, Ray address, disk full -----------------------------------------------------------------
def test_out_onto_a_folder_that_is_not_a_run_folder_is_refused(template, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("my own notes\n")
    (mine / "log.jsonl").write_text("my log\n")
    before = snapshot(mine)
    clear_failure(invoke("ei", template, "--out", mine, "-p", "demo"), "is not an eifer run folder and not empty")
    assert snapshot(mine) == before and sorted(p.name for p in mine.iterdir()) == ["config.yaml", "log.jsonl"]


def test_out_onto_an_empty_folder_or_one_holding_only_the_study_works(template, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert invoke("ei", template, "--out", empty, "-p", "demo").exit_code == 0
    holder = tmp_path / "holder"
    shutil.copytree(template, holder / "study")
    res = invoke("ei", holder / "study", "--out", holder, "-p", "demo")
    assert res.exit_code == 0, res.output
    assert invoke("ei", holder / "study", "--out", holder, "-p", "demo").exit_code == 0  # a run folder now


def test_content_cache_sees_an_edit_that_keeps_size_and_mtime(tmp_path):
    from eifer.io import hash_contents

    f = tmp_path / "ratings.csv"
    f.write_text("participant_id,arousal\nP01,3\n")
    st = f.stat()
    cache = tmp_path / "cache.json"
    first = hash_contents([f], tmp_path, cache)
    time.sleep(0.01)
    f.write_text("participant_id,arousal\nP01,7\n")  # same size
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime back
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    assert hash_contents([f], tmp_path, cache) != first


def test_content_cache_sees_a_file_replaced_by_another(tmp_path):
    from eifer.io import hash_contents

    f, g = tmp_path / "a.csv", tmp_path / "b.csv"
    f.write_text("x\n1\n")
    g.write_text("x\n2\n")
    os.utime(g, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns))
    cache = tmp_path / "cache.json"
    first = hash_contents([f], tmp_path, cache)
    os.replace(g, f)  # same name, size and mtime; another inode
    assert hash_contents([f], tmp_path, cache) != first


def test_ctrl_c_stops_the_workers_keeps_finished_work_and_exits_130(template, tmp_path):
    import neurokit2 as nk

    template = _copy_study(template, tmp_path)  # with ECGs that have beats, so the resumed stage finishes
    for k, pid in enumerate(("P01", "P02", "P03")):
        sig = nk.ecg_simulate(duration=101, sampling_rate=100, heart_rate=65 + 5 * k, random_state=k)
        pd.DataFrame({"time_s": np.round(np.arange(sig.size) / 100, 4), "ecg": np.round(sig, 5)}).to_csv(
            template / "ecg" / f"{pid}.csv", index=False)
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "EIFER_NO_PROGRESS": "1"}
    cfg = tmp_path / "c.yaml"
    cfg.write_text("profile: demo\nhrv:\n  n_jobs: 2\n  min_beats: 5\n")
    assert invoke("ei", template, "--out", out, "-c", cfg).exit_code == 0
    ei_before = (out / "ei_scores.csv").read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "eifer.cli", "hrv", str(template), "--out", str(out), "-c",
                             str(cfg)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    log = out / "log.jsonl"
    while time.time() < deadline and '"stage": "hrv"' not in (log.read_text() if log.exists() else ""):
        time.sleep(0.05)
    time.sleep(0.5)  # inside the stage: workers are starting or running
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the stage finished before the signal arrived")
    assert proc.returncode == 130, (proc.returncode, stderr)
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert [ln for ln in stderr.splitlines() if ln.strip()] == [
        "interrupted: finished work is kept; run the same command again to go on"], stderr
    assert (out / "ei_scores.csv").read_bytes() == ei_before and (out / ".stages" / "ei.json").is_file()
    res = invoke("hrv", template, "--out", out, "-c", cfg)  # and it goes on from there
    assert res.exit_code == 0, res.output


# A ray:// address without Ray Client is tested in tests/test_parallel.py
# (test_ray_client_address_without_ray_client_says_what_to_install, in a child process: this test
# session may already hold a Ray instance, which ensure_ray then reuses).


def test_disk_full_names_the_file(tmp_path, monkeypatch):
    from eifer.cli import os_error_message
    from eifer.io import write_text

    real_write = Path.write_bytes

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")  # write() sets no file name

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError) as info:
        write_text(tmp_path / "tables" / "table2.md", "x")
    monkeypatch.setattr(Path, "write_bytes", real_write)
    msg = os_error_message(info.value)
    assert msg.startswith(str(tmp_path / "tables" / "table2.md")) and "the disk is full" in msg
    assert not list((tmp_path / "tables").iterdir())


# --- beyond the listed cases: the same rules where a hidden run would look next ----------------------------------
@pytest.mark.parametrize("name", [".lock", "log.jsonl"])
def test_hard_link_to_a_file_outside_is_refused(finished, template, tmp_path, name):
    run = fresh(finished, tmp_path, "run")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (run / name).unlink(missing_ok=True)
    os.link(victim, run / name)
    clear_failure(invoke("ei", template, "--out", run, "-p", "demo", "--force"), f"{name}: has 2 hard links")
    assert victim.read_text() == "keep me\n"


@pytest.mark.parametrize("content", [b'{"name": "x", "pa', b"[1]", b"\xff"])
def test_damaged_study_json_or_versions_json_do_not_stop_the_report(finished, tmp_path, content):
    run = fresh(finished, tmp_path, "run")
    (run / "study.json").write_bytes(content)
    (run / "versions.json").write_bytes(content)
    res = invoke("report", run)
    assert res.exit_code == 0, res.output
    assert (run / "report" / "index.html").is_file()
    clear_failure(invoke("stats", "--out", run), "no study.json (or a damaged one)")


@pytest.mark.timeout(300)
def test_fifo_as_study_yaml_or_config_is_named(template, tmp_path):
    root = _copy_study(template, tmp_path)
    (root / "study.yaml").unlink()
    os.mkfifo(root / "study.yaml")
    clear_failure(invoke("validate", root, "--skip-media"), "study.yaml: not a regular file")
    os.mkfifo(tmp_path / "c.yaml")
    clear_failure(invoke("config", "show", "-c", tmp_path / "c.yaml"), "c.yaml: not a regular file")
