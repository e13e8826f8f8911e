"""A tiny random-weight timm model saved as .pth, .safetensors, ONNX and TorchScript (no downloads)."""
from __future__ import annotations

import pytest

SIZE = 32


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny timm model with random weights, saved three ways (nothing is downloaded)."""
    import timm
    import torch
    from safetensors.torch import save_file

    d = tmp_path_factory.mktemp("tiny_va")
    torch.manual_seed(0)
    model = timm.create_model("resnet10t", pretrained=False, num_classes=5).eval()
    torch.save({"state_dict": model.state_dict()}, d / "va.pth")
    save_file(model.state_dict(), str(d / "va.safetensors"))
    x = torch.randn(2, 3, SIZE, SIZE)
    torch.onnx.export(model, (x,), str(d / "va.onnx"), input_names=["input"], output_names=["out"],
                      dynamic_axes={"input": {0: "n"}, "out": {0: "n"}}, dynamo=False)
    torch.jit.save(torch.jit.trace(model, x), str(d / "va.pt"))
    return d, model


