"""One owner per run-folder file: the affect stage writes RUN/affect/ only (the ``frames_run`` fixture of
tests/conftest.py)."""
from __future__ import annotations

import pandas as pd


def test_affect_stage_writes_only_its_own_tables(frames_run):
    """One owner per file: run_affect writes RUN/affect/ and leaves the frame tables byte-identical."""
    import hashlib
    import shutil

    from eifer.affect import read_estimates, run_affect

    study, run = frames_run

    def hashes(folder):
        return {p.relative_to(run.root): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(run.path(folder).rglob("*")) if p.is_file()}

    before = read_estimates(run.root)
    frames_before = hashes("frames")
    shutil.rmtree(run.path("affect"))  # estimate everything again
    outputs = run_affect(study, run)
    assert hashes("frames") == frames_before
    assert outputs and all(o.startswith("affect/") and run.path(o).is_file() for o in outputs)
    assert len(outputs) == len(frames_before) - 1  # one affect table per frame table (not problems.csv)
    pd.testing.assert_frame_equal(read_estimates(run.root), before)
