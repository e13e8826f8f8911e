"""The ``labels`` stage: ``run_labels(study, run)`` writes ``RUN/labels.csv`` from the study's ratings."""
from __future__ import annotations

from typing import TYPE_CHECKING

from eifer.io import write_csv
from eifer.labels.make import make_labels

if TYPE_CHECKING:
    from eifer.runfolder import RunFolder
    from eifer.study import Study


def run_labels(study: Study, run: RunFolder) -> list[str]:
    """Stage runner: ``study.ratings`` → ``RUN/labels.csv``.

    Parameters
    ----------
    study : eifer.study.Study
    run : eifer.runfolder.RunFolder

    Returns
    -------
    list of str
        Outputs relative to the run folder.
    """
    meta = study.meta
    labels = make_labels(
        study.ratings, likert_min=meta.likert_min, likert_max=meta.likert_max,
        neutral=meta.likert_neutral, weak_from_domain=run.config.labels.weak_from_domain,
        file=str(study.root / "ratings.csv"),
    )
    write_csv(run.path("labels.csv"), labels)
    run.log("labels", n_rows=len(labels), weak_arousal=int(labels.arousal_weak.sum()),
            weak_valence=int(labels.valence_weak.sum()))
    return ["labels.csv"]
