"""Atomic writes and stage fingerprints of the run folder."""
import json
import os

import pandas as pd
import pytest

from eifer.config import load_config
from eifer.io import atomic_path, write_csv, write_json
from eifer.runfolder import RunFolder


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    write_csv(target, pd.DataFrame({"a": [1]}))
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half written")
            raise RuntimeError("crash")
    assert pd.read_csv(target)["a"].tolist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temp file left


def test_run_folder_records_config_and_versions(tmp_path):
    run = RunFolder(tmp_path / "run", load_config(profile="demo", seed=5)).init()
    assert "seed: 5" in (run.root / "config.yaml").read_text()
    versions = json.loads((run.root / "versions.json").read_text())
    assert versions["numpy"] and versions["python"]


def test_require_names_the_file_and_the_stage_to_run(tmp_path):
    from eifer.errors import EiferError

    run = RunFolder(tmp_path / "run", load_config(profile="demo")).init()
    with pytest.raises(EiferError, match=r"groups\.csv: not found; run `eifer cutoff` first"):
        run.require("groups.csv", stage="cutoff")
    write_csv(run.path("groups.csv"), pd.DataFrame({"participant_id": ["p1"], "group": ["High"]}))
    assert run.require("groups.csv", stage="cutoff") == run.path("groups.csv")


def test_stage_fingerprint_skip_and_invalidate(tmp_path):
    cfg = load_config(profile="demo")
    run = RunFolder(tmp_path, cfg).init()
    fp_a = run.fingerprint(extra={"frames": cfg.frames.model_dump()})
    write_json(run.path("a.json"), {})
    run.mark_done("a", fp_a, ["a.json"], 0.1)
    assert run.is_done("a", fp_a)
    fp_b = run.fingerprint(upstream=("a",), extra="b")
    run.mark_done("b", fp_b, [], 0.1)
    # changing stage a's config changes a's fingerprint and, through upstream, b's
    cfg2 = load_config(profile="demo", overrides={"frames": {"every_nth": 2}})
    run2 = RunFolder(tmp_path, cfg2)
    fp_a2 = run2.fingerprint(extra={"frames": cfg2.frames.model_dump()})
    assert not run2.is_done("a", fp_a2)
    run2.mark_done("a", fp_a2, ["a.json"], 0.1)
    assert run2.fingerprint(upstream=("a",), extra="b") != fp_b
    # a deleted output means the stage is not done
    os.remove(run.path("a.json"))
    assert not run2.is_done("a", fp_a2)
    events = [json.loads(line)["event"] for line in run.path("log.jsonl").read_text().splitlines()]
    assert events.count("stage_done") == 3


def test_atomic_write_uses_normal_permissions(tmp_path):
    f = tmp_path / "perm.json"
    write_json(f, {"a": 1})
    plain = tmp_path / "plain.json"
    plain.write_text("{}")
    assert (f.stat().st_mode & 0o777) == (plain.stat().st_mode & 0o777)


def test_hash_contents_follows_the_bytes_not_the_path(tmp_path):
    from eifer.io import hash_contents

    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        root.mkdir()
        (root / "v.bin").write_bytes(b"x")
    cache = tmp_path / "hashes.json"
    h = hash_contents([a / "v.bin"], a, cache)
    assert hash_contents([b / "v.bin"], b, cache) == h  # same relative path and bytes elsewhere
    (b / "v.bin").write_bytes(b"y")
    os.utime(b / "v.bin", ns=(1, 1))  # a new mtime: the cached digest is not reused
    assert hash_contents([b / "v.bin"], b, cache) != h


def test_a_run_folder_made_before_settings_moved_stays_readable(tmp_path):
    # RUN/config.yaml of an older eifer holds frames.crop_size, frames.crop_margin and stats.fdr
    import yaml

    from eifer.config import load_config as load_user_config
    from eifer.errors import ConfigError
    from eifer.results import load_run
    from eifer.runfolder import read_run_config

    run = RunFolder(tmp_path, load_config(profile="demo")).init()
    old = yaml.safe_load(run.path("config.yaml").read_text())
    for key in ("crop_size", "crop_margin", "store_crops"):
        old["select"].pop(key)
    old["affect"].pop("crop_margin")
    old["frames"].update(crop_size=77, crop_margin=0.3, store_crops="all")
    old["stats"]["fdr"] = "bh"
    run.path("config.yaml").write_text(yaml.safe_dump(old))
    cfg = read_run_config(tmp_path)
    assert (cfg.select.crop_size, cfg.select.crop_margin, cfg.select.store_crops) == (77, 0.3, "all")
    assert cfg.affect.crop_margin == 0.3
    assert load_run(tmp_path).config == cfg
    # a config file a user writes is told where the keys went instead
    with pytest.raises(ConfigError, match=r"key 'frames.crop_size': setting moved: write it as 'select.crop_size'"):
        load_user_config(run.path("config.yaml"))
