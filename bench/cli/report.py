"""Commands that read the records: ``bench leaderboard``, ``paper``, ``summary``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bench.cli.app import DataRoot, app
from bench.core.errors import BenchError

# the significance tests' worker processes (`bench leaderboard`, `bench paper`)
Workers = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Processes for the significance tests (default: the CPU cores this process may use).",
    ),
]


@app.command()
def leaderboard(
    backbone: Annotated[str | None, typer.Option(help="Comma-separated backbones.")] = None,
    tasks: Annotated[str | None, typer.Option(help="Comma-separated tasks.")] = None,
    langs: Annotated[str | None, typer.Option(help="Comma-separated languages.")] = None,
    setting: Annotated[str | None, typer.Option(help="Comma-separated settings.")] = None,
    selection: Annotated[str | None, typer.Option(help="Comma-separated selections.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write ablation.md and ablation.csv into this folder (e.g. leaderboards/)."
        ),
    ] = None,
    samples: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    workers: Workers = None,
    data_root: DataRoot = None,
) -> None:
    """Ablation leaderboard of the run records: methods vs baseline, mean ± std over seeds,
    paired bootstrap + ASO with Holm's correction, collapsed runs and MT test sets marked."""
    from bench.core.paths import results_dir
    from bench.data.source import data_root as resolve_root
    from bench.report import leaderboard as lb

    def split(text: str | None) -> list[str] | None:
        return [t.strip() for t in text.split(",") if t.strip()] if text else None

    filters = lb.check_filters(
        backbone=split(backbone),
        tasks=split(tasks),
        langs=split(langs),
        setting=split(setting),
        selection=split(selection),
    )
    codes = filters["langs"]
    runs = lb.load_runs(results_dir(), **filters)
    if not runs:
        raise BenchError("no run records match", hint="check the filters, or run `bench run` first")
    rows = lb.build(runs, resolve_root(data_root), samples, workers=workers)
    footer = lb.references_markdown(lb.references(split(tasks), codes))
    footer += lb.provenance(runs, "bench " + " ".join(sys.argv[1:]))
    text = lb.markdown(rows) + footer
    if out is None:
        typer.echo(text)
        return
    from bench.runs.records import write_atomic

    write_atomic(out / "ablation.md", text.encode())
    write_atomic(out / "ablation.csv", lb.csv(rows).encode())
    write_atomic(out / "ablation.tex", lb.latex(rows).encode())
    write_atomic(
        out / "ablation.html", lb.html(rows, "lowres-bench ablation", footer.strip()).encode()
    )
    typer.echo(f"written: {out}/ablation.{{md,csv,tex,html}} ({len(runs)} records)")


@app.command()
def paper(
    out: Annotated[Path, typer.Option(help="Folder for the generated tables.")] = Path(
        "leaderboards/generated"
    ),
    data_root: DataRoot = None,
    spec: Annotated[
        list[Path] | None,
        typer.Option(help="Only this spec (repeatable; default: every leaderboards/*.toml)."),
    ] = None,
    workers: Workers = None,
) -> None:
    """Regenerate every table specified in leaderboards/*.toml (a new table is a new spec)."""
    from bench.core.paths import results_dir
    from bench.data.source import data_root as resolve_root
    from bench.report import leaderboard as lb

    tables = lb.paper(results_dir(), resolve_root(data_root), out, spec or None, workers)
    for path in tables:
        typer.echo(f"written: {path}")


@app.command()
def summary(
    write: Annotated[
        Path | None,
        typer.Option(help="Rewrite the summary block of this Markdown file (e.g. README.md)."),
    ] = None,
) -> None:
    """Mean ± std over seeds of every cell in results/, and the throughput measurements of
    results/perf/ (Markdown); --write fills the marked blocks of a file (results, throughput,
    the sweeps' cost, the ablation table)."""
    from bench.core.paths import REPO, results_dir
    from bench.report.summary import (
        ABLATION,
        COST,
        GRIDS,
        PERF,
        ablation_block,
        cost_block,
        perf_table,
        replace_block,
        summary_table,
    )

    table, perf = summary_table(results_dir()), perf_table(results_dir())
    if write is None:
        typer.echo(table)
        typer.echo()
        typer.echo(perf)
        return
    try:
        text = replace_block(write.read_text(encoding="utf-8"), table)
        if PERF[0] in text:
            text = replace_block(text, perf, PERF)
        if COST[0] in text:
            text = replace_block(text, cost_block(results_dir(), [REPO / g for g in GRIDS]), COST)
        if ABLATION[0] in text:  # after `bench paper` (make tables runs both, in that order)
            text = replace_block(
                text, ablation_block(REPO / "leaderboards" / "generated"), ABLATION
            )
        write.write_text(text, encoding="utf-8")
    except (OSError, ValueError) as err:
        raise BenchError(f"{write}: {err}", hint="add the summary markers to the file") from None
    typer.echo(f"summary written to {write}")


@app.command()
def choose(
    spec: Annotated[Path, typer.Option(help="The search's sweep spec (with a \\[search] table).")],
    out: Annotated[
        Path | None, typer.Option(help="Also write the report to this Markdown file.")
    ] = None,
) -> None:
    """Each method's searched settings ranked on dev (zero-shot: English dev; in-language:
    target dev; never test), the chosen values, and whether the backbone spec holds them."""
    from bench.core.paths import REPO, results_dir
    from bench.report.choose import report
    from bench.runs.grid import load_spec

    if not spec.is_file():
        raise BenchError(f"no sweep spec at {spec}", hint="e.g. --spec sweeps/me5-search.toml")
    chosen = load_spec(spec)
    if not chosen.search:
        raise BenchError(
            f"{spec} has no [search] table", hint="a search spec lists the values tried"
        )
    text = report(chosen, REPO / chosen.results if chosen.results else results_dir())
    typer.echo(text)
    if out is not None:
        from bench.runs.records import write_atomic

        write_atomic(out, (text + "\n").encode())
