"""SIGKILL in the middle of an epoch, resume: same final predictions as an uninterrupted run (CPU)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from eifer.train.fit import CHECKPOINT, load_checkpoint
from eifer.train.toy import make_toy_run

SCRIPT = Path(__file__).with_name("_fit_script.py")


def _run(root, ckpt, out, slow):
    env = {**os.environ, "EIFER_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(SCRIPT), str(root), str(ckpt), str(out), "1" if slow else "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_killed_fit_resumes_to_identical_predictions(tmp_path):
    root = tmp_path / "run"
    make_toy_run(root, participants=6, frames_per_video=8, n_test_frames=1, size=40, seed=3)
    ref = _run(root, tmp_path / "ck_ref", tmp_path / "ref.npy", slow=False)
    assert ref.wait(timeout=600) == 0, ref.stdout.read().decode()

    ck = tmp_path / "ck"
    p = _run(root, ck, tmp_path / "res.npy", slow=True)
    deadline = time.time() + 600
    while not (ck / CHECKPOINT).is_file():  # first epoch finished ...
        assert p.poll() is None and time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.6)  # ... and the second one under way (each batch takes >= 0.15 s, an epoch ~2 s)
    p.send_signal(signal.SIGKILL)
    assert p.wait() == -signal.SIGKILL
    state = load_checkpoint(ck / CHECKPOINT)
    assert 1 <= state["epoch_done"] < 3  # killed before the end
    assert not (tmp_path / "res.npy").exists()

    again = _run(root, ck, tmp_path / "res.npy", slow=False)
    assert again.wait(timeout=600) == 0, again.stdout.read().decode()
    a, b = np.load(tmp_path / "ref.npy"), np.load(tmp_path / "res.npy")
    assert np.array_equal(a, b)
    assert a.std() > 0  # a real model, not a constant
