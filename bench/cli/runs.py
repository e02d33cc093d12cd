"""Commands that build and train: ``bench backbone list/build``, ``run``, ``sweep`` (and the
hidden ``sweep-job`` a local worker runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bench.cli.app import (
    Backbone,
    DataRoot,
    Langs,
    Overrides,
    Seeds,
    Selection,
    Settings,
    Tasks,
    app,
    backbone_app,
)
from bench.core.errors import BenchError
from bench.report import catalog as report


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
    from bench.core.paths import cache_dir
    from bench.data.source import data_root as resolve_root
    from bench.train.backbone import backbones
    from bench.train.build import materialize

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
    keep_weights: Annotated[
        str | None,
        typer.Option(
            help="Keep each training's fine-tuned weights (one per selection split, and the "
            "last) in DIR/<run id>/ instead of deleting them after testing.",
            metavar="DIR",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the plan and what is already done; train nothing."),
    ] = False,
    data_root: DataRoot = None,
) -> None:
    """Fine-tune and evaluate; one run record per (task, language, setting, selection, seed)."""
    from bench.data.source import data_root as resolve_root
    from bench.runs import run as command
    from bench.runs.request import resolve

    request = resolve(
        method,
        langs,
        tasks,
        backbone,
        seeds,
        settings,
        selection,
        set_ or [],
        comet,
        force,
        keep_weights,
    )
    command.run(request, resolve_root(data_root), dry_run=dry_run, echo=typer.echo)


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
    keep_weights: Annotated[
        Path | None,
        typer.Option(
            help="Keep each training's fine-tuned weights in DIR/<run id>/ (as bench run's).",
            metavar="DIR",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the DAG, what is done, and the work left."),
    ] = False,
    data_root: DataRoot = None,
) -> None:
    """Run a grid (methods x tasks x languages x seeds) as a DAG of jobs, resumably."""
    from bench.data.source import data_root as resolve_root
    from bench.runs import local, sweep
    from bench.runs.slurm import SlurmOptions, parse_slurm_args

    chosen = _sweep_spec(
        ctx, spec, methods, langs, tasks, backbone, seeds, settings, selection, set_
    )
    if keep_weights is not None:  # absolute: a worker (or a Slurm node) may start elsewhere
        chosen.keep_weights = str(keep_weights.expanduser().resolve())
    if workers < 1:
        raise BenchError(f"--workers {workers}", hint="at least 1")
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
    launch = local.Launch(ranks, nodes_per_run, hostfile, launcher)
    code = sweep.sweep(
        chosen, resolve_root(data_root), executor, workers, dry_run, typer.echo, slurm, launch
    )
    raise typer.Exit(code)


GRID_OPTIONS = ("langs", "tasks", "backbone", "seeds", "settings", "selection")


def _sweep_spec(
    ctx: typer.Context,
    spec: Path | None,
    methods: str,
    langs: str,
    tasks: str | None,
    backbone: str | None,
    seeds: str,
    settings: str | None,
    selection: str | None,
    set_: list[str] | None,
) -> Any:
    """The sweep's grid: the spec file's, with the options typed on the command line changing
    its values (`--spec sweeps/offline.toml --tasks xnli` runs that grid's xnli part only);
    without a spec, the options'."""
    from bench.runs import grid

    names = [m.strip() for m in methods.split(",") if m.strip()]
    if spec is None:
        given_values = (langs, tasks, backbone, seeds, settings, selection)
        values = dict(zip(GRID_OPTIONS, given_values, strict=True))
        return grid.Spec(methods=names, overrides=set_ or [], **values)
    chosen = grid.load_spec(spec)
    given = {
        name: value
        for name, value in ctx.params.items()
        if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"
    }
    for name in GRID_OPTIONS:
        if name in given:
            setattr(chosen, name, given[name])
    if "methods" in given:
        chosen.methods = names
    chosen.overrides = [*chosen.overrides, *(set_ or [])]
    if {*GRID_OPTIONS, "methods"} & given.keys() or set_:
        chosen.complete = False  # another grid than the one the spec calls complete
    return chosen


@app.command("sweep-job", hidden=True)
def sweep_job(job: str, data_root: DataRoot = None) -> None:
    """Run one job of a sweep (the local executor's worker process)."""
    from bench.core.paths import cache_dir, results_dir
    from bench.data.source import data_root as resolve_root
    from bench.runs import grid, jobs

    state = jobs.run_job(
        grid.Job.from_json(job), resolve_root(data_root), results_dir(), cache_dir()
    )
    raise typer.Exit({"done": 0, "busy": 3, "failed": 4}[state])


@app.command()
def verify(
    records: Annotated[
        list[Path], typer.Argument(help="Run records (results/runs/**/*.json) to remake.")
    ],
    backbone: Annotated[
        str | None,
        typer.Option(help="The backbone to rerun on, when the record's is a local folder."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the comparison (JSON) to this file.")
    ] = None,
    data_root: DataRoot = None,
) -> None:
    """Rerun the training behind records into a scratch folder and compare bit for bit:
    metrics, predictions, loss curve, stage weights, and what differs between the machines."""
    from bench.data.source import data_root as resolve_root
    from bench.runs.verify import verify as command

    if not command(records, backbone, resolve_root(data_root), out, typer.echo):
        raise BenchError(
            "not reproduced: the rerun differs from the records (see the table above)",
            hint="a different CPU kind, package version or thread count changes the floats; "
            "the lines above name what differs between the two machines",
            exit_code=1,
        )
