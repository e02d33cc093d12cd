"""One job of a sweep, in its worker process: run it under its lock, record a failure with its
cause (the sweep goes on), and mark stage jobs built. Exercise: ``bench sweep-job JSON``.
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.runs.grid import Job, Plan, group_of, request_of
from bench.runs.locks import job_lock
from bench.runs.records import run_id
from bench.runs.runner import execute, pending


def _job_hash(job: Job) -> str:
    import hashlib

    return hashlib.sha256(job.to_json().encode()).hexdigest()[:16]


def failure_path(results: Path, job: Job) -> Path:
    return results / "failed" / f"{_job_hash(job)}.json"


def stage_marker(cache: Path, job: Job) -> Path:
    """Written when a stage job has built (or found) its stages in this cache. A later sweep
    skips a stage job of the same method, backbone, settings, languages and task (about 20 s
    of checksumming each), whichever seed or language its first pending run has; the runs
    still look the stages up by their content keys and build, under the stage lock, whatever
    is missing (changed data, another language's synthetic data)."""
    import hashlib

    fields = ("method", "backbone", "overrides", "comet", "adapt_to", "task", "setting")
    identity = json.dumps({f: getattr(job, f) for f in fields}, sort_keys=True)
    return cache / "sweep-stages" / f"{hashlib.sha256(identity.encode()).hexdigest()[:16]}.json"


def built_stages(plan: Plan, cache: Path) -> dict[Job, dict[str, Any]]:
    """The plan's stage jobs that an earlier sweep completed in this cache, with when."""
    out = {}
    for stage in plan.stages:
        marker = stage_marker(cache, stage)
        if marker.is_file():
            out[stage] = json.loads(marker.read_text())
    return out


def cause_of(err: BaseException) -> str:
    """A short, classified cause: what a researcher scanning failures needs first."""
    import torch

    if isinstance(err, torch.cuda.OutOfMemoryError | MemoryError):
        return f"out of memory: {err}"[:500]
    if isinstance(err, BenchError):
        return str(err)
    return f"{type(err).__name__}: {err}"[:500]


def run_job(job: Job, root: Path | None, results: Path, cache: Path) -> str:
    """Run one job under its lock; returns 'done', 'busy' (another sweep holds it) or
    'failed' (a failure record was written)."""
    failed = failure_path(results, job)
    try:  # the splits' checksums are read here: unreadable data fails the job, not the sweep
        request, group = request_of(job), group_of(job)
        todo, base, _, _ = pending(group, request, root, results)
    except BenchError as err:
        _record_failure(failed, job, err, time.time())
        return "failed"
    if not todo and not job.stage_only:
        failed.unlink(missing_ok=True)
        return "done"
    key = ("stage-" if job.stage_only else "") + run_id(base)[:16]
    rank = int(os.environ.get("RANK", "0"))
    with job_lock(results, key if rank == 0 else f"{key}-rank{rank}") as mine:
        if not mine:
            return "busy"
        started = time.time()
        try:
            execute(group, request, root, cache, results, stages_only=job.stage_only)
        except (Exception, SystemExit) as err:  # recorded, and the sweep goes on
            if rank != 0:
                raise
            _record_failure(failed, job, err, started)
            return "failed"
    failed.unlink(missing_ok=True)
    if job.stage_only and rank == 0:
        from bench.runs.records import write_atomic

        done = {"label": job.label, "built_at": time.time(), "wall_s": time.time() - started}
        write_atomic(stage_marker(cache, job), json.dumps(done).encode())
    return "done"


def _record_failure(path: Path, job: Job, err: BaseException, started: float) -> None:
    from bench.runs.records import write_atomic

    record = {
        "job": asdict(job),
        "cause": cause_of(err),
        "traceback": traceback.format_exc()[-4000:],
        "started": started,
        "failed_after_s": round(time.time() - started, 1),
        "host": socket.gethostname(),
    }
    write_atomic(path, json.dumps(record, indent=1).encode())


EXIT = {0: "done", 3: "busy", 4: "failed"}


# torch.distributed's env:// variables: a job's launcher sets them, never its parent process
DIST_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
