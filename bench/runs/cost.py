"""What sweeps cost, measured from the records: per training, per grid (the README's budget
block), per (backbone, method), and the estimate of the work a plan has left.

Exercise: ``bench sweep --spec sweeps/me5-baseline.toml --dry-run``.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.runs.grid import Plan, Spec
from bench.runs.records import labelled, machine_build


def trainings(results: Path) -> dict[tuple, dict[str, Any]]:
    """Measured cost of every finished training in `results`: one entry per training (the
    records that share it counted once), with wall time, tokens and devices."""
    out: dict[tuple, dict[str, Any]] = {}
    for path in sorted((results / "runs").rglob("*.json")):
        rec = json.loads(path.read_text())
        c, t = labelled(rec["config"]), rec["training"]
        key = (
            c["backbone"],
            c["method"],
            c["task"],
            c["setting"],
            c["seed"],
            tuple(t.get("shared_by", [c["lang"]])),
            json.dumps(c.get("methods") or {}, sort_keys=True),  # a search's trainings differ here
        )
        entry = out.setdefault(
            key,
            {
                "train_s": t["wall_s"],
                "test_s": 0.0,
                "tokens": t["tokens"],
                "records": 0,
                "devices": c.get("world_size", 1),
                "device": rec["environment"]["hardware"].get("gpu") or "cpu",
                "threads": rec["environment"]["hardware"].get("torch_threads"),
            },
        )
        entry["test_s"] += rec.get("test_wall_s", 0.0)
        entry["records"] += 1
        rss = t.get("peak_rss_mb")
        if rss is not None:  # recorded since issue #16; the process's peak, testing included
            entry["peak_rss_mb"] = max(rss, entry.get("peak_rss_mb", 0))
        entry.setdefault("stages", {}).update(stages_of(rec))
    return out


Stage = tuple[str, str, str, float | None]  # (kind, cache key, build, its seconds)


def stages_of(record: dict[str, Any]) -> dict[Stage, float | None]:
    """The adaptation stages a record's method used, as (kind, cache key, build, seconds) ->
    build seconds (None where the record does not say): MLM, alignment, back-translated data per
    task and language, and the translators that made it. The build is the stage's weights
    checksum, else the CPU of the machine that ran the record (the stage cache does not travel
    between machines): a stage rebuilt on another machine cost its seconds again. So did one
    rebuilt on the same kind of machine after its cache was lost (a new session's machine):
    every record of one build carries that build's seconds, a rebuild its own."""
    cpu = machine_build(record)
    out: dict[Stage, float | None] = {}

    def add(kind: str, key: str, build: str, seconds: float | None) -> None:
        out[(kind, key, build, seconds)] = seconds

    for name, rep in (record.get("method_reports") or {}).items():
        if "key" in rep:
            add(name, rep["key"], rep.get("weights_sha256") or cpu, rep.get("wall_s"))
        languages = rep.get("languages")
        for part in languages.values() if isinstance(languages, dict) else ():
            add(f"{name} data", part["key"], cpu, part.get("wall_s"))
            if part.get("translator"):
                add("translator", part["translator"], cpu, part.get("translator_wall_s"))
    return out


def grid_cost(spec: Spec, results: Path) -> list[dict[str, Any]]:
    """Measured cost of a sweep spec's finished trainings and of the stages they used: one
    row per (task, setting) and per stage kind, then the total (hours of one worker, and
    core-hours: hours x the worker's torch threads)."""
    per_task, rss, stages, threads = _measured(spec, results)
    per_stage: dict[str, list[float | None]] = defaultdict(list)
    for stage, seconds in stages.items():  # stage: (kind, key, build, seconds)
        per_stage[f"stage: {stage[0]}"].append(seconds)
        threads[f"stage: {stage[0]}"] += threads.pop(("stage", *stage), [1])
    items = [*sorted(per_task.items()), *sorted(per_stage.items())]
    rows = [_cost_row(what, values) for what, values in items]
    total, cores = 0.0, 0.0
    for what, values in items:  # in the rows' order: the same float sum as the rows'
        total += sum(v for v in values if v is not None)
        cores += sum(v * t for v, t in zip(values, threads[what], strict=True) if v is not None)
    if rss:  # only grids with memory in their records get the columns (older ones: none)
        for row, (what, values) in zip(rows, items, strict=True):
            peaks = rss.get(what)
            row["peak RSS GB (max)"] = f"{max(peaks) / 1024:.1f}" if peaks else ""
            row["threads"] = ",".join(str(t) for t in sorted(set(threads[what])))
            core = sum(v * t for v, t in zip(values, threads[what], strict=True) if v is not None)
            row["core-hours"] = round(core / 3600, 2)
    if rows:
        rows.append(
            {
                "work": "total",
                "count": "",
                "minutes each (mean, min-max)": "",
                "hours": round(total / 3600, 2),
                **(
                    {"peak RSS GB (max)": "", "threads": "", "core-hours": round(cores / 3600, 2)}
                    if rss
                    else {}
                ),
            }
        )
    return rows


def _measured(spec: Spec, results: Path) -> tuple[dict, dict, dict, dict]:
    """The spec's finished trainings: seconds per (task, setting), their peak memory, the
    build seconds of every stage they used (None where not recorded), their torch threads."""
    from bench.data.language import parse_langs
    from bench.data.task import parse_tasks
    from bench.runs.request import parse_seeds

    langs = {lang.code for lang in parse_langs(spec.langs)}
    seeds = set(parse_seeds(spec.seeds))
    settings = {  # the settings the spec's plan gives each task (its own first by default)
        t.name: [s for s in spec.settings.split(",") if s.split(":")[0] in t.settings]
        if spec.settings
        else [t.settings[0]]
        for t in parse_tasks(spec.tasks)
    }
    per_task: dict[str, list[float]] = defaultdict(list)
    rss: dict[str, list[int]] = defaultdict(list)
    threads: dict[Any, list[int]] = defaultdict(list)  # per value of per_task; stages: one
    stages: dict[Stage, float | None] = {}
    for (bb, method, task, setting, seed, shared, _), e in trainings(results).items():
        if (spec.backbone and bb != spec.backbone) or method not in spec.methods:
            continue
        if not set(shared) <= langs or setting not in settings.get(task, ()) or seed not in seeds:
            continue
        per_task[f"{task} {setting} training"].append(e["train_s"] + e["test_s"])
        threads[f"{task} {setting} training"].append(e.get("threads") or 1)
        if "peak_rss_mb" in e:
            rss[f"{task} {setting} training"].append(e["peak_rss_mb"])
        for k, v in e.get("stages", {}).items():
            stages[k] = v
            threads[("stage", *k)] = [e.get("threads") or 1]
    measured = {k[:3] for k, v in stages.items() if v is not None}  # a build without its seconds
    stages = {k: v for k, v in stages.items() if v is not None or k[:3] not in measured}
    return per_task, rss, stages, threads


def _cost_row(what: str, values: list[float | None]) -> dict[str, Any]:
    known = [v for v in values if v is not None]
    minutes = [v / 60 for v in known]
    spread = (
        f"{sum(minutes) / len(minutes):.1f} ({min(minutes):.1f}-{max(minutes):.1f})"
        if minutes
        else "not recorded"
    )
    if minutes and len(known) < len(values):
        spread += f"; {len(values) - len(known)} not recorded"
    return {
        "work": what,
        "count": len(values),
        "minutes each (mean, min-max)": spread,
        "hours": round(sum(known) / 3600, 2),
    }


def estimate(plan: Plan, results: Path) -> tuple[float, int, int]:
    """Seconds of work left, and how many jobs were priced at a neighbour / not at all.

    A job is priced at the median measured cost (a training slowed by other work is no guide)
    of finished trainings on its backbone: of its own (method, task, setting); else, counted as
    ``borrowed``, a leave-one-out row (``full-no-<method>``) at ``full``'s (an upper bound) or
    the same method and task in another setting (a method's own overhead, e.g. +adversarial's
    unlabelled batches, dwarfs the setting's difference), scaled by what the setting changes (a
    masakhaner in-language baseline training takes 3x its zero-shot one); else the same (task,
    setting) under any method; else it is ``unknown`` (a backbone's first runs: the tiny
    backbones' minutes say nothing about a 118 M-parameter one's)."""
    seen = trainings(results)
    by_method: dict[tuple, list[float]] = defaultdict(list)
    by_task: dict[tuple, list[float]] = defaultdict(list)
    for (backbone, method, task, setting, *_), e in seen.items():
        for who in (backbone, None):  # None: a job on the default backbone, whichever it is
            cost = e["train_s"] + e["test_s"]
            by_method[(who, method, task, setting)].append(cost)
            by_task[(who, task, setting)].append(cost)
    total, unknown, borrowed = 0.0, 0, 0
    for job in plan.runs:
        costs = by_method.get((job.backbone, job.method, job.task, job.setting))
        if not costs and job.method.startswith("full-no-"):  # full less one: at most full's
            costs = by_method.get((job.backbone, "full", job.task, job.setting))
            borrowed += bool(costs)
        if not costs and (costs := _other_settings(by_method, job)):
            borrowed += 1
        costs = costs or by_task.get((job.backbone, job.task, job.setting))
        if costs:  # the median: a training slowed by other work on the machine is no guide
            total += statistics.median(costs)
        else:
            unknown += 1
    return total, unknown, borrowed


def _other_settings(by_method: dict[tuple, list[float]], job: Any) -> list[float]:
    """The job's method and task measured in other settings, each cost times what the setting
    changes: the ratio of the baseline's medians in the two settings (the reference every
    method adds to; +adversarial's overhead differs by setting: zero-shot batches carry four
    languages' unlabelled lines), else the median ratio of the methods measured in both, else 1."""
    out: list[float] = []
    for (who, method, task, setting), costs in by_method.items():
        if (who, method, task) != (job.backbone, job.method, job.task) or setting == job.setting:
            continue
        ratios = {
            m: statistics.median(here) / statistics.median(there)
            for (w, m, t, s), there in by_method.items()
            if (w, t, s) == (who, task, setting) and (here := by_method.get((w, m, t, job.setting)))
        }
        factor = ratios.get("baseline") or (statistics.median(ratios.values()) if ratios else 1.0)
        out += [c * factor for c in costs]
    return out


def cost_table(results: Path) -> list[dict[str, Any]]:
    """What the finished trainings cost, per (backbone, method): trainings, records, hours."""
    rows: dict[tuple, dict[str, Any]] = {}
    for (backbone, method, *_), e in trainings(results).items():
        row = rows.setdefault(
            (backbone, method),
            {
                "backbone": backbone,
                "method": method,
                "trainings": 0,
                "records": 0,
                "hours": 0.0,
                "tokens (M)": 0.0,
                "device": e["device"],
            },
        )
        row["trainings"] += 1
        row["records"] += e["records"]
        row["hours"] += (e["train_s"] + e["test_s"]) / 3600
        row["tokens (M)"] += e["tokens"] / 1e6
    for row in rows.values():
        row["hours"] = round(row["hours"], 2)
        row["tokens (M)"] = round(row["tokens (M)"], 1)
    return [rows[k] for k in sorted(rows)]
