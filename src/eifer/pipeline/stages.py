"""The declarative stage list of ``eifer run`` (SPEC §2).

Each stage names its runner (``run_<stage>(study, run) -> list[str]``), the
config sections and upstream stages its fingerprint covers, the study files
it reads, and the run-folder paths it owns (removed when it must be redone
under a different fingerprint).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import eifer
from eifer.config import Config
from eifer.io import hash_contents
from eifer.runfolder import RunFolder

Inputs = Callable[[Any, Config], list[Path]]


def _files(*names: str) -> Inputs:
    """Study-folder files (those that exist) by relative name."""
    return lambda study, cfg: [study.root / n for n in names if (study.root / n).is_file()]


def _tree(folder: str, *names: str) -> Inputs:
    """Every file under a study sub-folder, plus named top-level files."""
    def get(study: Any, cfg: Config) -> list[Path]:
        root = study.root / folder
        found = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        return found + _files(*names)(study, cfg)
    return get


def _videos(study: Any, cfg: Config) -> list[Path]:
    return [Path(p) for p in study.videos()["path"]] + _files("study.yaml")(study, cfg)


def _model_files(*paths: Callable[[Config], Any]) -> Inputs:
    """Local weight files named in the config (fingerprinted so a new checkpoint reruns the stage)."""
    def get(study: Any, cfg: Config) -> list[Path]:
        out: list[Path] = []
        for get_path in paths:
            value = get_path(cfg)
            for p in (value.values() if isinstance(value, dict) else [value]):
                if p and Path(p).expanduser().is_file():  # "~/w.pt" as the preflight and the loader read it
                    out.append(Path(p).expanduser())
        return out
    return get


@dataclass(frozen=True)
class Stage:
    """One pipeline stage.

    ``runner`` is ``"module:function"`` with the signature
    ``run_<stage>(study, run) -> list[str]`` (docs/interfaces.md). ``sections``
    names the config sections (``"train"``) or single fields (``"train.tasks"``)
    the stage's results depend on. ``sections`` and ``upstream`` may depend on the config (e.g. the alignment grouping
    makes the cutoff stage read the affect estimates). ``clean`` lists the
    run-folder paths (glob patterns) the stage owns: they are removed when the
    stage must be redone under a different fingerprint.
    """

    name: str
    runner: str
    sections: Callable[[Config], tuple[str, ...]]
    upstream: Callable[[Config], tuple[str, ...]] = lambda cfg: ()
    inputs: Inputs = lambda study, cfg: []
    clean: tuple[str, ...] = ()
    enabled: Callable[[Config], bool] = lambda cfg: True
    why_disabled: str = ""
    missing_input: Callable[[Any], str] = lambda study: ""  # non-empty: why the stage cannot run
    seeded: bool = True  # False: the stage draws no random numbers, so a new seed does not redo it
    handover: Callable[[Config], dict[str, Any]] = lambda cfg: {}  # keyword arguments the pipeline hands the runner


def _no_videos(study: Any) -> str:
    return "" if len(study.videos()) else "the study folder has no videos"


def _const(*names: str) -> Callable[[Config], tuple[str, ...]]:
    return lambda cfg: names


def _frames_handover(cfg: Config) -> dict[str, Any]:
    """The frames stage gets the configured image estimator from here, so frames never imports affect."""
    from eifer.affect import stream_estimator

    est = stream_estimator(cfg.affect)
    return {"estimator": est} if est is not None else {}


def _cutoff_upstream(cfg: Config) -> tuple[str, ...]:
    return ("ei", "hrv", "labels") + (("affect",) if cfg.cutoff.grouping == "alignment" else ())


STAGES: list[Stage] = [
    Stage("ei", "eifer.ei.stage:run_ei", _const("ei"),
          inputs=_files("study.yaml", "participants.csv", "ei_responses.csv", "ei_scores.csv"),
          clean=("ei_scores.csv",), seeded=False),
    Stage("hrv", "eifer.hrv.stage:run_hrv", _const("hrv"), inputs=_tree("ecg", "study.yaml", "hrv.csv"),
          clean=("hrv.parquet", "hrv_quality.parquet", "hrv_beats.parquet"), seeded=False),
    Stage("labels", "eifer.labels.stage:run_labels", _const("labels"), inputs=_files("study.yaml", "ratings.csv"),
          clean=("labels.csv",), seeded=False),
    Stage("frames", "eifer.frames.stage:run_frames", _const("frames"), inputs=_videos,
          clean=("frames", "frames_pending"),
          missing_input=_no_videos, seeded=False, handover=_frames_handover),
    Stage("affect", "eifer.affect.stage:run_affect", _const("affect"), _const("frames"),
          inputs=_model_files(lambda c: c.affect.path), clean=("affect",), seeded=False),
    Stage("cutoff", "eifer.cutoff.stage:run_cutoff", _const("cutoff"), _cutoff_upstream,
          clean=("cutoff_sweep.csv", "groups.csv", "cutoff_null.json", "figures/figure7.png", "tables/table1.*")),
    Stage("select", "eifer.select.stage:run_select", _const("select"), _const("affect", "labels"),
          clean=("dataset.parquet", "test_subsets.parquet", "select_shortfall.csv", "crops", "figures/figure4.png")),
    Stage("split", "eifer.split.stage:run_split", _const("split", "train.repetitions", "train.tasks"),
          _const("select", "cutoff"), clean=("splits.json",)),
    Stage("train", "eifer.train.stage:run_train", _const("train"), _const("split"),
          inputs=_model_files(lambda c: c.train.pretrained_path),
          clean=("models/*/direct", "models/*/transfer", "predictions.parquet")),
    Stage("evaluate", "eifer.evaluate.stage:run_evaluate", _const(), _const("train"),
          clean=("metrics_per_run.csv", "tables/table2.*", "tables/table3.*")),
    Stage("stats", "eifer.stats.stage:run_stats", _const("stats"), _const("train"),
          clean=("tables/table4*",)),
    Stage("transfer-cv", "eifer.transfer_cv.stage:run_transfer_cv", _const("transfer_cv", "train", "stats"),
          _const("split"),
          inputs=_model_files(lambda c: c.transfer_cv.pretrained_paths),
          clean=("models_cv", "tables/table5*", "tables/table6*"),
          enabled=lambda cfg: cfg.transfer_cv.enabled, why_disabled="transfer_cv.enabled is false"),
    Stage("calibrate", "eifer.calibrate.stage:run_calibrate",
          _const("report.calibrate_sims", "stats.alpha", "stats.n_permutations", "stats.max_exact", "split.pairing",
                 "train.repetitions"), _const("train"), clean=("calibration",),
          enabled=lambda cfg: cfg.report.calibrate_sims > 0, why_disabled="report.calibrate_sims is 0"),
    Stage("report", "eifer.report.stage:run_report", _const("report"),
          lambda cfg: tuple(s.name for s in STAGES if s.name != "report"), clean=()),
]
STAGE_NAMES = [s.name for s in STAGES]


def owner_stage(relpath: str) -> str:
    """The stage that owns (writes) a run-folder path, from the stages' ``clean`` patterns; ``"?"`` if none.

    Examples
    --------
    >>> owner_stage("hrv.parquet"), owner_stage("tables/table4_rep.csv"), owner_stage("notes.txt")
    ('hrv', 'stats', '?')
    """
    from fnmatch import fnmatchcase

    return next((s.name for s in STAGES for pattern in s.clean if fnmatchcase(relpath, pattern)), "?")


def resolve_runner(stage: Stage) -> Callable[..., list[str]] | None:
    """The stage's runner function, or None when this install does not have it."""
    module, func = stage.runner.split(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            return None  # the stage's package is not there: not an error of the stage
        raise
    return getattr(mod, func, None)




# Settings that change how fast a stage runs, never what it computes: not fingerprinted,
# so e.g. a different worker count does not redo the frame stage.
EXECUTION_ONLY = {"frames": {"n_jobs"}, "hrv": {"n_jobs"}, "affect": {"batch_size", "batch_inference"},
                  "train": {"num_workers", "n_jobs", "cache_images"}}


def config_payload(cfg: Config, names: tuple[str, ...], seeded: bool = True) -> dict[str, Any]:
    """The config values a stage depends on: whole sections (``"train"``) or fields (``"train.tasks"``).

    Examples
    --------
    >>> from eifer.config import load_config
    >>> config_payload(load_config(profile="demo"), ("train.tasks",))["train.tasks"]
    ['arousal', 'valence']
    """
    out: dict[str, Any] = {"seed": cfg.seed} if seeded else {}
    for name in names:
        section, _, fld = name.partition(".")
        dump = getattr(cfg, section).model_dump(mode="json")
        out[name] = dump[fld] if fld else {k: v for k, v in dump.items()
                                           if k not in EXECUTION_ONLY.get(section, set())}
    return out


def stage_fingerprint(run: RunFolder, stage: Stage, study: Any) -> str:
    """Fingerprint of a stage: config values, upstream fingerprints, input file contents, eifer version."""
    cfg = run.config
    files = stage.inputs(study, cfg)
    return run.fingerprint(upstream=stage.upstream(cfg),
                           extra={"config": config_payload(cfg, stage.sections(cfg), stage.seeded),
                                  "inputs": hash_contents(files, study.root, input_hash_cache(run)) if files else None,
                                  "eifer": eifer.__version__})


def input_hash_cache(run: RunFolder) -> Path:
    """Where the content hashes of study files are kept (:func:`eifer.io.hash_contents`)."""
    return run.path("cache", "input_hashes.json")


def upstream_closure(names: list[str], cfg: Config) -> set[str]:
    """The named stages and every stage they read from, transitively."""
    by_name = {s.name: s for s in STAGES}
    out: set[str] = set()
    stack = list(names)
    while stack:
        n = stack.pop()
        if n not in out:
            out.add(n)
            stack.extend(by_name[n].upstream(cfg))
    return out
