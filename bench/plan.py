"""``bench run`` from the command line's values to run groups, a plan table, and execution.

Exercise: ``bench run --method baseline --langs sw,yo,ha --dry-run``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.backbone import resolve_backbone
from bench.errors import BenchError
from bench.language import parse_langs
from bench.method import parse_method, split_overrides
from bench.paths import cache_dir, results_dir
from bench.report import table
from bench.runner import Group, execute, pending, plan_groups, selections_for, summary_line
from bench.task import parse_tasks


@dataclass(frozen=True)
class Request:
    method: str = "baseline"
    langs: str = "sw,yo,ha"
    tasks: str | None = None
    backbone: str | None = None
    seeds: str = "1,2,3,4,5"
    settings: str | None = None
    selection: str | None = None
    overrides: list[str] = field(default_factory=list)
    comet: str | None = None
    force: bool = False


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise BenchError(
            f"invalid --seeds '{text}'", hint="comma-separated integers, e.g. 1,2,3"
        ) from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise BenchError(f"invalid --seeds '{text}'", hint="give distinct seeds, e.g. 1,2,3,4,5")
    return seeds


def parse_overrides(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"invalid --set '{item}'", hint="use key=value, e.g. --set lr=3e-5")
        out[key.strip()] = value.strip()
    return out


def groups_for(request: Request, root: Path | None) -> tuple[list[Group], list[str]]:
    """The trainings of `request` on the data of `root` (the hub when None), and a line for
    every (task, setting, languages) left out, saying why (`Task.missing`: no data declared,
    or a split the run reads is not on the data root). Fails only when nothing can run."""
    parse_method(request.method, split_overrides(parse_overrides(request.overrides))[1])
    langs = parse_langs(request.langs)
    tasks = parse_tasks(request.tasks)
    seeds = parse_seeds(request.seeds)
    selections = [s.strip() for s in request.selection.split(",")] if request.selection else None
    groups: list[Group] = []
    gaps: dict[tuple[str, str, str], list[str]] = {}  # (task, setting, why) -> languages
    for task in tasks:
        wanted = (
            [s.strip() for s in request.settings.split(",")]
            if request.settings
            else [task.settings[0]]
        )
        for setting in [s for s in wanted if s.split(":")[0] in task.settings]:
            sels = selections_for(setting, selections)
            runnable = []
            for lang in langs:
                why = task.missing(lang, setting, root, sels)
                if why is None:
                    runnable.append(lang)
                else:  # undeclared data holds for every setting: said once per task
                    where = f" {setting}" if task.coverage(lang) else ""
                    gaps.setdefault((task.name, where, why), []).append(lang.code)
            if runnable:
                groups += plan_groups(task, runnable, [setting], seeds, selections)
    notes = [
        f"skipped: {task}{where} for {', '.join(codes)}: {why}"
        for (task, where, why), codes in gaps.items()
    ]
    if not groups and notes:
        raise BenchError(
            "nothing to run: " + "; ".join(n.removeprefix("skipped: ") for n in notes),
            hint="`bench lang check CODE` says what each language's data allows",
        )
    return groups, notes


def skipped(langs_text: str, tasks_text: str | None) -> list[str]:
    """Why a task of the request does not run for some languages, by their language files
    alone (the leaderboards' "Not in this table" notes): the rule of `groups_for`."""
    langs = parse_langs(langs_text)
    out = []
    for task in parse_tasks(tasks_text):
        uncovered = [lang for lang in langs if not task.coverage(lang)]
        if uncovered:
            codes = ", ".join(lang.code for lang in uncovered)
            out.append(f"skipped: {task.name} for {codes}: {task.missing(uncovered[0])}")
    return out


def run(request: Request, root: Path | None, dry_run: bool, echo: Callable[[str], None]) -> None:
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 speaks for all
        echo = lambda _line: None  # noqa: E731
    backbone, why = resolve_backbone(request.backbone)
    echo(f"backbone: {backbone.name} ({why})")
    overrides = parse_overrides(request.overrides)
    chosen = parse_method(request.method, split_overrides(overrides)[1], backbone.methods)
    steps = " -> ".join(chosen.names) or "fine-tuning only"
    echo(f"method: {chosen.name} ({steps})")
    groups, notes = groups_for(request, root)
    results, cache = results_dir(), cache_dir()
    rows, todo_groups = [], []
    for g in groups:
        todo = pending(g, request.method, backbone, root, results, overrides, request.force)[0]
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
    if dry_run or not todo_groups:
        return
    from bench.results import run_id
    from bench.sweep import job_lock

    for n, g in enumerate(todo_groups, start=1):
        started = time.perf_counter()
        base = pending(g, request.method, backbone, root, results, overrides, request.force)[1]
        key = run_id(base)[:16]
        if os.environ.get("RANK", "0") != "0":  # under torchrun: rank 0 holds it for all
            key = f"{key}-rank{os.environ['RANK']}"
        with job_lock(results, key) as mine:  # the lock `bench sweep` takes
            if not mine:
                echo(f"[{n}/{len(todo_groups)}] being trained by another process; skipped")
                continue
            written = execute(
                g,
                request.method,
                backbone,
                root,
                cache,
                results,
                overrides,
                request.force,
                request.comet,
            )
        echo(f"[{n}/{len(todo_groups)}] {time.perf_counter() - started:.0f} s")
        for path in written:
            echo("  " + summary_line(path))
