"""The local executor: each job in its own process(es), N workers at a time, the cores split
between them; several ranks per job through torchrun or the DeepSpeed launcher.

Exercise: ``bench sweep --spec sweeps/offline.toml --workers 2``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.runs.grid import Job
from bench.runs.jobs import DIST_VARS, EXIT


@dataclass(frozen=True)
class Launch:
    """How many processes one training spans. One rank: a plain process. Several on one
    machine: ``torchrun`` (CPU ranks over gloo; GPUs where there are any) or, with GPUs or a
    hostfile, the DeepSpeed launcher (``deepspeed --num_gpus N --num_nodes M --hostfile H
    --module bench sweep-job ...``). ZeRO stage and precision are training settings:
    ``--set zero_stage=2 --set precision=bf16``."""

    ranks: int = 1  # processes (GPUs) per node for one training
    nodes: int = 1
    hostfile: Path | None = None
    launcher: str = (
        "auto"  # auto (deepspeed with GPUs or a hostfile, else torchrun), deepspeed, torchrun
    )

    def command(self, job: Job, root: Path | None) -> list[str]:
        tail = ["sweep-job", job.to_json()] + (["--data-root", str(root)] if root else [])
        if self.ranks == 1 and self.nodes == 1:
            return [sys.executable, "-m", "bench", *tail]
        import torch

        if self.launcher not in ("auto", "deepspeed", "torchrun"):
            raise BenchError(
                f"unknown launcher '{self.launcher}'", hint="auto, deepspeed, torchrun"
            )
        gpus = torch.cuda.is_available()
        wanted = self.launcher
        if wanted == "auto":
            wanted = "deepspeed" if self.nodes > 1 or self.hostfile or gpus else "torchrun"
        if wanted == "deepspeed":
            cmd = [sys.executable, "-m", "deepspeed.launcher.runner"]  # = the `deepspeed` script
            cmd += ["--num_gpus", str(self.ranks), "--num_nodes", str(self.nodes)]
            if self.hostfile is not None:
                cmd += ["--hostfile", str(self.hostfile)]
            # --no_local_rank: ranks read LOCAL_RANK from the environment (no extra argument)
            cmd += ["--master_port", str(_free_port()), "--no_local_rank"]
            return [*cmd, "--module", "bench", *tail]
        return [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            str(self.ranks),
            "--master_port",
            str(_free_port()),
            "-m",
            "bench",
            *tail,
        ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_local(
    jobs: list[Job],
    root: Path | None,
    workers: int,
    echo: Callable[[str], None],
    threads: int | None = None,
    launch: Launch | None = None,
    needs: dict[Job, Job] | None = None,
) -> dict[Job, str]:
    """Each job in its own process(es), `workers` at a time (cores split between them), in
    order, except that a job whose stage job (`needs`) has not ended yet waits for it while
    later jobs go ahead. Stage jobs run on one rank."""
    launch = launch or Launch()
    needs = needs or {}
    # a rendezvous this process may hold (a training run in it) is not the jobs': each job's
    # launcher sets its own, a one-rank job picks a free port
    env = {k: v for k, v in os.environ.items() if k not in DIST_VARS}
    per = threads or max(1, (os.cpu_count() or 1) // max(1, workers * launch.ranks))
    env["OMP_NUM_THREADS"] = str(per)
    status: dict[Job, str] = {}
    queue = list(jobs)
    running: dict[subprocess.Popen, tuple[Job, float, Any]] = {}
    while queue or running:
        while len(running) < workers:
            ready = [j for j in queue if needs.get(j) is None or needs[j] in status]
            if not ready:
                break
            job = ready[0]
            queue.remove(job)
            log = _log_path(job)
            fh = open(log, "w")  # noqa: SIM115 - closed when the process ends
            cmd = (Launch() if job.stage_only else launch).command(job, root)
            proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
            running[proc] = (job, time.time(), fh)
            echo(f"start  {job.label}  (log: {log})")
        time.sleep(0.5)
        for proc in [p for p in running if p.poll() is not None]:
            job, started, fh = running.pop(proc)
            fh.close()
            status[job] = _job_status(proc.returncode)
            echo(f"{status[job]:<6} {job.label}  {time.time() - started:.0f} s")
    return status


def _job_status(code: int) -> str:
    return EXIT.get(code, "failed" if code else "done") if code >= 0 else "killed"


def _log_path(job: Job) -> Path:
    from bench.core.paths import cache_dir

    folder = cache_dir() / "sweep-logs"
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in job.label)
    return folder / f"{safe}-{os.getpid()}.log"  # one per sweep process: two sweeps may meet
