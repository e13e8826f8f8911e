"""Command-line interface (thin: parses arguments, calls the Python API).

Each stage module exposes a plain function; the commands below only parse
options, call it, and turn :class:`eifer.errors.EiferError` into a message and
exit code 1.
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Callable, Optional

import typer
from rich.console import Console

from eifer.errors import EiferError

app = typer.Typer(
    name="eifer",
    help="EI-stratified facial expression recognition: from a study folder to the paper's tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Show and check run configurations.", no_args_is_help=True)
app.add_typer(config_app, name="config")

console = Console(stderr=True)

ConfigOpt = typer.Option(None, "--config", "-c", help="YAML config merged over the profile.")
ProfileOpt = typer.Option(None, "--profile", "-p", help="Base profile: paper or demo.")
SeedOpt = typer.Option(None, "--seed", help="Random seed (overrides the config).")


def friendly_errors(fn: Callable) -> Callable:
    """Turn EiferError / missing files into one clear message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (EiferError, FileNotFoundError, ValueError) as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1)

    return wrapper


def cli_config(config: Optional[Path], profile: Optional[str], seed: Optional[int]):
    from eifer.config import load_config

    return load_config(config, profile=profile, seed=seed)


@config_app.command("show")
@friendly_errors
def config_show(config: Optional[Path] = ConfigOpt, profile: Optional[str] = ProfileOpt,
                seed: Optional[int] = SeedOpt) -> None:
    """Print the full configuration (profile + your file) as YAML."""
    sys.stdout.write(cli_config(config, profile, seed).to_yaml())


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
    participants: int = typer.Option(12, "--participants", "-n", help="Number of participants."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed -> identical study)."),
    video_seconds: float = typer.Option(20.0, "--video-seconds", help="Length of each face video."),
    fps: int = typer.Option(15, "--fps", help="Video frame rate."),
    no_video: bool = typer.Option(False, "--no-video", help="Tables + ECG only (fast)."),
    null: bool = typer.Option(False, "--null", help="Plant no EI-group difference."),
    width: int = typer.Option(320, "--width", help="Video width in pixels (even)."),
    height: int = typer.Option(240, "--height", help="Video height in pixels (even)."),
    planted_cutoff: float = typer.Option(830.0, "--planted-cutoff", help="Expected EI score separating true groups."),
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
    config: Optional[Path] = ConfigOpt,
    profile: Optional[str] = ProfileOpt,
    skip_media: bool = typer.Option(False, "--skip-media", help="Only check that ECG and video files exist."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes for media checks (0 = one per core)."),
) -> None:
    """Check a study folder and list every problem (file, line, column); exit code 1 if any."""
    from eifer.study import scan_study

    cfg = cli_config(config, profile, None)
    scan = scan_study(study, validate_media=not skip_media, allow_incomplete_ei=cfg.ei.allow_incomplete,
                      n_jobs=jobs)
    summary = scan.summary()
    width = max(len(str(i)) for i in summary["item"])
    for item, value in zip(summary["item"], summary["value"]):
        typer.echo(f"{item:<{width}}  {value}")
    if not scan.problems:
        typer.echo("OK: no problems found.")
        return
    typer.echo(f"\n{len(scan.problems)} problem(s):")
    for i, p in enumerate(scan.problems, start=1):
        typer.echo(f"{i:>4}. {p}")
    raise typer.Exit(1)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
