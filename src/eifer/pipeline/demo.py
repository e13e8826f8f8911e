"""``eifer demo``: a synthetic study plus a full run with the demo profile.

The study is small enough for the whole demo to finish in ≤ 10 minutes on a
2-core CPU (decoding + face analysis runs at roughly 60–100 frames/s per
core; training is the largest cost and is sized in the ``demo`` profile).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from eifer.config import Config
from eifer.io import write_json
from eifer.pipeline.run import run_pipeline
from eifer.synth.options import DemoStudy

__all__ = ["DemoStudy", "demo_study", "run_demo"]


def demo_study(out: str | Path, size: DemoStudy = DemoStudy()) -> Path:
    """Write the demo's synthetic study once; reuse it when it exists with the same size.

    Rewriting an unchanged study would touch every file and so invalidate every
    cached stage; a marker file records what was written.

    Parameters
    ----------
    out : path-like
        Study folder.
    size : DemoStudy

    Returns
    -------
    Path
        The study folder.
    """
    from eifer.synth import synth_study

    out = Path(out)
    marker = out / "_truth" / "demo.json"
    if marker.is_file() and json.loads(marker.read_text()) == asdict(size):
        return out
    synth_study(out, participants=size.participants, seed=size.seed, video_seconds=size.video_seconds,
                fps=size.fps, name="eifer demo (synthetic)")
    write_json(marker, asdict(size))
    return out


def run_demo(out: str | Path, config: Config, size: DemoStudy = DemoStudy(),
             show_progress: bool = True) -> tuple[Path, pd.DataFrame, float]:
    """Synthetic study in ``OUT/study`` + the full pipeline into ``OUT`` (the run folder).

    Parameters
    ----------
    out : path-like
        Run folder (the study is written to ``OUT/study``).
    config : Config
        Normally the ``demo`` profile.
    size : DemoStudy
        Study size.
    show_progress : bool

    Returns
    -------
    (Path, DataFrame, float)
        The study folder, the per-stage results of :func:`run_pipeline`, and total seconds.

    Examples
    --------
    >>> from eifer.config import load_config
    >>> study, stages, secs = run_demo("runs/demo", load_config(profile="demo"))  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    out = Path(out)
    study = demo_study(out / "study", size)
    stages = run_pipeline(study, out, config, show_progress=show_progress)
    return study, stages, time.perf_counter() - t0
