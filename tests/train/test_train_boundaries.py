"""Training rules at their edges: ties of the validation F1 across thresholds, and the per-phase
schedule step that fit_phases passes to every epoch."""
from __future__ import annotations

import numpy as np
import pytest

from eifer.train.threshold import select_threshold


def test_f1_tie_below_the_middle_goes_to_the_threshold_closest_to_0_5():
    # probabilities 0.2 | 0.45 : every threshold in (0.2, 0.45] separates perfectly (F1 = 1);
    # the tie spans 0.21 ... 0.45, and 0.45 (closest to 0.5) wins, not the first or the last of the grid
    y = np.array([0, 0, 1, 1])
    prob = np.array([0.1, 0.2, 0.45, 0.9])
    assert select_threshold(y, prob) == (0.45, 1.0)
    # a tie on both sides of 0.5: 0.3 .. 0.7 all perfect -> 0.5 itself
    assert select_threshold(y, np.array([0.1, 0.29, 0.71, 0.9]))[0] == 0.5
    # tie above the middle, not at the grid's upper end: 0.56 ... 0.6 -> 0.56
    assert select_threshold(y, np.array([0.1, 0.55, 0.6, 0.9]))[0] == pytest.approx(0.56)


def test_fit_phases_passes_each_phase_its_own_step(monkeypatch, tmp_path):
    """Phase 2's schedule starts at step 0: its warm-up is not skipped by phase 1's epochs."""
    import torch

    import eifer.train.fit as fit

    calls = []

    def fake_train_epoch(model, loader, optimizer, *, stage, sched, step, **kw):
        calls.append((stage, step, sched["total"]))
        return 0.0, None

    monkeypatch.setattr(fit, "train_epoch", fake_train_epoch)
    monkeypatch.setattr(fit, "make_loader", lambda *a, **k: [])
    w = torch.nn.Parameter(torch.zeros(1))
    sched = lambda steps, e: {"total": steps * e, "warmup": 0, "start_factor": 1.0, "decay": True}  # noqa: E731
    phases = [fit.Phase(1, "one", 2, 1, lambda: torch.optim.SGD([w], lr=0.1), lambda s: sched(s, 2)),
              fit.Phase(2, "two", 3, 2, lambda: torch.optim.SGD([w], lr=0.1), lambda s: sched(s, 3))]
    ds = list(range(10))   # 10 items, batch 4 -> 3 steps per epoch
    fit.fit_phases(None, ds, phases, batch_size=4, num_workers=0, pos_weight=1.0, regression_weight=0.0,
                   grad_clip=0.0, aug=None, seed=0, device="cpu", label="t", ckpt=None, ckpt_key="phase",
                   history=[], resume=None, on_epoch=lambda *a: "")
    assert calls == [(1, 0, 6), (1, 3, 6), (2, 0, 9), (2, 3, 9), (2, 6, 9)]
