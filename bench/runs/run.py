"""``bench run``: show the plan of a resolved request (what is done, what is left), then train
what is missing, one training at a time, under the locks `bench sweep` takes.

Exercise: ``bench run --method baseline --langs sw,yo,ha --dry-run``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from bench.core.paths import cache_dir, results_dir
from bench.core.tables import table
from bench.runs.locks import job_lock
from bench.runs.plan import Group, groups_for
from bench.runs.records import run_id, summary_line
from bench.runs.request import Request
from bench.runs.runner import execute, pending


def run(request: Request, root: Path | None, dry_run: bool, echo: Callable[[str], None]) -> None:
    """Show the plan (what is done, what is left), then train what is missing."""
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 speaks for all
        echo = lambda _line: None  # noqa: E731
    echo(f"backbone: {request.backbone.label} ({request.backbone_why})")
    steps = " -> ".join(request.method.names) or "fine-tuning only"
    echo(f"method: {request.method.name} ({steps})")
    groups, notes = groups_for(request, root)
    todo = show(request, groups, notes, root, echo)
    if not dry_run and todo:
        train_missing(request, todo, root, echo)


def show(
    request: Request,
    groups: list[Group],
    notes: list[str],
    root: Path | None,
    echo: Callable[[str], None],
) -> list[Group]:
    """Print one row per training with its records done; return the trainings with work left."""
    results = results_dir()
    rows, todo_groups = [], []
    for g in groups:
        todo = pending(g, request, root, results)[0]
        total = len(g.targets) * len(g.selections)
        rows.append(
            {
                "task": g.task.name,
                "setting": g.setting,
                "trains on": g.train_lang.code,
                "tests": ",".join(lang.code for lang in g.targets),
                "seed": g.seed,
                "selection": ",".join(g.selections),
                "records done": f"{total - len(todo)}/{total}",
            }
        )
        if todo:
            todo_groups.append(g)
    echo(table(rows))
    for line in notes:
        echo(line)
    echo(f"\n{len(todo_groups)} of {len(groups)} trainings to run; records go to {results}")
    return todo_groups


def train_missing(
    request: Request, groups: list[Group], root: Path | None, echo: Callable[[str], None]
) -> None:
    """Each training under the lock `bench sweep` takes (a training another process holds is
    left to it), then one line per record written."""
    results, cache = results_dir(), cache_dir()
    for n, g in enumerate(groups, start=1):
        started = time.perf_counter()
        key = run_id(pending(g, request, root, results)[1])[:16]
        if os.environ.get("RANK", "0") != "0":  # under torchrun: rank 0 holds it for all
            key = f"{key}-rank{os.environ['RANK']}"
        with job_lock(results, key) as mine:
            if not mine:
                echo(f"[{n}/{len(groups)}] being trained by another process; skipped")
                continue
            written = execute(g, request, root, cache, results)
        echo(f"[{n}/{len(groups)}] {time.perf_counter() - started:.0f} s")
        for path in written:
            echo("  " + summary_line(path))
