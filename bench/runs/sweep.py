"""``bench sweep``: a grid of methods × tasks × languages × seeds as a DAG of jobs, run by an
executor, safe against faults.

A **job** is one fine-tuning and the records it writes (a `bench.runs.runner.Group` under one
method). Jobs that need adaptation stages (continued MLM, alignment, translators and
back-translated data) depend on a **stage job** per method, which builds them once into the
cache; every run of that method then finds them built. Executors:

* ``local``: N worker processes on this machine (``--workers``; the cores are split between
  them through ``OMP_NUM_THREADS``); each job runs in its own process;
* ``slurm``: one submitit job per stage and a job array for the runs, which depends on the
  stages (``afterok``), with per-job resources; ``submitit-local`` runs the same code path
  through submitit's local executor (tests, single machines without Slurm).

Faults: a job holds a lock (``results/.locks/<job>.lock``, an ``flock`` the kernel releases
when its process dies, so a killed sweep leaves no stale lock) while it runs, so two sweeps on
one results folder never run a job twice; a killed job resumes from its last checkpoint on the
next sweep; a job that fails (NaN loss, out of memory, bad data) leaves a failure record with
its cause in ``results/failed/`` and the sweep goes on, then lists the failures and exits
non-zero. Exercise: ``bench sweep --methods baseline,mlm --langs sw --seeds 1 --dry-run``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.runs.cost import cost_table, estimate
from bench.runs.grid import Job, Plan, Spec, expand
from bench.runs.jobs import built_stages, failure_path
from bench.runs.local import Launch, run_local

# --- cost --------------------------------------------------------------------------------


# --- locks and failures ---------------------------------------------------------------------


# --- executors ---------------------------------------------------------------------------


def _where(record: dict[str, Any]) -> str:
    if "slurm" not in record:
        return ""
    from bench.runs.slurm import describe_failure

    return describe_failure(record)


def _results() -> Path:
    from bench.core.paths import results_dir

    return results_dir()


def _cache() -> Path:
    from bench.core.paths import cache_dir

    return cache_dir()


# --- the command -------------------------------------------------------------------------


def show(
    plan: Plan,
    results: Path,
    echo: Callable[[str], None],
    cache: Path | None = None,
) -> None:
    from bench.core.tables import table

    built = built_stages(plan, cache or _cache())
    rows = []
    for stage in plan.stages:
        state = "to build (or found in the cache)"
        if stage in built:
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(built[stage]["built_at"]))
            state = f"cached (built {when} UTC)"
        rows.append({"job": stage.label, "needs": "", "state": state})
    for job in plan.runs:
        needs = plan.needs.get(job)
        state = "pending"
        if failure_path(results, job).is_file():
            state = "pending (failed before)"
        rows.append({"job": job.label, "needs": needs.label if needs else "", "state": state})
    if rows:
        echo(table(rows))
    for line in plan.skipped:
        echo(line)
    spent = cost_table(results)
    if spent:
        echo("\nwhat the finished trainings in this results folder cost (measured):")
        echo(table(spent))
    left, unknown, borrowed = estimate(plan, results)
    guess = (
        "estimated work left: unknown (no finished training of the same backbone, task and "
        "setting to go by)"
        if plan.runs and unknown == len(plan.runs)
        else f"estimated work left: {left / 3600:.2f} h of one worker (measured costs of "
        f"finished runs{_borrowed(borrowed)})"
        + (f", {unknown} jobs with no measurement yet" if unknown else "")
    )
    echo(
        f"\n{len(plan.done)} trainings done (records present), {len(plan.runs)} to run, "
        f"{len(plan.stages)} stage jobs; {guess}"
    )


def _borrowed(count: int) -> str:
    """The estimate's note on jobs priced at a neighbour (`cost.estimate`), if any."""
    if not count:
        return ""
    return f"; {count} jobs priced at a neighbour: the method in another setting, or full"


def sweep(
    spec: Spec,
    root: Path | None,
    executor: str,
    workers: int,
    dry_run: bool,
    echo: Callable[[str], None],
    slurm: Any = None,
    launch: Launch | None = None,
) -> int:
    """Plan, show, run; returns the exit code (1 if any job failed). ``slurm``: the
    `bench.runs.slurm.SlurmOptions` of the slurm executors."""
    if spec.results:  # a search's records live apart (the jobs inherit the environment)
        from bench.core.paths import REPO

        os.environ["BENCH_RESULTS"] = str(REPO / spec.results)
    results = _results()
    plan = expand(spec, root, results)
    show(plan, results, echo)
    if dry_run and executor == "slurm" and (plan.stages or plan.runs):
        from bench.runs.slurm import SlurmOptions, sbatch_preview

        echo("\nsbatch parameters:")
        echo(sbatch_preview(plan, slurm or SlurmOptions(), launch, _cache() / "submitit"))
    if spec.complete and plan.runs:
        echo(
            f"warning: this spec says complete = true (its records are committed), yet "
            f"{len(plan.runs)} trainings have no record in {results}: deleted records, or "
            "changed run ids (code, data, or --set values)?"
        )
    if dry_run or not plan.runs:
        return 0
    built = built_stages(plan, _cache())
    for stage in built:
        echo(f"cached {stage.label} (built by an earlier sweep; its runs check the cache keys)")
    plan.stages = [s for s in plan.stages if s not in built]
    plan.needs = {run: s for run, s in plan.needs.items() if s not in built}
    started = time.time()
    if executor == "local":
        status = run_local(depth_first(plan), root, workers, echo, launch=launch, needs=plan.needs)
    elif executor in ("slurm", "submitit-local"):
        from bench.runs.slurm import SlurmOptions, run_submitit

        folder = _cache() / "submitit"
        local = executor == "submitit-local"
        status = run_submitit(plan, root, folder, echo, local, slurm or SlurmOptions(), launch)
    else:
        raise BenchError(f"unknown executor '{executor}'", hint="local, slurm or submitit-local")
    failed = [job for job, state in status.items() if state not in ("done", "busy")]
    busy = [job for job, state in status.items() if state == "busy"]
    echo(f"\nsweep finished in {time.time() - started:.0f} s")
    if busy:
        echo(f"{len(busy)} jobs were running in another sweep on {results}; left to it")
    if failed:
        echo(f"{len(failed)} jobs FAILED:")
        for job in failed:
            path = failure_path(results, job)
            record = json.loads(path.read_text()) if path.is_file() else {}
            cause = record.get("cause", "process killed")
            echo(f"  {job.label}: {cause}\n    ({path}){_where(record)}")
        return 1
    return 0


def depth_first(plan: Plan) -> list[Job]:
    """Local jobs in the order records land soonest: runs that need no stage, then each stage
    followed by its runs (a grid that spans sessions commits whole cells early; a run whose
    stage is still building waits while later jobs go ahead, `run_local`)."""
    order = [r for r in plan.runs if r not in plan.needs]
    for stage in plan.stages:
        order += [stage, *(r for r in plan.runs if plan.needs.get(r) == stage)]
    return order + [r for r in plan.runs if r not in order]
