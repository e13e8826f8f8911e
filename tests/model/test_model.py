"""Dual-head model: shapes, local weights only, clear errors."""
import pytest
import timm
import torch
from safetensors.torch import save_file

from eifer.config import load_config
from eifer.errors import EiferError
from eifer.model import create_model


def test_dual_head_outputs_and_any_timm_backbone():
    m = create_model("eifer_tinycnn")
    logit, reg = m(torch.zeros(3, 3, 32, 32))
    assert logit.shape == (3,) and reg.shape == (3,)
    assert m.cls_head.out_features == 1 and m.reg_head.out_features == 1
    assert m.cls_head.in_features == m.backbone.num_features
    r = create_model("resnet10t")  # a real timm backbone, num_classes=0
    assert r.eval()(torch.zeros(1, 3, 32, 32))[0].shape == (1,)


def test_paper_profile_without_weights_says_how_to_provide_them():
    t = load_config(profile="paper").train
    with pytest.raises(EiferError, match="train.pretrained_path") as exc:
        create_model(t.backbone, t.pretrained_path, allow_random_init=t.allow_random_init)
    assert "tf_efficientnetv2_l" in str(exc.value) and "never downloads" in str(exc.value)
    with pytest.raises(EiferError, match="not found"):
        create_model("eifer_tinycnn", "/nonexistent/weights.pth")
    with pytest.raises(EiferError, match="no_such_net"):
        create_model("no_such_net")


@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
def test_backbone_of_a_timm_checkpoint_is_loaded(tmp_path, fmt):
    torch.manual_seed(1)
    src = timm.create_model("eifer_tinycnn", num_classes=7)  # e.g. an affect estimator with its own classifier
    sd = {f"module.{k}": v for k, v in src.state_dict().items()}
    f = tmp_path / f"w.{fmt}"
    if fmt == "pth":
        torch.save({"state_dict": sd}, f)
    else:
        save_file(sd, str(f))
    torch.manual_seed(2)
    m = create_model("eifer_tinycnn", f)
    for k, v in m.backbone.state_dict().items():
        assert torch.equal(v, src.state_dict()[k]), k
    assert "fc.weight" not in m.backbone.state_dict()  # classifier dropped (num_classes=0)


def test_wrong_architecture_and_dual_head_checkpoint(tmp_path):
    f = tmp_path / "r.pth"
    torch.save(timm.create_model("resnet10t", num_classes=0).state_dict(), f)
    with pytest.raises(EiferError, match="backbone tensors match"):
        create_model("eifer_tinycnn", f)
    a = create_model("eifer_tinycnn")
    g = tmp_path / "dual.pt"
    torch.save(a.state_dict(), g)
    b = create_model("eifer_tinycnn", g)  # transfer: heads come along
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
