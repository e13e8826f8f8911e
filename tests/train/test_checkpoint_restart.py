"""A training checkpoint cut short restarts its unit (logged); a whole one of another model is an error (#27c)."""
import json

import pandas as pd
import pytest
import torch

from eifer.config import load_config
from eifer.errors import EiferError
from eifer.model import create_model
from eifer.runfolder import RunFolder
from eifer.split import run_split
from eifer.train import train_all
from eifer.train.core import unit_dir
from eifer.train.fit import CHECKPOINT, checkpoint_incomplete, load_checkpoint, save_checkpoint
from eifer.train.stage import require_splits, train_settings
from eifer.train.toy import make_toy_run

TINY = {"backbone": "eifer_tinycnn", "allow_random_init": True, "image_size": 32, "batch_size": 16,
        "stage1_epochs": 1, "stage2_epochs": 1, "warmup_epochs": 0, "repetitions": 1, "tasks": ["arousal"],
        "compositions": ["direct"], "num_workers": 0, "device": "cpu", "n_jobs": 1}
UNIT = {"composition": "direct", "group": "High", "task": "arousal", "rep": 0}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckrestart") / "run"
    make_toy_run(root, participants=8, frames_per_video=4, size=32)
    cfg = load_config(profile="demo", overrides={"split": {"n_test_high": 1, "n_test_low": 1}, "train": TINY})
    run = RunFolder(root, cfg).init()
    run_split(None, run)
    sp = require_splits(run)
    ds = pd.read_parquet(root / "dataset.parquet")

    def train():
        return train_all(ds, None, sp, train_settings(cfg), model_dir=root / "models", crop_root=root)

    return root, train, train()


def _interrupt(root, state: dict) -> "tuple":
    """Make UNIT unfinished (no predictions, no meta) and give it the checkpoint ``state``."""
    out = unit_dir(root / "models", "eifer_tinycnn", UNIT)
    for name in ("meta.json", "predictions.parquet", "model.pt"):
        (out / name).unlink(missing_ok=True)
    save_checkpoint(out / CHECKPOINT, state)
    return out, out / CHECKPOINT


def _key(pred):
    return pred.sort_values(["group", "condition", "item"]).reset_index(drop=True)


def test_checkpoint_cut_short_restarts_the_unit_and_logs_it(trained):
    root, train, ref = trained
    model = create_model("eifer_tinycnn", None, allow_random_init=True)
    out, ck = _interrupt(root, {"epoch_done": 1, "stage": "stage1", "model": model.state_dict(), "history": []})
    whole = ck.read_bytes()
    ck.write_bytes(whole[: len(whole) // 2])  # a crash before the data reached the disk
    with pytest.raises(EiferError, match="not a checkpoint written by eifer"):
        load_checkpoint(ck)  # what the unit met before: an error asking to delete the file
    again = train()
    pd.testing.assert_frame_equal(_key(again), _key(ref))  # the unit ran from its first epoch: same result
    assert (out / "meta.json").is_file() and not ck.exists()
    events = [json.loads(line) for line in (root / "log.jsonl").read_text().splitlines()]
    restarted = [e for e in events if e["event"] == "checkpoint_restarted"]
    assert len(restarted) == 1 and restarted[0]["unit"] == "direct/High/arousal/rep0"
    assert restarted[0]["file"] == str(ck) and restarted[0]["reason"].startswith("tensor data cut short")


def test_whole_checkpoint_of_another_model_is_still_an_error(trained):
    root, train, _ = trained
    wrong = torch.nn.Linear(3, 2).state_dict()  # tensors present, keys and shapes of another model
    out, ck = _interrupt(root, {"epoch_done": 1, "stage": "stage1", "model": wrong, "history": []})
    assert checkpoint_incomplete(ck) is None
    with pytest.raises(EiferError, match=f"{CHECKPOINT}: checkpoint does not fit this model"):
        train()
    assert ck.is_file()  # kept: the user decides


def test_incomplete_is_exact_at_the_length_the_header_gives(tmp_path):
    ck = tmp_path / CHECKPOINT
    save_checkpoint(ck, {"epoch_done": 1, "w": torch.arange(10.0)})
    whole = ck.read_bytes()
    n = int.from_bytes(whole[:8], "little")
    assert len(whole) == 8 + n + 40  # ten float32 values after the header
    assert checkpoint_incomplete(ck) is None
    ck.write_bytes(whole[:-1])
    assert checkpoint_incomplete(ck) == f"tensor data cut short: {len(whole) - 1} of {len(whole)} bytes"
    ck.write_bytes(whole[: 8 + n])
    assert checkpoint_incomplete(ck).startswith("tensor data cut short")
    ck.write_bytes(whole[: 8 + n - 1])
    assert checkpoint_incomplete(ck) == f"header cut short: {8 + n - 1} of {8 + n} bytes"
    ck.write_bytes(whole[:7])
    assert checkpoint_incomplete(ck) == "header length cut short: 7 bytes"
    ck.write_bytes(b"")
    assert checkpoint_incomplete(ck) == "empty file"
    torch.save({"epoch_done": 1}, ck)  # a whole file of another format: not "incomplete", still refused
    assert checkpoint_incomplete(ck) is None
    with pytest.raises(EiferError, match="not a checkpoint written by eifer"):
        load_checkpoint(ck)
    assert checkpoint_incomplete(tmp_path / "absent") is None
