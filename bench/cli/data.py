"""Commands over the registries and the data: ``bench langs``, ``methods``, ``tasks``,
``data``, ``contamination``, ``lang add``, ``lang check``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bench.cli.app import DataRoot, Langs, app, backbone_app, lang_app
from bench.report import catalog as report


@app.command()
def langs(data_root: DataRoot = None) -> None:
    """Show every registered language and which tasks cover it (from its language file);
    with a data root, which settings its files allow."""
    from bench.data.source import data_root as resolve_root

    typer.echo(report.languages_table(resolve_root(data_root)))


@app.command()
def methods() -> None:
    """List the method plug-ins (entry-point group lowres_bench.methods), one line each."""
    from bench.train.method import FULL, registry

    for name, cls in registry().items():
        typer.echo(f"{name:<16} {cls.summary}  [{cls.paper}]")
    typer.echo(f"{'full':<16} all four: {' -> '.join(FULL)}; leave one out with full-no-<method>")
    typer.echo("compose with +, e.g. --method mlm+adversarial; settings: --set mlm.steps=500")


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
    from bench.data.language import parse_langs
    from bench.data.source import data_root as resolve_root
    from bench.data.task import get_task

    chosen = get_task(task)
    rows = report.load_task_splits(chosen, parse_langs(langs), setting, resolve_root(data_root))
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
    from bench.data.language import parse_langs
    from bench.data.source import data_root as resolve_root

    names = [c.strip() for c in corpus.split(",") if c.strip()]
    root = resolve_root(data_root)
    command = f"bench contamination --langs {langs} --corpus {corpus}"
    reports = report.contamination(parse_langs(langs), names, root, out, report_path, command)
    typer.echo(report.contamination_table(reports))
    for path, what in ((out, "cleaned corpora"), (report_path, "report")):
        if path:
            typer.echo(f"{what} written to {path}")


app.add_typer(backbone_app, name="backbone")
app.add_typer(lang_app, name="lang")


@lang_app.command("add")
def lang_add(
    code: Annotated[str, typer.Argument(help="ISO 639-1 or 639-3 code, e.g. ig or ibo.")],
    out: Annotated[
        Path | None, typer.Option(help="Folder for the file (default: bench/data/languages/).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    data_root: DataRoot = None,
) -> None:
    """Scaffold a language file from what can be found out (codes, datasets, script)."""
    from bench.data import contribute
    from bench.data.language import _load
    from bench.data.source import data_root as resolve_root

    root = resolve_root(data_root)
    path = contribute.add(code, root, out, force)
    _load.cache_clear()
    typer.echo(path.read_text(encoding="utf-8"))
    typer.echo(f"written: {path}")
    typer.echo(f"next: fill in every TODO, then `bench lang check {path.stem}`")


@lang_app.command("check")
def lang_check(
    code: Annotated[str, typer.Argument(help="Language code or path to a language file.")],
    data_root: DataRoot = None,
) -> None:
    """Validate a language file: schema, every dataset it claims, its script, runnable tasks."""
    from bench.core.tables import table
    from bench.data import contribute
    from bench.data.source import data_root as resolve_root

    result = contribute.check(code, resolve_root(data_root))
    if result.splits:
        typer.echo(table(result.splits))
    seen, share = result.script
    if seen:
        typer.echo(f"\nscript of the text: {seen} ({share:.0%} of letters)")
    if result.tasks:
        typer.echo("\n" + table(result.tasks))
    for what, fix in result.problems:
        typer.secho(f"problem: {what}", fg=typer.colors.RED)
        typer.echo(f"  fix: {fix}")
    if result.ok:
        typer.echo("\nok: the file is valid and at least one task can run")
    raise typer.Exit(0 if result.ok else 1)
