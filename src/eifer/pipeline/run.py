"""``eifer run``: every stage of SPEC §2 in order, cached, resumable, logged.

The stages are a declarative list (:data:`STAGES`). Each stage's fingerprint
covers its config sections (and the seed), the fingerprints of the stages it
reads from, its input files in the study folder (path relative to the study, size and
content hash: moving, re-typing or copying the study reruns nothing) and the
eifer version. A stage whose fingerprint is unchanged and whose outputs exist
is skipped; a changed stage is redone, and since fingerprints chain through
``upstream``, so is everything downstream of it.

Crash safety comes in two layers: runners write every unit (a video, a
participant, a training run) atomically and skip finished units when called
again; the pipeline marks a stage done only after its runner returned. Before
a runner starts, the pipeline notes the fingerprint it runs under in
``RUN/.stages/<stage>.running.json``: when a later run finds a different
fingerprint there (or in the done record), the stage's old outputs were made
under other settings and are removed first, so a runner never resumes from
stale units.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from eifer.config import Config
from eifer.errors import EiferError
from eifer.io import read_json_mapping, remove_inside, write_json
from eifer.parallel import record_placements, use_executor
from eifer.pipeline.preflight import raise_preflight, run_preflight
from eifer.pipeline.stages import STAGE_NAMES, STAGES, Stage, resolve_runner, stage_fingerprint, upstream_closure
from eifer.runfolder import RunFolder, read_stage_record
from eifer.utils import progress


@dataclass
class StageResult:
    stage: str
    status: str  # "ran" | "skipped" | "unavailable" | "disabled" | "blocked"
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)
    note: str = ""


def _running_file(run: RunFolder, name: str) -> Path:
    return run.path(".stages", f"{name}.running.json")


def _clean_stale(run: RunFolder, stage: Stage, fingerprint: str) -> bool:
    """Remove outputs made under another fingerprint; True when something was made stale."""
    previous = {rec.get("fingerprint") for rec in (run.stage_record(stage.name),
                                                   read_stage_record(_running_file(run, stage.name))) if rec}
    if not previous or previous == {fingerprint}:
        return False
    recorded = run.stage_outputs(stage.name)  # each proven inside the run folder, or an error before any delete
    source = str(run.path(".stages", f"{stage.name}.json"))
    for pattern in (*stage.clean, *recorded):
        for p in run.root.glob(pattern):
            remove_inside(run.root, p.relative_to(run.root), source=source)
    stage_file = run.path(".stages", f"{stage.name}.json")
    if stage_file.exists():
        stage_file.unlink()
    run.log("stage_invalidated", stage=stage.name, removed=list(stage.clean) + list(recorded))
    return True


def _write_study_info(run: RunFolder, study: Any) -> None:
    info = {"name": study.meta.name, "path": str(Path(study.root).resolve()),
            "participants": int(len(study.participants))}
    try:
        info["videos"] = int(len(study.videos()))
    except Exception:  # a study without videos still gets a report
        info["videos"] = 0
    write_json(run.path("study.json"), info)


def study_of_run(out: str | Path) -> Path:
    """The study folder a run folder was made from (``RUN/study.json``).

    Raises
    ------
    EiferError
        When the run folder has no record of its study (or the folder is gone).
    """
    info = read_json_mapping(Path(out) / "study.json")
    if not isinstance(info.get("path"), str):
        raise EiferError(f"{out}: no study.json (or a damaged one); give the study folder: eifer <stage> STUDY "
                         f"--out {out}")
    path = Path(info["path"])
    if not path.is_dir():
        raise EiferError(f"{out}/study.json names the study folder {path}, which no longer exists; give STUDY")
    return path


def run_pipeline(study_path: str | Path, out: str | Path, config: Config,
                 stages: list[str] | None = None, force: list[str] | None = None,
                 show_progress: bool = True) -> pd.DataFrame:
    """Run (or resume) the whole pipeline on a study folder.

    Parameters
    ----------
    study_path : path-like
        Study folder (SPEC §1).
    out : path-like
        Run folder; created, or resumed when it exists.
    config : Config
        Full configuration (see :func:`eifer.config.load_config`).
    stages : list of str, optional
        Run only up to and including these stages (their upstream stages run too).
        Default: all.
    force : list of str, optional
        Stages to redo even when unchanged (their downstream stages follow).
    show_progress : bool
        Show the overall progress bar (stages also show their own).

    Returns
    -------
    DataFrame
        One row per stage: stage, status (ran | skipped | unavailable | disabled |
        blocked), seconds, outputs, note. Also appended to ``RUN/log.jsonl``.

    Raises
    ------
    EiferError
        For an invalid study folder (every problem listed, media included: the
        same check as ``eifer validate``), an unknown stage name, or a configured
        file or setting that a stage would fail on (:func:`run_preflight`),
        before any stage runs.

    Examples
    --------
    >>> from eifer.config import load_config
    >>> res = run_pipeline("study/", "runs/x", load_config(profile="demo"))   # doctest: +SKIP
    >>> res.set_index("stage").loc["ei", "status"]                            # doctest: +SKIP
    'ran'
    """
    from eifer.study import load_study

    for name in (stages or []) + (force or []):
        if name not in STAGE_NAMES:
            raise EiferError(f"unknown stage {name!r}; stages are {', '.join(STAGE_NAMES)}")
    # the media check of `eifer validate` (every video opens, is not truncated and runs at
    # study.yaml's fps; every ECG file reads): a run stops here, before any stage, with
    # the same messages, rather than process half a truncated video without a note
    study = load_study(study_path, validate_media=True, allow_incomplete_ei=config.ei.allow_incomplete)
    # every configured file and setting is checked before any stage runs (or the run folder is made)
    problems = run_preflight(study_path, config, out, stages, loaded=study)
    raise_preflight(problems)
    for r in problems.itertuples():
        warnings.warn(f"{r.key}: {r.problem}", stacklevel=2)
    run = RunFolder(out, config)
    with run.lock():  # one run at a time per run folder; taken before anything is written
        run.init()
        run.remove_stale_temp()  # temp files of writes a killed run left behind
        _write_study_info(run, study)
        wanted = upstream_closure(stages, config) if stages else set(STAGE_NAMES)
        t_start = time.perf_counter()
        run.log("run_start", study=str(Path(study_path).resolve()), profile=config.profile, seed=config.seed,
                stages=[s.name for s in STAGES if s.name in wanted])
        results: list[StageResult] = []
        failed: set[str] = set()
        forced = set(force or [])
        with use_executor(config), progress() as bar:  # every stage's units run on config.executor
            todo = [s for s in STAGES if s.name in wanted]
            task = bar.add_task("pipeline", total=len(todo), visible=show_progress)
            for stage in todo:
                bar.update(task, description=f"pipeline: {stage.name}")
                res = _run_stage(run, stage, study, failed, forced)
                if res.status in ("unavailable", "disabled", "blocked"):
                    failed.add(stage.name)
                results.append(res)
                bar.advance(task)
        table = pd.DataFrame([r.__dict__ for r in results])
        run.log("run_done", seconds=round(time.perf_counter() - t_start, 3),
                ran=[r.stage for r in results if r.status == "ran"])
        return table


def _run_stage(run: RunFolder, stage: Stage, study: Any, missing: set[str], force: set[str]) -> StageResult:
    cfg = run.config
    if not stage.enabled(cfg):
        run.log("stage_disabled", stage=stage.name, why=stage.why_disabled)
        return StageResult(stage.name, "disabled", note=stage.why_disabled)
    runner = resolve_runner(stage)
    if runner is None:
        run.log("stage_unavailable", stage=stage.name, runner=stage.runner)
        return StageResult(stage.name, "unavailable", note=f"{stage.runner} is not in this install")
    # the report is built from whatever exists; other stages need all their inputs
    blocked = [u for u in stage.upstream(cfg) if u in missing] if stage.name != "report" else []
    if blocked:
        run.log("stage_blocked", stage=stage.name, missing=blocked)
        return StageResult(stage.name, "blocked", note=f"needs {', '.join(blocked)}")
    why = stage.missing_input(study)
    if why:
        run.log("stage_blocked", stage=stage.name, why=why)
        return StageResult(stage.name, "blocked", note=why)
    fp = stage_fingerprint(run, stage, study)
    if stage.name not in force and run.is_done(stage.name, fp):
        run.log("stage_skipped", stage=stage.name, reason="unchanged")
        record = run.stage_record(stage.name)
        assert record is not None  # is_done() found it
        return StageResult(stage.name, "skipped", outputs=list(record.get("outputs", [])))
    if stage.name in force:
        force.update(s.name for s in STAGES)  # everything after a forced stage is redone too
        write_json(_running_file(run, stage.name), {"fingerprint": "forced"})
    _clean_stale(run, stage, fp)
    write_json(_running_file(run, stage.name), {"fingerprint": fp})
    run.log("stage_start", stage=stage.name, fingerprint=fp)
    t0 = time.perf_counter()
    # where each worker unit ran (and ran again after a lost worker or node) and its memory, as each finishes
    with record_placements(lambda rec: run.log("unit_placed", stage=stage.name, **rec)):
        try:
            outputs = list(runner(study, run, **stage.handover(cfg)) or [])
        except BaseException as exc:  # logged, then raised: the next run resumes this stage
            run.log("stage_failed", stage=stage.name, error=f"{type(exc).__name__}: {exc}",
                    seconds=round(time.perf_counter() - t0, 3))
            raise
    seconds = time.perf_counter() - t0
    # a unit whose worker or node was lost mid-write left its temp file; the unit itself ran again
    run.remove_stale_temp()
    run.mark_done(stage.name, fp, outputs, seconds)
    _running_file(run, stage.name).unlink(missing_ok=True)
    return StageResult(stage.name, "ran", seconds=round(seconds, 3), outputs=outputs)
