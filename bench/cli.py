"""The ``bench`` command line: thin Typer wrappers over library functions.

Exercise: ``bench --help``, ``bench langs``, ``bench tasks``, ``bench data flores --langs ha``.
User errors (`BenchError`) print one ``error:`` line plus a hint and exit 2, no traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from bench import report
from bench.errors import BenchError

app = typer.Typer(
    name="bench",
    help="lowres-bench: cross-lingual NLP benchmarks for low-resource languages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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


@app.command()
def langs() -> None:
    """Show every registered language and which tasks cover it (from its language file)."""
    typer.echo(report.languages_table())


@app.command()
def tasks() -> None:
    """Show the fixed task registry: kind, metrics, settings and dataset sources."""
    typer.echo(report.tasks_table())
    typer.echo()
    typer.echo(report.sources_table())


@app.command()
def data(
    task: Annotated[str, typer.Argument(help="Task name: xnli, masakhaner or flores.")],
    langs: Langs = "sw,yo,ha",
    setting: Annotated[
        str | None, typer.Option(help="zero-shot, in-language or few-shot:N (default: the task's).")
    ] = None,
    data_root: DataRoot = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print full provenance records as JSON.")
    ] = False,
) -> None:
    """Load every split of TASK for the languages (and English, the source) and show counts."""
    from bench.source import data_root as resolve_root

    rows = report.load_task_splits(task, langs, setting, resolve_root(data_root))
    typer.echo(
        json.dumps(rows, indent=2, ensure_ascii=False) if as_json else report.splits_table(rows)
    )


@app.command()
def contamination(
    langs: Langs = "sw,yo,ha",
    corpus: Annotated[
        str,
        typer.Option(help="Comma-separated monolingual sources to check (lacuna, masakhanews)."),
    ] = "lacuna,masakhanews",
    data_root: DataRoot = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the cleaned corpora to this folder.")
    ] = None,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Write the findings as JSON (no corpus text).")
    ] = None,
) -> None:
    """Find evaluation sentences (every task's dev/test) inside monolingual corpora."""
    from bench.source import data_root as resolve_root

    reports = report.contamination(langs, corpus, resolve_root(data_root), out, report_path)
    typer.echo(report.contamination_table(reports))
    for path, what in ((out, "cleaned corpora"), (report_path, "report")):
        if path:
            typer.echo(f"{what} written to {path}")


@app.command()
def run(
    method: Annotated[
        str, typer.Option(help="Method or composition, e.g. baseline, mlm+adversarial, full.")
    ] = "baseline",
    langs: Langs = "sw,yo,ha",
    tasks: Annotated[
        str | None, typer.Option(help="Comma-separated tasks (default: all covering --langs).")
    ] = None,
    data_root: DataRoot = None,
) -> None:
    """Train and evaluate (not implemented yet: this checks the plan and loads its data)."""
    from bench.source import data_root as resolve_root

    rows = report.plan_data(method, langs, tasks, resolve_root(data_root))
    typer.echo(report.splits_table(rows))
    typer.echo(
        "\nbench run: the data above loads; training is not implemented yet "
        "(training core: issue #3, methods: issue #5). Nothing was trained.",
        err=True,
    )
    raise typer.Exit(3)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: user errors become one clean line and exit code 2."""
    try:
        app(args=argv, prog_name="bench")
    except BenchError as err:
        typer.secho(f"error: {err.message}", err=True, fg=typer.colors.RED)
        if err.hint:
            typer.echo(f"  hint: {err.hint}", err=True)
        sys.exit(err.exit_code)


if __name__ == "__main__":
    main()
