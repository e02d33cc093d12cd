"""``bench sweep --executor slurm``: the grid's jobs through submitit onto a Slurm cluster.

Each stage job (MLM, alignment, translators) is one Slurm job; the runs are one job array that
waits on the stages (``--dependency=afterok:<stage ids>``). A run spanning several ranks is a job
of N tasks per node: ``srun`` starts one process per rank and submitit exports torch's
``env://`` variables, which DeepSpeed's ``init_distributed`` reads. A job that ends without
reporting back (``scancel``, time limit, node failure, out of memory) gets a failure record
with its Slurm job id, final state and log; the next sweep resumes it from its last checkpoint.

Tested against a real single-node Slurm (``scripts/slurm-local up``; ``pytest -m slurm``).
``submitit-local`` runs the same code through submitit's local executor (no Slurm needed).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.runs.grid import Job, Plan
from bench.runs.jobs import DIST_VARS, cause_of, failure_path, run_job
from bench.runs.local import Launch

# sacct's final states of a job that did not finish its function, and what the sweep calls them
ENDED = {"CANCELLED": "cancelled", "TIMEOUT": "timeout", "OUT_OF_MEMORY": "out of memory"}


@dataclass(frozen=True)
class SlurmOptions:
    """What a cluster user sets per job (``bench sweep --partition ... --slurm-arg k=v``)."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    timeout_min: int = 240
    cpus_per_run: int = 4  # split between a run's ranks (tasks)
    gpus_per_run: int = 0  # per node
    mem_gb_per_run: float | None = None  # per node
    array_parallelism: int | None = None  # runs of the array at once (Slurm's %N)
    extra: tuple[tuple[str, str], ...] = ()  # --slurm-arg key=value: any other sbatch option

    def parameters(self, launch: Launch | None = None, stage: bool = False) -> dict[str, Any]:
        """submitit's SlurmExecutor parameters for a run (``stage``: a one-process stage job)."""
        launch = launch or Launch()
        tasks = 1 if stage else launch.ranks
        params: dict[str, Any] = {
            "time": self.timeout_min,
            "nodes": 1 if stage else launch.nodes,
            "ntasks_per_node": tasks,
            "cpus_per_task": max(1, self.cpus_per_run // tasks),
        }
        if self.gpus_per_run:
            params["gpus_per_node"] = 1 if stage else self.gpus_per_run
        optional = {
            "partition": self.partition,
            "account": self.account,
            "qos": self.qos,
            "mem": f"{round(self.mem_gb_per_run * 1024)}M" if self.mem_gb_per_run else None,
            "array_parallelism": self.array_parallelism,
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        params["job_name"] = "bench-stage" if stage else "bench-run"
        params["additional_parameters"] = dict(self.extra)
        return params


def parse_slurm_args(items: list[str] | None) -> tuple[tuple[str, str], ...]:
    """``--slurm-arg constraint=a100 --slurm-arg mail-type=END`` -> sbatch options."""
    pairs = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BenchError(
                f"--slurm-arg '{item}' is not key=value",
                hint="e.g. --slurm-arg constraint=a100 (any sbatch option, without the dashes)",
            )
        pairs.append((key.strip().lstrip("-").replace("-", "_"), value.strip()))
    return tuple(pairs)


def sbatch_preview(plan: Plan, options: SlurmOptions, launch: Launch | None, folder: Path) -> str:
    """The ``#SBATCH`` lines each kind of job would be submitted with (``--dry-run``)."""
    from submitit.slurm.slurm import _make_sbatch_string

    def lines(params: dict[str, Any], **extra: Any) -> list[str]:
        text = _make_sbatch_string(command="...", folder=folder, **params, **extra)
        return [line for line in text.splitlines() if line.startswith("#SBATCH")]

    out = []
    if plan.stages:
        out.append(f"stage jobs ({len(plan.stages)}, one each):")
        out += ["  " + line for line in lines(options.parameters(launch, stage=True))]
    groups: dict[Job | None, int] = {}
    for job in plan.runs:
        stage = plan.needs.get(job)
        groups[stage] = groups.get(stage, 0) + 1
    for stage, count in groups.items():
        params = options.parameters(launch)
        if stage is not None:
            params["dependency"] = f"afterok:<job id of {stage.label}>"
            params["additional_parameters"].setdefault("kill_on_invalid_dep", "yes")
        after = f", after {stage.label}" if stage is not None else ""
        out.append(f"runs (a job array of {count}{after}):")
        out += ["  " + line for line in lines(params, map_count=count)]
    return "\n".join(out)


def run_submitit(
    plan: Plan,
    root: Path | None,
    folder: Path,
    echo: Callable[[str], None],
    local: bool,
    options: SlurmOptions,
    launch: Launch | None = None,
) -> dict[Job, str]:
    """Stages as jobs, runs as a job array depending on them (afterok); waits for all."""
    import submitit

    from bench.core.paths import cache_dir, results_dir

    results, cache = results_dir(), cache_dir()
    if local:
        executor: Any = submitit.LocalExecutor(folder=folder)
        executor.update_parameters(timeout_min=options.timeout_min)
    else:
        if shutil.which("sbatch") is None:
            raise BenchError(
                "--executor slurm: no `sbatch` on PATH (not a Slurm login node?)",
                hint="run where Slurm's commands are, or start a local cluster: "
                "scripts/slurm-local up (see CONTRIBUTING.md)",
            )
        executor = submitit.SlurmExecutor(folder=folder)
        executor.update_parameters(**options.parameters(launch, stage=True))
    submitted = time.time()
    stage_jobs = {}
    for stage in plan.stages:
        stage_jobs[stage] = executor.submit(_submitted_job, stage, root, results, cache)
        echo(f"submitted {stage.label}: Slurm job {stage_jobs[stage].job_id}")
    if local:  # the local executor knows no dependencies: wait for the stages here
        for handle in stage_jobs.values():
            handle.wait()
    # one job array per stage (its runs wait on it alone: a failed stage blocks nothing else)
    # and one for the runs that need no stage
    groups: dict[Job | None, list[Job]] = {}
    for job in plan.runs:
        groups.setdefault(plan.needs.get(job), []).append(job)
    run_jobs = {}
    for stage, runs in groups.items():
        if not local:
            params = {**options.parameters(launch), "dependency": None}
            if stage is not None:
                params["dependency"] = f"afterok:{stage_jobs[stage].job_id}"
                # if the stage fails, Slurm cancels its runs instead of leaving them pending
                params["additional_parameters"].setdefault("kill_on_invalid_dep", "yes")
            executor.update_parameters(**params)
        with executor.batch():
            for job in runs:
                run_jobs[job] = executor.submit(_submitted_job, job, root, results, cache)
        array = str(run_jobs[runs[0]].job_id).split("_")[0]
        after = f" after {stage.label}" if stage is not None else ""
        echo(f"submitted {len(runs)} runs: job array {array}{after}")
    return _wait({**stage_jobs, **run_jobs}, plan.needs, results, submitted, echo)


def _wait(
    handles: dict[Job, Any],
    needs: dict[Job, Job],
    results: Path,
    submitted: float,
    echo: Callable[[str], None],
) -> dict[Job, str]:
    """Poll until every job has ended; report each as it ends."""
    status: dict[Job, str] = {}
    waiting = dict(handles)
    while waiting:
        for job, handle in list(waiting.items()):
            if not handle.done():
                continue
            del waiting[job]
            try:
                state = handle.results()[0]  # task 0 = rank 0 speaks for the job
            except Exception as err:  # the job ended without reporting: cancelled, killed, ...
                stage = needs.get(job)
                stage_failed = stage is not None and status.get(stage, "done") != "done"
                why = f"its stage job failed ({stage.label})" if stage_failed else None
                state = _ended_without_result(job, handle, err, results, submitted, why)
            status[job] = state
            echo(f"{state:<6} {job.label}  (Slurm job {handle.job_id})")
        if waiting:
            time.sleep(1)
    return status


def _ended_without_result(
    job: Job, handle: Any, err: BaseException, results: Path, submitted: float, why: str | None
) -> str:
    """Name how the job ended (sacct's state) and leave a failure record saying so, unless
    the job wrote its own during this sweep (a rank > 0 failing after rank 0 recorded why)."""
    from bench.runs.records import write_atomic

    sacct = str(handle.state or "UNKNOWN")  # e.g. "CANCELLED by 0", "TIMEOUT", "FAILED"
    state = next((v for k, v in ENDED.items() if sacct.startswith(k)), "failed")
    path = failure_path(results, job)
    if path.is_file() and path.stat().st_mtime >= submitted:
        return "failed"
    if why:
        cause = f"not run: {why}"
        state = "failed"
    elif state != "failed":
        cause = f"Slurm job {handle.job_id} ended {sacct}: run the sweep again, it resumes"
        cause += " from the last checkpoint"
    else:
        cause = f"Slurm job {handle.job_id} ended {sacct} ({cause_of(err)})"
    record = {
        "job": json.loads(job.to_json()),
        "cause": cause,
        "slurm": {"job_id": str(handle.job_id), "state": sacct, "log": str(handle.paths.stdout)},
        "started": submitted,
        "failed_after_s": round(time.time() - submitted, 1),
    }
    write_atomic(path, json.dumps(record, indent=1).encode())
    return state


def _submitted_job(job: Job, root: Path | None, results: Path, cache: Path) -> str:
    """One Slurm task of a job: with several tasks, each is one rank (torch's env:// set from
    Slurm's variables). Threads follow ``--cpus-per-task``. A failure record written by the job
    gets its Slurm job id and log."""
    import submitit
    import torch

    env = submitit.JobEnvironment()
    cpus = os.environ.get("SLURM_CPUS_PER_TASK")
    if cpus:
        os.environ["OMP_NUM_THREADS"] = cpus
        torch.set_num_threads(int(cpus))
    for name in DIST_VARS:  # sbatch exported the sweep's environment: not its rendezvous
        os.environ.pop(name, None)
    if env.num_tasks > 1:
        # each task sees every GPU of its node and takes cuda:LOCAL_RANK (DeepSpeed's choice)
        submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
    state = run_job(job, root, results, cache)
    failed = failure_path(results, job)
    if state == "failed" and env.global_rank == 0 and failed.is_file():
        from bench.runs.records import write_atomic

        record = json.loads(failed.read_text())
        record["slurm"] = {"job_id": str(env.job_id), "log": str(env.paths.stdout)}
        write_atomic(failed, json.dumps(record, indent=1).encode())
    if state == "failed":  # Slurm marks the job FAILED: jobs waiting on it (afterok) do not start
        raise JobFailed(f"{job.label}: see {failed}")
    return state


class JobFailed(RuntimeError):
    """Raised at the end of a failed job (its failure record written) so that Slurm sees it."""


def describe_failure(record: dict[str, Any]) -> str:
    """The Slurm part of a failure's line in the sweep's report ('' for other executors)."""
    slurm = record.get("slurm")
    if not slurm:
        return ""
    return f"\n    Slurm job {slurm['job_id']}, log: {shlex.quote(slurm['log'])}"
