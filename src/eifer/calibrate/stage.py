"""The ``calibrate`` stage: ``run_calibrate(study, run)`` writes ``RUN/calibration`` for the run's design."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eifer.runfolder import RunFolder
    from eifer.study import Study


def run_calibrate(study: Study, run: RunFolder) -> list[str]:
    """Stage runner: type-I rates of every group-comparison test for this run's own design.

    :func:`eifer.stats.calibration.calibrate_for_run` with ``report.calibrate_sims`` simulated null studies per
    test-set size — the same function as ``eifer calibrate --run RUN --n-sim N`` — so the report's type-I
    figures are this run's (pairing, repetitions, test set, class balance).

    Parameters
    ----------
    study : eifer.study.Study
        Unused (the stage reads only the run folder); kept for the runner signature.
    run : eifer.runfolder.RunFolder

    Returns
    -------
    list of str
        ``calibration/calibration.csv``, ``design.json`` and ``calibration.md``, relative to RUN.
    """
    from eifer.stats.calibration import calibrate_for_run

    run.require("predictions.parquet", stage="train")
    _, _, files = calibrate_for_run(run.root, run.config.report.calibrate_sims, config=run.config)
    return [str(Path(f).relative_to(run.root)) for f in files]
