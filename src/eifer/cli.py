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


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
