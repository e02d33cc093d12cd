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
# Options shared by `bench run` and `bench sweep` (one help text each).
Tasks = Annotated[
    str | None, typer.Option(help="Comma-separated tasks (default: all covering --langs).")
]
Backbone = Annotated[
    str | None,
    typer.Option(
        help="Backbone name or a local model folder (default: xlmr_base online, me5_small offline)."
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


@app.command()
def langs(data_root: DataRoot = None) -> None:
    """Show every registered language and which tasks cover it (from its language file);
    with a data root, which settings its files allow."""
    from bench.source import data_root as resolve_root

    typer.echo(report.languages_table(resolve_root(data_root)))


@app.command()
def methods() -> None:
    """List the method plug-ins (entry-point group lowres_bench.methods), one line each."""
    from bench.method import FULL, registry

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


backbone_app = typer.Typer(
    help="Backbones: list them, build the offline ones.", no_args_is_help=True
)
app.add_typer(backbone_app, name="backbone")


lang_app = typer.Typer(
    help="Add a language with one data file: scaffold it, then check it.", no_args_is_help=True
)
app.add_typer(lang_app, name="lang")


@lang_app.command("add")
def lang_add(
    code: Annotated[str, typer.Argument(help="ISO 639-1 or 639-3 code, e.g. ig or ibo.")],
    out: Annotated[
        Path | None, typer.Option(help="Folder for the file (default: bench/languages/).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    data_root: DataRoot = None,
) -> None:
    """Scaffold a language file from what can be found out (codes, datasets, script)."""
    from bench import contribute
    from bench.language import _load
    from bench.source import data_root as resolve_root

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
    from bench import contribute
    from bench.report import table
    from bench.source import data_root as resolve_root

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


@backbone_app.command("list")
def backbone_list() -> None:
    """Show the backbone specs in baselines/ and their fine-tuning recipes."""
    typer.echo(report.backbones_table())


@backbone_app.command("build")
def backbone_build(
    name: Annotated[
        str, typer.Argument(help="An offline backbone: me5_small, tiny_xlmr or tiny_bert.")
    ],
    data_root: DataRoot = None,
) -> None:
    """Build (or find) an offline backbone: me5_small is converted from its installed
    packages; tiny_* are pre-trained here (tokenizer + MLM), or found in results/backbones/."""
    from bench.backbone import backbones, materialize
    from bench.paths import cache_dir
    from bench.source import data_root as resolve_root

    spec = backbones().get(name)
    if not spec.offline:
        raise BenchError(
            f"'{name}' is a hub backbone; only offline ones are built", hint="try me5_small"
        )
    folder, prov = materialize(spec, resolve_root(data_root), cache_dir())
    size = f"{prov['parameters']:,} parameters, " if "parameters" in prov else ""
    typer.echo(f"{name}: {folder} ({size}built in {prov['wall_s']} s)")
    typer.echo(f"weights sha256: {prov['weights_sha256']}")
    if spec.caveat:
        typer.echo(f"caveat: {spec.caveat}")


@app.command()
def run(
    method: Annotated[
        str,
        typer.Option(
            help="baseline, a plug-in (bench methods), a composition (mlm+adversarial), full or full-no-<method>."
        ),
    ] = "baseline",
    langs: Langs = "sw,yo,ha",
    tasks: Tasks = None,
    backbone: Backbone = None,
    seeds: Seeds = "1,2,3,4,5",
    settings: Settings = None,
    selection: Selection = None,
    set_: Overrides = None,
    comet: Annotated[
        str | None,
        typer.Option(
            help="COMET model for flores: wmt22, africomet, a hub id or a checkpoint path."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Re-run even where a record exists.")] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the plan and what is already done; train nothing."),
    ] = False,
    data_root: DataRoot = None,
) -> None:
    """Fine-tune and evaluate; one run record per (task, language, setting, selection, seed)."""
    from bench import plan
    from bench.source import data_root as resolve_root

    request = plan.Request(
        method=method,
        langs=langs,
        tasks=tasks,
        backbone=backbone,
        seeds=seeds,
        settings=settings,
        selection=selection,
        overrides=set_ or [],
        comet=comet,
        force=force,
    )
    plan.run(request, resolve_root(data_root), dry_run=dry_run, echo=typer.echo)


@app.command()
def sweep(
    ctx: typer.Context,
    methods: Annotated[
        str,
        typer.Option(help="Comma-separated methods (default: baseline, the four plug-ins, full)."),
    ] = "baseline,mlm,alignment,backtranslation,adversarial,full",
    langs: Langs = "sw,yo,ha",
    tasks: Tasks = None,
    backbone: Backbone = None,
    seeds: Seeds = "1,2,3",
    settings: Settings = None,
    selection: Selection = None,
    set_: Overrides = None,
    spec: Annotated[
        Path | None,
        typer.Option(
            help="A sweep spec (TOML with these options' names); options given on the command line change its values."
        ),
    ] = None,
    executor: Annotated[
        str, typer.Option(help="local (N worker processes), slurm, or submitit-local.")
    ] = "local",
    workers: Annotated[int, typer.Option(help="Local worker processes.")] = 1,
    ranks_per_run: Annotated[
        int | None,
        typer.Option(
            help="Processes one training spans per node (default: --gpus-per-run, else 1): torchrun on CPU, the DeepSpeed launcher with GPUs; under Slurm, tasks per node.",
        ),
    ] = None,
    gpus_per_run: Annotated[
        int,
        typer.Option(
            help="GPUs one training uses per node, one rank each (Slurm: --gpus-per-node)."
        ),
    ] = 0,
    nodes_per_run: Annotated[int, typer.Option(help="Nodes one training spans.")] = 1,
    hostfile: Annotated[
        Path | None, typer.Option(help="DeepSpeed hostfile for multi-node runs.")
    ] = None,
    launcher: Annotated[
        str,
        typer.Option(
            help="For --ranks-per-run > 1: auto (deepspeed with GPUs or a hostfile, else torchrun), deepspeed, torchrun."
        ),
    ] = "auto",
    partition: Annotated[str | None, typer.Option(help="Slurm partition.")] = None,
    account: Annotated[str | None, typer.Option(help="Slurm account to charge.")] = None,
    qos: Annotated[str | None, typer.Option(help="Slurm quality of service.")] = None,
    cpus_per_run: Annotated[
        int, typer.Option(help="Slurm: CPUs per training (split between its ranks).")
    ] = 4,
    mem_gb_per_run: Annotated[
        float | None, typer.Option(help="Slurm: memory per training and node, GB.")
    ] = None,
    timeout_min: Annotated[int, typer.Option(help="Slurm: time limit per job (minutes).")] = 240,
    array_parallelism: Annotated[
        int | None, typer.Option(help="Slurm: runs of the job array at once (%N).")
    ] = None,
    slurm_arg: Annotated[
        list[str] | None,
        typer.Option(
            help="Slurm: any other sbatch option as key=value (repeatable), e.g. constraint=a100."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the DAG, what is done, and the work left."),
    ] = False,
    data_root: DataRoot = None,
) -> None:
    """Run a grid (methods x tasks x languages x seeds) as a DAG of jobs, resumably."""
    from bench import sweep as sw
    from bench.source import data_root as resolve_root

    if spec is not None:
        # Options typed on the command line narrow or change the spec's values
        # (`--spec sweeps/offline.toml --tasks xnli` runs that grid's xnli part only).
        chosen = sw.load_spec(spec)
        given = {
            name: value
            for name, value in ctx.params.items()
            if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"
        }
        for name in ("langs", "tasks", "backbone", "seeds", "settings", "selection"):
            if name in given:
                setattr(chosen, name, given[name])
        if "methods" in given:
            chosen.methods = [m.strip() for m in methods.split(",") if m.strip()]
        chosen.overrides = [*chosen.overrides, *(set_ or [])]
        grid = {"langs", "tasks", "backbone", "seeds", "settings", "selection", "methods"}
        if grid & given.keys() or set_:
            chosen.complete = False  # another grid than the one the spec calls complete
    else:
        chosen = sw.Spec(
            methods=[m.strip() for m in methods.split(",") if m.strip()],
            langs=langs,
            tasks=tasks,
            backbone=backbone,
            seeds=seeds,
            settings=settings,
            selection=selection,
            overrides=set_ or [],
        )
    if workers < 1:
        raise BenchError(f"--workers {workers}", hint="at least 1")
    from bench.slurm import SlurmOptions, parse_slurm_args

    ranks = ranks_per_run if ranks_per_run is not None else max(1, gpus_per_run)
    if ranks < 1 or nodes_per_run < 1 or gpus_per_run < 0:
        raise BenchError("--ranks-per-run and --nodes-per-run must be at least 1")
    if min(timeout_min, cpus_per_run, array_parallelism or 1) < 1:
        raise BenchError("--timeout-min, --cpus-per-run and --array-parallelism must be >= 1")
    if hostfile is not None and not hostfile.is_file():
        raise BenchError(f"no hostfile at {hostfile}", hint="DeepSpeed's format: 'host slots=N'")
    slurm = SlurmOptions(
        partition=partition,
        account=account,
        qos=qos,
        timeout_min=timeout_min,
        cpus_per_run=cpus_per_run,
        gpus_per_run=gpus_per_run,
        mem_gb_per_run=mem_gb_per_run,
        array_parallelism=array_parallelism,
        extra=parse_slurm_args(slurm_arg),
    )
    launch = sw.Launch(ranks, nodes_per_run, hostfile, launcher)
    code = sw.sweep(
        chosen, resolve_root(data_root), executor, workers, dry_run, typer.echo, slurm, launch
    )
    raise typer.Exit(code)


@app.command("sweep-job", hidden=True)
def sweep_job(job: str, data_root: DataRoot = None) -> None:
    """Run one job of a sweep (the local executor's worker process)."""
    from bench import sweep as sw
    from bench.paths import cache_dir, results_dir
    from bench.source import data_root as resolve_root

    state = sw.run_job(sw.Job.from_json(job), resolve_root(data_root), results_dir(), cache_dir())
    raise typer.Exit({"done": 0, "busy": 3, "failed": 4}[state])


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
    data_root: DataRoot = None,
) -> None:
    """Ablation leaderboard of the run records: methods vs baseline, mean ± std over seeds,
    paired bootstrap + ASO with Holm's correction, collapsed runs and MT test sets marked."""
    from bench import leaderboard as lb
    from bench.paths import results_dir
    from bench.source import data_root as resolve_root

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
    rows = lb.build(runs, resolve_root(data_root), samples)
    text = lb.markdown(rows) + lb.references_markdown(lb.references(split(tasks), codes))
    text += lb.provenance(runs, "bench " + " ".join(sys.argv[1:]))
    if out is None:
        typer.echo(text)
        return
    from bench.results import write_atomic

    write_atomic(out / "ablation.md", text.encode())
    write_atomic(out / "ablation.csv", lb.csv(rows).encode())
    write_atomic(out / "ablation.tex", lb.latex(rows).encode())
    write_atomic(out / "ablation.html", lb.html(rows).encode())
    typer.echo(f"written: {out}/ablation.{{md,csv,tex,html}} ({len(runs)} records)")


@app.command()
def paper(
    out: Annotated[Path, typer.Option(help="Folder for the generated tables.")] = Path(
        "leaderboards/generated"
    ),
    data_root: DataRoot = None,
) -> None:
    """Regenerate every table specified in leaderboards/*.toml (a new table is a new spec)."""
    from bench import leaderboard as lb
    from bench.paths import results_dir
    from bench.source import data_root as resolve_root

    for path in lb.paper(results_dir(), resolve_root(data_root), out):
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
    from bench.paths import REPO, results_dir
    from bench.summary import (
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
