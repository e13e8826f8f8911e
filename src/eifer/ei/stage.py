"""The ``ei`` stage: ``run_ei(study, run)`` scores the EI assessment into ``RUN/ei_scores.csv``."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from eifer.ei.scoring import ei_scores_from_table, score_ei
from eifer.errors import EiferError
from eifer.io import write_csv

if TYPE_CHECKING:
    from eifer.runfolder import RunFolder
    from eifer.study import Study


def run_ei(study: Study, run: RunFolder) -> list[str]:
    """Stage runner: ``ei_responses.csv`` (or ``ei_scores.csv``) → ``RUN/ei_scores.csv``.

    Parameters
    ----------
    study : eifer.study.Study
    run : eifer.runfolder.RunFolder

    Returns
    -------
    list of str
        Outputs relative to the run folder.
    """
    cfg, meta = run.config.ei, study.meta
    if study.ei_responses is not None:
        scores = score_ei(study.ei_responses, tasks=meta.ei_tasks, emotions=meta.ei_emotions,
                          n_stimuli=meta.ei_stimuli, points_per_correct=cfg.points_per_correct,
                          allow_incomplete=cfg.allow_incomplete, file=str(Path(study.root, "ei_responses.csv")))
    elif study.ei_scores is not None:
        max_score = cfg.points_per_correct * len(meta.ei_tasks) * len(meta.ei_emotions) * meta.ei_stimuli
        scores = ei_scores_from_table(study.ei_scores, max_score=max_score,
                                      file=str(Path(study.root, "ei_scores.csv")))
    else:
        raise EiferError(f"{study.root}: neither ei_responses.csv nor ei_scores.csv found")
    write_csv(run.path("ei_scores.csv"), scores)
    run.log("ei", n_participants=len(scores), n_incomplete=int(scores["incomplete"].sum()))
    return ["ei_scores.csv"]
