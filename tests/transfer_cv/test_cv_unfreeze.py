"""Gradual unfreezing: blocks top-down, which parameters require grad in each phase, frozen blocks unchanged."""
from __future__ import annotations

import pytest
import timm
import torch

from eifer.errors import EiferError
from eifer.model import create_model
from eifer.train.fit import TrainSettings
from eifer.transfer_cv.fit import CVSettings, _optimizer, plan_phases
from eifer.transfer_cv.unfreeze import apply_unfreeze, backbone_groups, frozen_bn_eval, unfreeze_schedule


def _block_of(name: str) -> str:
    return name.split(".")[0]


def _meta(name: str) -> torch.nn.Module:
    with torch.device("meta"):  # structure only: no weight initialisation (VGG16 has 134 M parameters)
        return timm.create_model(name, num_classes=0)


def test_groups_resnet_and_vgg_order_bottom_to_top():
    resnet, vgg = _meta("resnet50"), _meta("vgg16")
    g = backbone_groups(resnet)
    assert [sorted({_block_of(n) for n in grp}) for grp in g] == [["bn1", "conv1"], ["layer1"], ["layer2"],
                                                                  ["layer3"], ["layer4"]]
    v = backbone_groups(vgg)
    assert len(v) == 14 and v[0] == ["features.0.weight", "features.0.bias"]
    assert all(n.startswith("pre_logits.") for n in v[-1])  # the pretrained fc6/fc7 MLP is the top block
    for m, grp in ((resnet, g), (vgg, v)):
        names = [n for n, _ in m.named_parameters()]
        flat = [n for blk in grp for n in blk]
        assert sorted(flat) == sorted(names) and len(flat) == len(set(flat))


def test_groups_fallback_without_group_matcher():
    g = backbone_groups(timm.create_model("eifer_tinycnn", num_classes=0))  # no group_matcher: module order
    assert g[0] == ["features.0.weight"] and g[-1] == ["features.10.weight", "features.10.bias"]


def test_schedule_counts():
    assert unfreeze_schedule(5, 3) == [2, 4, 5]
    assert unfreeze_schedule(14, 3) == [5, 10, 14]
    assert unfreeze_schedule(5, 1) == [5]
    assert unfreeze_schedule(5, 3, [1, 3, 99]) == [1, 3, 5]
    with pytest.raises(EiferError, match="non-decreasing"):
        unfreeze_schedule(5, 2, [3, 1])
    with pytest.raises(EiferError, match="unfreeze_groups has 1 entries"):
        unfreeze_schedule(5, 2, [3])


@pytest.mark.parametrize("counts", [None, [1, 3, 5]])
def test_requires_grad_follows_schedule(counts):
    model = create_model("test_resnet")
    cv = CVSettings(head_epochs=1, unfreeze_epochs=[1, 1, 1], unfreeze_groups=counts)
    phases = plan_phases(model, cv)
    blocks = [["stem"], ["layer1"], ["layer2"], ["layer3"], ["layer4"]]
    expect_top = {None: [0, 2, 4, 5], (1, 3, 5): [0, 1, 3, 5]}[tuple(counts) if counts else None]
    assert [p["n_top"] for p in phases] == expect_top
    groups = backbone_groups(model.backbone)
    t = TrainSettings()
    for phase in phases:
        opt = _optimizer(model, phase, cv, t, groups)
        trainable_blocks = {_block_of(n[len("backbone."):]) for n, p in model.named_parameters()
                            if p.requires_grad and n.startswith("backbone.")}
        want = {b for blk in blocks[len(blocks) - phase["n_top"]:] for b in blk} if phase["n_top"] else set()
        want = {"conv1", "bn1"} | (want - {"stem"}) if "stem" in want else want
        assert trainable_blocks == want, phase
        assert all(p.requires_grad for p in model.head_parameters())
        in_opt = {id(p) for g in opt.param_groups for p in g["params"]}
        assert in_opt == {id(p) for p in model.parameters() if p.requires_grad}


def test_frozen_blocks_unchanged_by_a_training_step():
    """After a step in phase 'top 2 blocks', lower blocks' weights and BN statistics are untouched."""
    torch.manual_seed(0)
    model = create_model("test_resnet")
    groups = backbone_groups(model.backbone)
    apply_unfreeze(model, groups, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    hook = frozen_bn_eval(model)
    model.train()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    logit, reg = model(torch.randn(4, 3, 48, 48))
    (logit.sum() + reg.sum()).backward()
    opt.step()
    hook.remove()
    after = model.state_dict()
    frozen = {n for g in groups[:-2] for n in g}
    top = {n for g in groups[-2:] for n in g}
    for name, v in after.items():
        if not name.startswith("backbone."):
            continue
        key = name[len("backbone."):]
        mod = key.rsplit(".", 1)[0]
        if key in frozen or any(f.rsplit(".", 1)[0] == mod for f in frozen):  # params + BN buffers of frozen blocks
            assert torch.equal(v, before[name]), name
    assert any(not torch.equal(after[f"backbone.{n}"], before[f"backbone.{n}"]) for n in top)


def test_paper_backbones_build_with_heads_and_schedule():
    """resnet50 and vgg16 (pre-logits MLP: 4096 features) get working heads and the default 3-phase schedule."""
    for name, tops in (("resnet50", [0, 2, 4, 5]), ("vgg16", [0, 5, 10, 14])):
        with torch.device("meta"):
            model = create_model(name)
            logit, reg = model(torch.empty(2, 3, 224, 224))
        assert logit.shape == reg.shape == (2,)
        assert [p["n_top"] for p in plan_phases(model, CVSettings())] == tops
