"""The pipeline under the ``ray`` executor writes the same tables, byte for byte, as under ``local``."""
from __future__ import annotations

import filecmp
import json
from pathlib import Path


def _tables(root: Path) -> dict[str, Path]:
    """Every table, crop, model and cache file of a run folder, except logs and timing records."""
    skip = {"log.jsonl", "config.yaml"}  # config.yaml names the executor
    out = {}
    for f in sorted(root.rglob("*")):
        rel = f.relative_to(root).as_posix()
        if f.is_file() and f.name not in skip and not rel.startswith(".stages/"):
            out[rel] = f
    return out


def _same(a: Path, b: Path) -> bool:
    if a.name == "meta.json":  # a training unit's wall-clock seconds differ; nothing else may
        ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
        ja.pop("seconds", None), jb.pop("seconds", None)
        return ja == jb
    if a.suffix == ".pt":  # torch.save writes a random serialization id; the weights must be equal
        import torch

        sa, sb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
        return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    return filecmp.cmp(a, b, shallow=False)


def test_frames_hrv_train_tables_identical_under_local_and_ray(ray_cluster, synth_video_small, tmp_path,
                                                               tiny_profile):
    """Frames (24 videos), HRV (6 participants), training (2 units per phase), 2 at once under both."""
    from eifer.config import load_config
    from eifer.pipeline import run_pipeline

    over = {**tiny_profile, "frames": {"n_jobs": 2}, "hrv": {"n_jobs": 2},
            "train": {**tiny_profile["train"], "n_jobs": 2}}
    runs = {}
    for kind in ("local", "ray"):
        cfg = load_config(profile="demo", overrides={**over, "executor": {"kind": kind}})
        res = run_pipeline(synth_video_small, tmp_path / kind, cfg, stages=["train"], show_progress=False)
        assert set(res.status) == {"ran"}, res
        runs[kind] = _tables(tmp_path / kind)
    local, ray = runs["local"], runs["ray"]
    for must in ("frames/P01/V1.parquet", "hrv.parquet", "dataset.parquet", "predictions.parquet"):
        assert must in local, sorted(local)
    assert sum(k.startswith("models/") and k.endswith("predictions.parquet") for k in local) >= 4
    assert sorted(local) == sorted(ray)
    differ = [k for k in local if not _same(local[k], ray[k])]
    assert not differ, f"differ between local and ray: {differ}"
