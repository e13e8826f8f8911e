"""Command-line interface (thin: parses arguments, calls the Python API).

Each stage module exposes a plain function; the commands below only parse
options, call it, and turn :class:`eifer.errors.EiferError` into a message and
exit code 1.
"""
from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperOption

from eifer.errors import EiferError
from eifer.synth.options import SYNTH, DemoStudy

if TYPE_CHECKING:
    import pandas as pd

    from eifer.config import Config

# typer shows "<bool>" beside on/off flags as if they took a value (`--skip-media true` then fails): show none
_display_type = TyperOption.display_type_rich
TyperOption.display_type_rich = (  # type: ignore[method-assign]
    lambda self, ctx: None if self.is_flag else _display_type(self, ctx))

app = typer.Typer(
    name="eifer",
    help="EI-stratified facial expression recognition: from a study folder to the paper's tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Show, check and document run configurations (settings).", no_args_is_help=True)
app.add_typer(config_app, name="config")

console = Console(stderr=True)

ConfigOpt = typer.Option(None, "--config", "-c", help="YAML config merged over the profile.")
ProfileOpt = typer.Option(None, "--profile", "-p", help="Base profile: paper or demo.")
SeedOpt = typer.Option(None, "--seed", help="Random seed (overrides the config).")


def os_error_message(exc: OSError) -> str:
    """An OSError as one sentence naming the file and what to do (disk full, read-only, no permission)."""
    import errno

    where = exc.filename or "a file"
    if exc.filename2:
        where = f"{exc.filename} -> {exc.filename2}"
    hint = {
        errno.ENOSPC: "the disk is full; free some space and run the same command again (finished work is kept)",
        errno.EDQUOT: "the disk quota is exceeded; free some space and run the same command again "
                      "(finished work is kept)",
        errno.EROFS: "the file system is read-only; choose a writable --out folder",
        errno.EACCES: "permission denied; choose a folder you can write to, or fix its permissions",
        errno.EPERM: "operation not permitted; choose a folder you can write to, or fix its permissions",
        errno.ENAMETOOLONG: "the file name is too long; use shorter ids or a shorter folder path",
        errno.ENOENT: "no such file or folder",
    }.get(exc.errno or 0, exc.strerror or str(exc))  # errno 0 is no error: never a key
    return f"{where}: {hint}"


def friendly_errors(fn: Callable) -> Callable:
    """Turn eifer's own errors and OS errors (disk full, permissions) into one clear message and exit code 1.

    Anything else is a bug in eifer and keeps its traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (EiferError, OSError) as exc:
            from eifer.logs import log_level

            if log_level() == "verbose":
                console.print_exception()
            text = str(exc) if isinstance(exc, EiferError) else os_error_message(exc)
            console.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from exc
        except KeyboardInterrupt:  # Ctrl-C: one line, the shell's code for SIGINT; finished units are kept
            console.print("interrupted: finished work is kept; run the same command again to go on",
                          highlight=False)
            raise typer.Exit(130) from None

    return wrapper


def _version_callback(value: bool) -> None:
    if value:
        import eifer

        typer.echo(f"eifer {eifer.__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version_flag: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                      help="Print eifer's version and exit."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only errors and the final summary "
                               "(no progress bars, no warnings). The environment variable EIFER_NO_PROGRESS=1 "
                               "hides only the progress bars."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also print third-party log lines (MediaPipe, "
                                 "TensorFlow Lite), warnings with their source, and tracebacks of errors."),
) -> None:
    """EI-stratified facial expression recognition: from a study folder to the paper's tables.

    Progress bars are hidden with --quiet or the environment variable EIFER_NO_PROGRESS=1.
    """
    from eifer.logs import configure_output

    if quiet and verbose:
        raise typer.BadParameter("--quiet and --verbose exclude each other")
    configure_output("quiet" if quiet else "verbose" if verbose else "normal")


def info(message: str) -> None:
    """A progress line on stdout that --quiet hides (results and errors are always printed)."""
    from eifer.logs import log_level

    if log_level() != "quiet":
        typer.echo(message)


def cli_config(config: Path | None, profile: str | None, seed: int | None) -> Config:
    from eifer.config import load_config

    return load_config(config, profile=profile, seed=seed)


@config_app.command("show")
@friendly_errors
def config_show_cmd(config: Path | None = ConfigOpt, profile: str | None = ProfileOpt,
                seed: int | None = SeedOpt,
                plain: bool = typer.Option(False, "--plain", help="YAML without the descriptions.")) -> None:
    """Print the full configuration (profile + your file) as YAML, by section, each key with its description."""
    from eifer.config import config_yaml_annotated

    cfg = cli_config(config, profile, seed)
    sys.stdout.write(cfg.to_yaml() if plain else config_yaml_annotated(cfg))


@config_app.command("check")
@friendly_errors
def config_check_cmd(
    file: Path = typer.Argument(..., help="Your config YAML."),
    profile: str | None = ProfileOpt,
) -> None:
    """Check a config YAML: every unknown key or bad value with file, line and a suggestion; exit 1 if any."""
    from eifer.config import check_config_file

    problems = check_config_file(file, profile=profile)
    if not problems:
        typer.echo(f"OK: {file} is a valid configuration.")
        return
    typer.echo(f"{len(problems)} problem(s):")
    for p in problems:
        typer.echo(f"  - {p}")
    raise typer.Exit(1)


@config_app.command("docs")
@friendly_errors
def config_docs_cmd(out: Path | None = typer.Option(None, "--out", "-o",
                                                   help="Write the Markdown here (e.g. docs/settings.md); "
                                                        "default: print it.")) -> None:
    """The settings reference (every key, type, range, default, description) as Markdown."""
    from eifer.config import config_reference_markdown

    text = config_reference_markdown()
    if out is None:
        sys.stdout.write(text)
        return
    from eifer.io import write_text

    write_text(out, text)
    typer.echo(f"settings reference written to {out}")


@app.command("version")
def version() -> None:
    """Print eifer's version and those of the packages it depends on."""
    import json

    from eifer.runfolder import package_versions

    sys.stdout.write(json.dumps(package_versions(), indent=2) + "\n")


# --- stage commands are registered below, one block per stage ----------------


# --- synth ---------------------------------------------------------------------
@app.command("synth")
@friendly_errors
def synth(
    out: Path = typer.Option(..., "--out", "-o", help="Study folder to write."),
    participants: int = typer.Option(SYNTH.participants, "--participants", "-n", help="Number of participants."),
    seed: int = typer.Option(SYNTH.seed, "--seed", help="Random seed (same seed -> identical study)."),
    video_seconds: float = typer.Option(SYNTH.video_seconds, "--video-seconds", help="Length of each face video."),
    fps: int = typer.Option(SYNTH.fps, "--fps", help="Video frame rate."),
    no_video: bool = typer.Option(SYNTH.no_video, "--no-video", help="Tables + ECG only (fast)."),
    null: bool = typer.Option(SYNTH.null, "--null", help="Plant no EI-group difference."),
    width: int = typer.Option(SYNTH.width, "--width", help="Video width in pixels (even)."),
    height: int = typer.Option(SYNTH.height, "--height", help="Video height in pixels (even)."),
    planted_cutoff: float = typer.Option(SYNTH.planted_cutoff, "--planted-cutoff",
                                         help="Expected EI score separating true groups."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes (0 = one per core)."),
) -> None:
    """Write a synthetic study folder with planted ground truth in OUT/_truth/."""
    from eifer.synth import synth_study

    root = synth_study(out, participants=participants, seed=seed, video_seconds=video_seconds, fps=fps,
                       no_video=no_video, null=null, width=width, height=height,
                       planted_cutoff=planted_cutoff, n_jobs=jobs)
    console.print(f"synthetic study written to [bold]{root}[/] (ground truth in {root / '_truth'})")


# --- validate ------------------------------------------------------------------
@app.command("validate")
@friendly_errors
def validate(
    study: Path = typer.Argument(..., help="Study folder (see docs/study-folder.md)."),
    config: Path | None = ConfigOpt,
    profile: str | None = ProfileOpt,
    skip_media: bool = typer.Option(False, "--skip-media/--check-media",
                                    help="Only check that ECG and video files exist (faster), or also open them."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes for media checks (0 = one per core)."),
) -> None:
    """Check a study folder and list every problem (file, line, column); exit code 1 if any."""
    from eifer.study import scan_study

    cfg = cli_config(config, profile, None)
    scan = scan_study(study, validate_media=not skip_media, allow_incomplete_ei=cfg.ei.allow_incomplete,
                      n_jobs=jobs)
    from eifer.plan import check_study_size

    summary = scan.summary()
    width = max(len(str(i)) for i in summary["item"])
    for item, value in zip(summary["item"], summary["value"]):
        typer.echo(f"{item:<{width}}  {value}")
    parts = scan.tables.get("participants")
    # the folder can be valid and still too small for the configured profile: said here, refused by check/run
    for problem in [] if parts is None else check_study_size(len(parts), cfg):
        typer.echo(f"warning: study size: {problem} (`eifer check` and `eifer run` refuse it)")
    if not scan.problems:
        typer.echo("OK: no problems found.")
        return
    from eifer.study import problems_grouped

    typer.echo(f"\n{len(scan.problems)} problem(s):")
    for i, line in enumerate(problems_grouped(scan.problems), start=1):
        typer.echo(f"{i:>4}. {line}")
    raise typer.Exit(1)


# --- check (preflight) ---------------------------------------------------------------
@app.command("check")
@friendly_errors
def check_cmd(
    study: Path = typer.Argument(..., help="Study folder (see docs/study-folder.md)."),
    config: Path | None = ConfigOpt,
    profile: str | None = ProfileOpt,
    out: Path | None = typer.Option(None, "--out", "-o", help="Run folder (checked for write access)."),
) -> None:
    """Check the study's tables and every configured file and setting a run needs, without running anything."""
    from eifer.pipeline.preflight import check_before_run

    problems = check_before_run(study, cli_config(config, profile, None), out)
    if problems.empty:
        typer.echo("OK: the study's tables and every configured file and setting are in order.")
        return
    for r in problems.itertuples():
        value = f" = {r.value}" if r.value else ""
        typer.echo(f"{r.severity}: {r.key}{value}: {r.problem}")
    if (problems["severity"] == "error").any():
        raise typer.Exit(1)


# --- run / demo / report (pipeline) ---------------------------------------------
def _print_run(out: Path, stages: pd.DataFrame, seconds: float | None = None) -> None:
    from eifer.pipeline.summary import headline_results, stage_lines

    typer.echo("stages:")
    for line in stage_lines(stages):
        typer.echo(line)
    for line in headline_results(out):
        typer.echo(line)
    if seconds is not None:
        typer.echo(f"total time: {seconds:.0f} s")
    typer.echo(f"report: {out / 'report' / 'index.html'}  (Markdown: {out / 'report' / 'report.md'})")


@app.command("run")
@friendly_errors
def run_cmd(
    study: Path = typer.Argument(..., help="Study folder (see docs/study-folder.md)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder (created, or resumed if it exists)."),
    config: Path | None = ConfigOpt,
    profile: str | None = ProfileOpt,
    seed: int | None = SeedOpt,
    until: list[str] | None = typer.Option(None, "--stage", "-s",
                                              help="Run only this stage and what it needs (repeatable)."),
    force: list[str] | None = typer.Option(None, "--force", help="Redo this stage and all after it (repeatable)."),
    executor: str | None = typer.Option(None, "--executor", help="Where units run: 'local' (process pool) or "
                                           "'ray' (config executor.kind; executor.address picks the cluster)."),
) -> None:
    """Run every stage from study folder to report; unchanged stages are skipped, a killed run resumes."""
    import time

    from eifer.pipeline import run_pipeline

    t0 = time.perf_counter()
    cfg = cli_config(config, profile, seed)
    if executor is not None:
        if executor not in ("local", "ray"):
            raise typer.BadParameter(f"--executor {executor!r}: choose 'local' or 'ray'")
        cfg = cfg.model_copy(update={"executor": cfg.executor.model_copy(update={"kind": executor})})
    stages = run_pipeline(study, out, cfg, stages=until or None, force=force or None)
    _print_run(out, stages, time.perf_counter() - t0)


@app.command("demo")
@friendly_errors
def demo_cmd(
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Run folder; the study goes to OUT/study."),
    config: Path | None = ConfigOpt,
    seed: int | None = SeedOpt,
    participants: int | None = typer.Option(None, "--participants", "-n",
                                               help=f"Synthetic participants (default: {DemoStudy.participants})."),
    video_seconds: float | None = typer.Option(None, "--video-seconds", help="Length of each synthetic face video "
                                                  f"(default {DemoStudy.video_seconds:g} s)."),
) -> None:
    """Synthetic study + full run with the demo profile (minutes on a laptop); prints where the report is."""
    from eifer.pipeline.demo import run_demo

    cfg = cli_config(config, "demo", seed)
    given: dict[str, Any] = {"participants": participants, "video_seconds": video_seconds}
    size = DemoStudy(**{k: v for k, v in given.items() if v is not None})
    info(f"demo: synthetic study of {size.participants} participants x 4 videos x {size.video_seconds:g} s "
               f"at {size.fps} fps -> {out / 'study'}; run folder {out}")
    _, stages, seconds = run_demo(out, cfg, size)
    _print_run(out, stages, seconds)


@app.command("report")
@friendly_errors
def report_cmd(
    run: Path = typer.Argument(..., help="Run folder of `eifer run`."),
    include_faces: bool = typer.Option(False, "--include-faces/--no-faces",
                                       help="Add example face crops (identifiable data; off by default)."),
) -> None:
    """(Re)build RUN/report/index.html (self-contained) and report.md from a run folder."""
    from eifer.report import build_report

    path = build_report(run, include_faces=include_faces or None)
    typer.echo(f"report: {path}  (Markdown: {path.parent / 'report.md'})")


# --- one sub-command per pipeline stage ------------------------------------------
def _participant_stage(name: str, study: Path, out: Path, config: Path | None, profile: str | None, seed: int | None,
                       force: bool) -> None:
    """Run one stage (and the stages it reads) into a run folder."""
    from eifer.pipeline import run_pipeline

    stages = run_pipeline(study, out, cli_config(config, profile, seed), stages=[name],
                          force=[name] if force else None)
    from eifer.pipeline.summary import stage_lines

    for line in stage_lines(stages):
        typer.echo(line)
    row = stages.set_index("stage").loc[name]
    if row["status"] not in ("ran", "skipped"):
        raise EiferError(f"stage {name!r} did not run: {row['note'] or row['status']}")
    for o in row["outputs"] or []:
        typer.echo(f"  -> {out / o}")


_StudyArg = typer.Argument(..., help="Study folder (see docs/study-folder.md).")
_OutOpt = typer.Option(..., "--out", "-o", help="Run folder (created, or resumed if it exists).")
_ForceOpt = typer.Option(False, "--force", help="Redo the stage even when its inputs and config are unchanged.")


def _print_cutoff_null(out: Path) -> None:
    null = out / "cutoff_null.json"
    if null.is_file():
        import json

        r = json.loads(null.read_text())
        if r.get("n_perm"):
            typer.echo(f"chosen cutoff {r['chosen_cutoff']:g}: best count {r['observed_max']:g} significant "
                       f"interactions of {r['n_variables']} HRV variables; permutation p = {r['p_value']:.3f} "
                       f"({'beyond' if r['beyond_chance'] else 'not beyond'} chance)")


_StudyOptionalArg = typer.Argument(None, help="Study folder; default: the one the run folder was made from.")


def _stage_command(name: str, doc: str, after: Callable[[Path], None] | None = None,
                   study_optional: bool = False) -> None:
    """Register ``eifer NAME STUDY --out RUN`` for one pipeline stage (same options for all).

    ``study_optional``: stages that only read the run folder take the study the run was made from.
    """

    def command(study: Path | None = _StudyOptionalArg if study_optional else _StudyArg, out: Path = _OutOpt,
                config: Path | None = ConfigOpt, profile: str | None = ProfileOpt,
                seed: int | None = SeedOpt, force: bool = _ForceOpt) -> None:
        if study is None:
            from eifer.pipeline.run import study_of_run

            study = study_of_run(out)
        _participant_stage(name, study, out, config, profile, seed, force)
        if after is not None:
            after(out)

    command.__name__ = f"{name.replace('-', '_')}_cmd"
    command.__doc__ = doc
    app.command(name)(friendly_errors(command))


# Pipeline order (docs/pipeline.md); the docstrings are the commands' --help.
_stage_command("ei", "Score the EI assessment (10 points per correct answer, 0-1200) -> RUN/ei_scores.csv.")
_stage_command("hrv", "ECG -> R-peaks -> HRV per segment with NeuroKit2 (parallel, resumable) -> RUN/hrv.parquet.")
_stage_command("labels", "Likert ratings -> binary labels, neutral ratings weak-labelled from the domain "
                         "-> RUN/labels.csv.")
_stage_command("cutoff", "Sweep EI cutoffs (HRV group x emotion ANOVAs), choose one -> groups.csv, Figure 7, "
                         "Table 1.", after=_print_cutoff_null)
_stage_command("frames", "Decode videos: face, landmarks, quality filter -> RUN/frames/<pid>/<vid>.parquet "
                         "(problems.csv lists bad videos).")
_stage_command("affect", "Valence and arousal in [-1, 1] per face frame, valid or dropped (affect.estimator: "
                         "builtin, onnx, timm, torchscript, geometry).")
_stage_command("select", "Sign-congruent top-|arousal| then top-|valence| frames per video -> dataset.parquet, "
                         "test subsets, crops, Figure 4.")
_stage_command("split", "Fixed test set (2 High + 2 Low) and per-repetition stratified group train/val splits "
                        "-> RUN/splits.json.")
_stage_command("train", "Two-stage fine-tuning of High/Low/Total (direct) and High->Total, Low->Total (transfer), "
                        "every task and repetition -> RUN/models/..., RUN/predictions.parquet. A killed run "
                        "resumes from its last epoch.")
_stage_command("evaluate", "Macro precision/recall/F1, accuracy, ROC-AUC, PR-AUC per run; mean (SD) over "
                           "repetitions -> Tables 2 and 3.", study_optional=True)
_stage_command("stats", "Paired DeLong (Fisher + pooled dAUC), binomial GEE, model-permutation test, BH FDR "
                        "-> Table 4.", study_optional=True)
_stage_command("transfer-cv", """ResNet50/VGG16 by stratified group k-fold CV with gradual unfreezing -> Tables 5, 6.

    The backbones are transfer_cv.backbones. Needs local ImageNet checkpoints
    (transfer_cv.pretrained_paths: {resnet50: /path.pth, ...}); nothing is downloaded. Finished folds are
    kept; an interrupted fold resumes at its last epoch.
    """)


# --- calibrate (statistics under the null) ----------------------------------------
@app.command("calibrate")
@friendly_errors
def calibrate_cmd(
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder for calibration.csv / .md (default: "
                                    "RUN/calibration with --run, else ./calibration)."),
    run_dir: Path | None = typer.Option(None, "--run", help="Simulate this run folder's design: repetitions, "
                                        "pairing (split.pairing), test participants, videos, test-set sizes and "
                                        "class balance (from RUN/predictions.parquet); the report shows the result."),
    items: list[int] | None = typer.Option(None, "--items", help="Test-set size(s) in frames; repeatable. "
                                              "Default: the config's test subsets and baseline sizes."),
    participants: int | None = typer.Option(None, "--participants", min=2, help="Test participants "
                                               "(default: split.n_test_high + split.n_test_low)."),
    videos: int = typer.Option(4, "--videos", min=1, help="Videos per test participant."),
    reps: int | None = typer.Option(None, "--reps", min=1, help="Repetitions per group (default: train.repetitions)."),
    effect: list[float] | None = typer.Option(None, "--effect", help="True group advantage (logit); "
                                                 "repeatable; 0 = type-I error (default: 0)."),
    n_sim: int = typer.Option(200, "--n-sim", min=1, help="Simulated studies per setting."),
    candidates: bool = typer.Option(False, "--candidates/--no-candidates",
                                    help="Also run the rejected candidate alternatives."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes (0 = one per core)."),
    config: Path | None = ConfigOpt, profile: str | None = ProfileOpt, seed: int | None = SeedOpt,
) -> None:
    """Type-I error and power of every group-comparison test for YOUR design (simulated studies)."""
    from eifer.stats.calibration import SimDesign, calibrate, calibrate_for_run, write_calibration

    if run_dir is not None:  # the run's own design: the same function as the pipeline's calibrate stage
        from eifer.runfolder import read_run_config
        from eifer.stats.calibration import read_run_design

        cfg = (cli_config(config, profile, seed) if (config or profile or seed is not None)
               else read_run_config(run_dir))
        design, sizes = read_run_design(run_dir)
        info(f"calibrate: {participants or design.participants} test participants x {design.videos} videos, "
             f"{reps or design.reps} repetitions per group ({'paired' if design.paired else 'independent'}), test "
             f"sizes {items or sizes}, class-1 share {design.prevalence:.2f}, {n_sim} simulated studies per setting")
        out = out or run_dir / "calibration"
        _, md, _ = calibrate_for_run(run_dir, n_sim, config=cfg, out=out, participants=participants, reps=reps,
                                 items=items, effects=effect or [0.0], n_jobs=jobs, candidates=candidates)
    else:
        cfg = cli_config(config, profile, seed)
        n_part = participants or (len(cfg.split.test_participants) if cfg.split.test_participants
                                  else cfg.split.n_test_high + cfg.split.n_test_low)
        per_video = [cfg.select.n_test_frames, cfg.select.n_arousal + cfg.select.n_valence]
        sizes = items or [n_part * videos * k for k in per_video]
        design = SimDesign(participants=n_part, videos=videos, reps=reps or cfg.train.repetitions,
                           paired=cfg.split.pairing == "paired")
        out = out or Path("calibration")
        info(f"calibrate: {design.participants} test participants x {design.videos} videos, {design.reps} "
             f"repetitions per group ({'paired' if design.paired else 'independent'}), test sizes {sizes}, "
             f"class-1 share {design.prevalence:.2f}, {n_sim} simulated studies per setting")
        table = calibrate(n_items=sizes, effects=effect or [0.0], n_sim=n_sim, alpha=cfg.stats.alpha,
                          seed=cfg.seed, n_jobs=jobs, candidates=candidates, design=design,
                          checkpoint_dir=out / ".chunks", n_permutations=cfg.stats.n_permutations,
                          max_exact=cfg.stats.max_exact)
        md, _ = write_calibration(out, table, design, sizes, n_sim, cfg.stats.alpha)
    sys.stdout.write(md)
    console.print(f"written to [bold]{out}[/]/calibration.csv and calibration.md")


# --- plan (units, resources, estimated time; nothing runs) ----------------------
@app.command("plan")
@friendly_errors
def plan_cmd(
    study: Path = typer.Argument(..., help="Study folder (see docs/study-folder.md)."),
    config: Path | None = ConfigOpt, profile: str | None = ProfileOpt,
    workers: int | None = typer.Option(None, "--workers", "-w", help="CPU units at once (default: config)."),
    gpus: int | None = typer.Option(None, "--gpus", help="GPUs the executor can use (default: CUDA devices here)."),
    executor: str | None = typer.Option(None, "--executor", help="local or ray (default: config executor.kind)."),
) -> None:
    """Units per stage, their CPU/GPU/memory needs and an estimated time (eifer.plan.COSTS); runs nothing."""
    from eifer.plan import check_study_size, plan_study
    from eifer.study import load_study

    cfg = cli_config(config, profile, None)
    loaded = load_study(study, validate_media=False, allow_incomplete_ei=cfg.ei.allow_incomplete)
    table = plan_study(loaded, cfg, workers=workers, gpus=gpus, executor=executor)
    show = table.drop(columns=["amount"]).round({"serial_hours": 2, "est_hours": 2})
    typer.echo(show.to_string(index=False))
    typer.echo(table.attrs["advice"])
    for problem in check_study_size(len(loaded.participant_ids), cfg):
        typer.echo(f"warning: study size: {problem} (`eifer check` and `eifer run` refuse it)")




def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
