"""The ``bench`` app, the options its commands share, and the entry point: user errors
(`BenchError`) print one ``error:`` line plus a hint and exit 2, no traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bench.core.errors import BenchError

app = typer.Typer(
    name="bench",
    help="lowres-bench: cross-lingual NLP benchmarks for low-resource languages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
backbone_app = typer.Typer(
    help="Backbones: list them, build the offline ones.", no_args_is_help=True
)


lang_app = typer.Typer(
    help="Add a language with one data file: scaffold it, then check it.", no_args_is_help=True
)

DataRoot = Annotated[
    Path | None,
    typer.Option(
        "--data-root",
        envvar="BENCH_DATA_ROOT",
        help="Local mirror of the datasets (e.g. ../shared/data); without it, the Hugging Face hub.",
        show_default=False,
    ),
]
Langs = Annotated[
    str,
    typer.Option("--langs", "-l", help="Comma-separated languages: ISO 639-3 or 639-1 (sw,yo,ha)."),
]
# Options shared by `bench run` and `bench sweep` (one help text each).
Tasks = Annotated[
    str | None, typer.Option(help="Comma-separated tasks (default: all covering --langs).")
]
Backbone = Annotated[
    str | None,
    typer.Option(
        help="Backbone name (with a recipe profile: me5_small:ablation) or a local model folder (default: xlmr_base online, me5_small offline)."
    ),
]
Settings = Annotated[
    str | None,
    typer.Option(
        help="zero-shot, in-language, few-shot:N (comma-separated; each task runs those it supports). Default: each task's own."
    ),
]
Selection = Annotated[
    str | None,
    typer.Option(
        help="Checkpoint selection: source-dev, target-dev, last (comma-separated). Default: source-dev for zero-shot, target-dev otherwise."
    ),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a recipe value (--set lr=3e-5) or a method setting (--set mlm.steps=500); repeatable.",
    ),
]
Seeds = Annotated[str, typer.Option(help="Comma-separated seeds.")]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: user errors become one clean line and exit code 2."""
    try:
        app(args=argv, prog_name="bench")
    except BenchError as err:
        typer.secho(f"error: {err.message}", err=True, fg=typer.colors.RED)
        if err.hint:
            typer.echo(f"  hint: {err.hint}", err=True)
        sys.exit(err.exit_code)
