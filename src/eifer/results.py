"""A finished run folder as Python objects, for notebooks: :func:`load_run`.

``run_pipeline`` returns the status of each stage; the results themselves are
files in the run folder (``tables/table<k>.csv``, ``cutoff_sweep.csv``,
``predictions.parquet`` ...). :func:`load_run` reads them back as DataFrames,
so a notebook can continue from ``eifer run`` without knowing the file names.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from eifer.errors import EiferError
from eifer.io import read_parquet

if TYPE_CHECKING:
    from eifer.config import Config

# the data behind each figure and table, by name -> file in the run folder
DATA_FILES = {
    "ei_scores": "ei_scores.csv",            # EI score per participant (Table 1)
    "groups": "groups.csv",                  # High/Low group per participant at the chosen cutoff
    "cutoff_sweep": "cutoff_sweep.csv",      # Figure 7: significant HRV interactions per candidate cutoff
    "hrv": "hrv.parquet",                    # HRV variables per participant and segment
    "labels": "labels.csv",                  # binary arousal/valence labels per video
    "dataset": "dataset.parquet",            # Figure 4: the selected frames with valence/arousal
    "test_subsets": "test_subsets.parquet",  # the fixed test frames (baseline/unambiguous/ambiguous)
    "metrics_per_run": "metrics_per_run.csv",  # one row per trained model and test condition (Tables 2-3)
    "predictions": "predictions.parquet",    # test-frame scores of every model (ROC curves, Table 4)
    "frames": "affect",                      # every analysed frame: quality columns + valence/arousal estimates
}


@dataclass
class RunResults:
    """The results of one run folder.

    Attributes
    ----------
    root : Path
        The run folder.
    tables : dict of str to DataFrame
        Every ``tables/*.csv`` by file stem: ``table1`` ... ``table6`` (those the
        run made) and their companions such as ``table4_full``.
    figures : dict of str to Path
        Every ``figures/*.png`` by file stem.
    stages : DataFrame
        stage, seconds, outputs of every finished stage.
    """

    root: Path
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Path] = field(default_factory=dict)
    stages: pd.DataFrame = field(default_factory=pd.DataFrame)

    def table(self, k: int) -> pd.DataFrame:
        """Table ``k`` (1-6) of the paper as made by this run.

        Raises
        ------
        EiferError
            When the run did not make it (naming the stage that does).
        """
        name = f"table{k}"
        if name not in self.tables:
            from eifer.pipeline.stages import owner_stage

            stage = owner_stage(f"tables/{name}.csv")
            raise EiferError(f"{self.root / 'tables' / (name + '.csv')}: Table {k} was not made by this run "
                             f"(stage {stage!r}; see `eifer run` output or RUN/log.jsonl)")
        return self.tables[name]

    def data(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The data behind a figure or table: one of :data:`DATA_FILES` (read on demand).

        Parameters
        ----------
        name : str
            One of :data:`DATA_FILES`.
        columns : list of str, optional
            Only these columns, in this order. For ``"frames"`` of a large study
            (millions of frames), asking for the columns you need keeps the table
            small; :meth:`iter_data` reads it one video at a time instead.

        Examples
        --------
        >>> from eifer.config import load_config
        >>> from eifer.runfolder import RunFolder
        >>> run = RunFolder("runs/data_doc", load_config(profile="demo")).init()
        >>> pd.DataFrame({"participant_id": ["P1"], "video_id": ["V1"]}).to_csv(run.path("labels.csv"), index=False)
        >>> load_run("runs/data_doc").data("labels", columns=["video_id", "participant_id"]).values.tolist()
        [['V1', 'P1']]
        """
        if name not in DATA_FILES:
            raise EiferError(f"unknown result {name!r}; choose one of {', '.join(DATA_FILES)}")
        path = self.root / DATA_FILES[name]
        cols = list(columns) if columns is not None else None
        if name == "frames":  # frame tables and affect tables, joined by their one reader
            from eifer.affect import read_estimates

            if not path.is_dir():
                raise EiferError(f"{path}: not in this run folder (the affect stage did not run)")
            return read_estimates(self.root, columns=cols)
        if not path.is_file():
            raise EiferError(f"{path}: not in this run folder (its stage did not run)")
        if path.suffix == ".parquet":
            from eifer.pipeline.stages import owner_stage

            return read_parquet(path, stage=owner_stage(DATA_FILES[name]), columns=cols)
        table = pd.read_csv(path, usecols=cols)
        return table if cols is None else table[cols]

    def iter_data(self, name: str = "frames", columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
        """``data("frames")`` one video at a time: for studies whose frame table does not fit in memory.

        Yields each video's frames (quality columns and valence/arousal
        estimates), exactly the rows :meth:`data` gives for it, in the same
        order; concatenated, they are ``data("frames", columns)``.

        Parameters
        ----------
        name : {"frames"}
            The one result stored per video.
        columns : list of str, optional
            Only these columns, in this order.

        Examples
        --------
        >>> from eifer.config import load_config
        >>> from eifer.runfolder import RunFolder
        >>> _ = RunFolder("runs/iter_doc", load_config(profile="demo")).init()
        >>> list(load_run("runs/iter_doc").iter_data("frames"))  # no frame tables yet
        []
        """
        if name != "frames":
            raise EiferError(f"iter_data: only 'frames' is stored per video; read {name!r} with data({name!r})")
        from eifer.affect import iter_estimates

        return iter_estimates(self.root, columns=list(columns) if columns is not None else None)

    def available(self) -> list[str]:
        """Names of :data:`DATA_FILES` that this run folder holds."""
        return [n for n, f in DATA_FILES.items() if (self.root / f).exists()]

    @property
    def config(self) -> Config:
        """The configuration the run was made with (``RUN/config.yaml``)."""
        from eifer.runfolder import read_run_config

        return read_run_config(self.root)

    @property
    def cutoff_null(self) -> dict[str, Any]:
        """The permutation test of the chosen cutoff (``cutoff_null.json``; empty when absent)."""
        path = self.root / "cutoff_null.json"
        return json.loads(path.read_text()) if path.is_file() else {}


def load_run(run: str | Path) -> RunResults:
    """Read a run folder's result tables and figures' data for use in Python.

    Parameters
    ----------
    run : path-like
        A run folder of ``eifer run`` / ``eifer demo`` (finished or partial).

    Returns
    -------
    RunResults
        ``.tables`` (Tables 1-6 as DataFrames, equal to ``RUN/tables/*.csv``),
        ``.table(k)``, ``.data(name)`` for the data behind the figures
        (``cutoff_sweep``, ``predictions`` ...), ``.figures`` (PNG paths),
        ``.stages``, ``.config``.

    Raises
    ------
    EiferError
        When ``run`` is not a run folder.

    Examples
    --------
    A run folder that has no results yet:

    >>> from eifer.config import load_config
    >>> from eifer.runfolder import RunFolder
    >>> _ = RunFolder("runs/empty", load_config(profile="demo")).init()
    >>> res = load_run("runs/empty")
    >>> sorted(res.tables), res.available()
    ([], [])

    After ``eifer demo --out runs/demo``:

    >>> res = load_run("runs/demo")                                   # doctest: +SKIP
    >>> res.table(2).head()                                           # doctest: +SKIP
    >>> sweep = res.data("cutoff_sweep")  # Figure 7's data            # doctest: +SKIP
    """
    root = Path(run)
    if not (root / "config.yaml").is_file():
        raise EiferError(f"{root}: not a run folder (no config.yaml); make one with `eifer run STUDY --out {root}`")
    tables = {p.stem: pd.read_csv(p) for p in sorted((root / "tables").glob("*.csv"))}
    figures = {p.stem: p for p in sorted((root / "figures").glob("*.png"))}
    from eifer.pipeline.stages import STAGE_NAMES
    from eifer.runfolder import read_stage_record

    records = []
    order = {n: i for i, n in enumerate(STAGE_NAMES)}
    for p in sorted((root / ".stages").glob("*.json"), key=lambda p: order.get(p.stem, len(order))):
        if p.name.endswith(".running.json"):
            continue
        rec = read_stage_record(p) or {}
        if rec.get("damaged"):
            continue  # the next run redoes that stage
        records.append({"stage": p.stem, "seconds": rec.get("seconds"), "outputs": rec.get("outputs", [])})
    return RunResults(root=root, tables=tables, figures=figures,
                      stages=pd.DataFrame(records, columns=["stage", "seconds", "outputs"]))
