"""An interrupted frames stage resumes at the unfinished video (the ``frames_run`` fixture of tests/conftest.py)."""
from __future__ import annotations

import pandas as pd

from eifer.frames import run_frames


def test_interrupted_frames_stage_resumes_at_unfinished_video(frames_run):
    from eifer.affect import read_estimates, run_affect

    study, run = frames_run
    parts = sorted(run.path("frames").glob("*/*.parquet"))
    victim = parts[3]
    before = {p: p.stat().st_mtime_ns for p in parts if p != victim}
    ref = pd.read_parquet(victim)
    ref_va = read_estimates(run.root, victim.parent.name)
    victim.unlink()  # as if the run had been killed while this video was being analysed
    run_frames(study, run)
    assert victim.exists()
    assert {p: p.stat().st_mtime_ns for p in before} == before  # finished videos untouched
    again = pd.read_parquet(victim)
    pd.testing.assert_series_equal(again["reason"], ref["reason"])
    run_affect(study, run)  # the same frame table again: its estimates still fit
    pd.testing.assert_frame_equal(read_estimates(run.root, victim.parent.name), ref_va)
