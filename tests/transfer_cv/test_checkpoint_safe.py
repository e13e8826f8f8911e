"""A checkpoint swapped into a run folder cannot run code on resume (issue 13, item 1)."""
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from eifer.config import load_config
from eifer.errors import EiferError
from eifer.model import create_model
from eifer.train.fit import CHECKPOINT, fit_two_stage, load_checkpoint, save_checkpoint
from eifer.train.stage import train_settings
from eifer.transfer_cv.fit import fit_gradual
from eifer.transfer_cv.stage import cv_settings


class _Payload:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _plant(path: Path, marker: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch_done": 1, "model": _Payload(marker)}, path)


def test_the_payload_is_live(tmp_path):
    # the planted file really runs code when unpickled; the tests below would prove nothing otherwise
    marker = tmp_path / "pwned"
    _plant(tmp_path / "x.pt", marker)
    torch.load(tmp_path / "x.pt", weights_only=False)
    assert marker.exists()


def test_malicious_checkpoint_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    ck = tmp_path / "run" / "models" / "u1"
    _plant(ck / CHECKPOINT, marker)
    _plant(ck / "checkpoint.pt", marker)  # an old-style name is never read at all
    with pytest.raises(EiferError, match="not a checkpoint written by eifer.*never pickles"):
        load_checkpoint(ck / CHECKPOINT)
    cfg = load_config(profile="demo")
    ds = SimpleNamespace(labels=torch.tensor([0, 1, 0, 1]))
    with pytest.raises(EiferError, match=f"{CHECKPOINT}: not a checkpoint written by eifer"):
        fit_two_stage(create_model("eifer_tinycnn"), ds, ds, train_settings(cfg), seed=0, ckpt_dir=ck)
    with pytest.raises(EiferError, match="not a checkpoint written by eifer"):
        fit_gradual(create_model("eifer_tinycnn"), ds, ds, cv_settings(cfg), train_settings(cfg), seed=0,
                    ckpt_dir=ck)
    assert not marker.exists()


def test_checkpoint_round_trip_keeps_optimizer_state_exactly(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW([{"params": model.parameters(), "name": "head", "betas": (0.9, 0.98)}], lr=1e-3)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    state = {"epoch_done": 3, "model": model.state_dict(), "optimizer": opt.state_dict(),
             "history": [{"loss": np.float64(0.25), "lr": {"head": 1e-3}, "auc": float("nan")}],
             "best": {"val_prob": np.array([0.1, 0.9], dtype=np.float32), "state": None}}
    save_checkpoint(tmp_path / CHECKPOINT, state)
    back = load_checkpoint(tmp_path / CHECKPOINT)
    opt2 = torch.optim.AdamW([{"params": model.parameters(), "name": "head"}], lr=1e-3)
    opt2.load_state_dict(back["optimizer"])
    s1, s2 = opt.state_dict(), opt2.state_dict()
    assert s2["param_groups"][0]["betas"] == (0.9, 0.98)
    assert set(s2["state"]) == {0, 1}  # int keys, not "0"/"1": the state is attached to the parameters
    for k in s1["state"]:
        for name, v in s1["state"][k].items():
            assert torch.equal(v, s2["state"][k][name])
    assert back["history"][0]["loss"] == 0.25 and np.isnan(back["history"][0]["auc"])
    assert np.array_equal(back["best"]["val_prob"], state["best"]["val_prob"])
    assert all(torch.equal(v, back["model"][k]) for k, v in model.state_dict().items())
    assert load_checkpoint(tmp_path / "missing.safetensors") is None


def test_malicious_model_pt_of_a_finished_run_is_refused(tmp_path):
    # models/<...>/model.pt is read back as the source of transfer runs: weights only, no pickle code
    from eifer.model import read_state_dict

    marker = tmp_path / "pwned"
    _plant(tmp_path / "model.pt", marker)
    with pytest.raises(EiferError, match="cannot read weights"):
        read_state_dict(tmp_path / "model.pt")
    assert not marker.exists()
