"""``bench sweep``: a grid of methods × tasks × languages × seeds as a DAG of jobs, run by an
executor, safe against faults.

A **job** is one fine-tuning and the records it writes (a `bench.runner.Group` under one
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

import fcntl
import json
import os
import socket
import subprocess
import sys
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.method import BASELINE, FULL, parse_method, split_overrides

ALL_METHODS = (BASELINE, *FULL, "full")


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to rebuild one group and run it (JSON-serialisable)."""

    method: str
    task: str
    setting: str
    seed: int
    train_lang: str
    targets: tuple[str, ...]
    selections: tuple[str, ...]
    adapt_to: tuple[str, ...]
    backbone: str | None = None
    overrides: tuple[str, ...] = ()
    comet: str | None = None
    stage_only: bool = False  # build the method's adaptation stages, train nothing

    @property
    def label(self) -> str:
        if self.stage_only:
            return f"stages of {self.method} ({','.join(self.adapt_to)})"
        langs = ",".join(self.targets)
        return f"{self.method} {self.task} {self.setting} {langs} seed {self.seed}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Job:
        data = json.loads(text)
        for key in ("targets", "selections", "adapt_to", "overrides"):
            data[key] = tuple(data[key])
        return cls(**data)


@dataclass
class Plan:
    stages: list[Job] = field(default_factory=list)
    runs: list[Job] = field(default_factory=list)
    done: list[Job] = field(default_factory=list)  # every record present
    needs: dict[Job, Job] = field(default_factory=dict)  # run -> its stage job
    skipped: list[str] = field(default_factory=list)  # (task, setting, langs) left out, and why


@dataclass
class Spec:
    methods: list[str]
    langs: str = "sw,yo,ha"
    tasks: str | None = None
    seeds: str = "1,2,3"
    backbone: str | None = None
    settings: str | None = None
    selection: str | None = None
    overrides: list[str] = field(default_factory=list)
    comet: str | None = None
    # The README reports this grid as finished and its records are committed: a test checks
    # that its plan has nothing to run, and a sweep that finds work left says so.
    complete: bool = False


SPEC_KEYS = {f for f in Spec.__dataclass_fields__}


def load_spec(path: Path) -> Spec:
    """A sweep spec file (TOML): the same fields as the command line's options."""
    from bench.formats import read_spec

    data = read_spec(path, SPEC_KEYS)
    if "methods" not in data:
        raise BenchError(f"{path}: 'methods' is required", hint='e.g. methods = ["baseline"]')
    for key in ("langs", "tasks", "seeds", "settings", "selection"):  # lists or strings
        if isinstance(data.get(key), list):
            data[key] = ",".join(str(x) for x in data[key])
    return Spec(**data)


def expand(spec: Spec, root: Path | None, results: Path) -> Plan:
    """The DAG: one stage job per method that adapts the backbone, then its runs."""
    from bench import plan as run_plan
    from bench.backbone import resolve_backbone
    from bench.runner import pending

    backbone, _ = resolve_backbone(spec.backbone)
    run_plan.parse_overrides(spec.overrides)  # malformed --set items fail before planning
    used = {n for m in spec.methods for n in parse_method(m).names}
    for item in spec.overrides:
        prefix = item.split("=")[0]
        if "." in prefix and prefix.split(".")[0] not in used:
            raise BenchError(
                f"--set {item}: no method of this sweep is made of '{prefix.split('.')[0]}'",
                hint=f"methods here use: {', '.join(sorted(used)) or 'no plug-ins'}",
            )
    out = Plan()
    for method in spec.methods:
        items = _overrides_for(method, spec.overrides)
        overrides = run_plan.parse_overrides(items)
        chosen = parse_method(method, split_overrides(overrides)[1], backbone.methods)
        request = run_plan.Request(
            method=method,
            langs=spec.langs,
            tasks=spec.tasks,
            backbone=spec.backbone,
            seeds=spec.seeds,
            settings=spec.settings,
            selection=spec.selection,
            overrides=items,
            comet=spec.comet,
        )
        stage: Job | None = None
        groups, notes = run_plan.groups_for(request, root)
        out.skipped += [n for n in notes if n not in out.skipped]
        for g in groups:
            job = Job(
                method=chosen.name,
                task=g.task.name,
                setting=g.setting,
                seed=g.seed,
                train_lang=g.train_lang.code,
                targets=tuple(lang.code for lang in g.targets),
                selections=tuple(g.selections),
                adapt_to=tuple(lang.code for lang in g.adapt_to),
                backbone=spec.backbone,
                overrides=tuple(items),
                comet=spec.comet,
            )
            if not pending(g, method, backbone, root, results, overrides, False)[0]:
                out.done.append(job)
                continue
            if _has_stages(chosen) and stage is None:
                stage = Job(**{**asdict(job), "stage_only": True, "adapt_to": job.adapt_to})
                out.stages.append(stage)
            if stage is not None:
                out.needs[job] = stage
            out.runs.append(job)
    return out


def _overrides_for(method: str, items: list[str]) -> list[str]:
    """The --set items that concern `method`: training settings, and the settings of the
    plug-ins it is made of (a sweep's ``--set mlm.steps=500`` does not reach the baseline)."""
    names = set(parse_method(method).names)
    return [i for i in items if "." not in i.split("=")[0] or i.split(".")[0] in names]


def _has_stages(chosen: Any) -> bool:
    """Whether a composition builds anything before fine-tuning (adapt or augment hooks)."""
    from bench.method import Method

    return any(
        type(p).adapt is not Method.adapt or type(p).augment is not Method.augment
        for p in chosen.methods
    )


# --- cost --------------------------------------------------------------------------------


def trainings(results: Path) -> dict[tuple, dict[str, Any]]:
    """Measured cost of every finished training in `results`: one entry per training (the
    records that share it counted once), with wall time, tokens and devices."""
    out: dict[tuple, dict[str, Any]] = {}
    for path in sorted((results / "runs").rglob("*.json")):
        rec = json.loads(path.read_text())
        c, t = rec["config"], rec["training"]
        key = (
            c["backbone"],
            c["method"],
            c["task"],
            c["setting"],
            c["seed"],
            tuple(t.get("shared_by", [c["lang"]])),
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
            },
        )
        entry["test_s"] += rec.get("test_wall_s", 0.0)
        entry["records"] += 1
        rss = t.get("peak_rss_mb")
        if rss is not None:  # recorded since issue #16; the process's peak, testing included
            entry["peak_rss_mb"] = max(rss, entry.get("peak_rss_mb", 0))
        entry.setdefault("stages", {}).update(stages_of(rec))
    return out


def stages_of(record: dict[str, Any]) -> dict[tuple[str, str], float | None]:
    """The adaptation stages a record's method used, as (kind, cache key) -> build seconds
    (None where the record does not say): MLM, alignment, back-translated data per task and
    language, and the translators that made it."""
    out: dict[tuple[str, str], float | None] = {}
    for name, rep in (record.get("method_reports") or {}).items():
        if "key" in rep:
            out[(name, rep["key"])] = rep.get("wall_s")
        languages = rep.get("languages")
        for part in languages.values() if isinstance(languages, dict) else ():
            out[(f"{name} data", part["key"])] = part.get("wall_s")
            if part.get("translator") and "translator_wall_s" in part:
                out[("translator", part["translator"])] = part["translator_wall_s"]
            elif part.get("translator"):
                out.setdefault(("translator", part["translator"]), None)
    return out


def grid_cost(spec: Spec, results: Path) -> list[dict[str, Any]]:
    """Measured cost of a sweep spec's finished trainings and of the stages they used: one
    row per (task, setting) and per stage kind, then the total (hours of one worker)."""
    from bench.language import parse_langs
    from bench.plan import parse_seeds
    from bench.task import parse_tasks

    langs = {lang.code for lang in parse_langs(spec.langs)}
    seeds = set(parse_seeds(spec.seeds))
    settings = {  # the settings the spec's plan gives each task (its own first by default)
        t.name: [s for s in spec.settings.split(",") if s.split(":")[0] in t.settings]
        if spec.settings
        else [t.settings[0]]
        for t in parse_tasks(spec.tasks)
    }
    backbone = spec.backbone
    per_task: dict[str, list[float]] = defaultdict(list)
    rss: dict[str, list[int]] = defaultdict(list)
    stages: dict[tuple[str, str], float | None] = {}
    for (bb, method, task, setting, seed, shared), e in trainings(results).items():
        if (backbone and bb != backbone) or method not in spec.methods or not set(shared) <= langs:
            continue
        if setting not in settings.get(task, ()) or seed not in seeds:
            continue
        per_task[f"{task} {setting} training"].append(e["train_s"] + e["test_s"])
        if "peak_rss_mb" in e:
            rss[f"{task} {setting} training"].append(e["peak_rss_mb"])
        for k, v in e.get("stages", {}).items():
            stages[k] = v if v is not None else stages.get(k)
    per_stage: dict[str, list[float | None]] = defaultdict(list)
    for (kind, _), seconds in stages.items():
        per_stage[f"stage: {kind}"].append(seconds)
    rows, total = [], 0.0
    for what, values in [*sorted(per_task.items()), *sorted(per_stage.items())]:
        known = [v for v in values if v is not None]
        minutes = [v / 60 for v in known]
        total += sum(known)
        rows.append(
            {
                "work": what,
                "count": len(values),
                "minutes each (mean, min-max)": (
                    f"{sum(minutes) / len(minutes):.1f} ({min(minutes):.1f}-{max(minutes):.1f})"
                    if minutes
                    else "not recorded"
                )
                + (
                    f"; {len(values) - len(known)} not recorded"
                    if minutes and len(known) < len(values)
                    else ""
                ),
                "hours": round(sum(known) / 3600, 2),
            }
        )
    if rss:  # only grids with memory in their records get the column (older ones: none)
        for row in rows:
            peaks = rss.get(row["work"])
            row["peak RSS GB (max)"] = f"{max(peaks) / 1024:.1f}" if peaks else ""
    if rows:
        rows.append(
            {
                "work": "total",
                "count": "",
                "minutes each (mean, min-max)": "",
                "hours": round(total / 3600, 2),
                **({"peak RSS GB (max)": ""} if rss else {}),
            }
        )
    return rows


def estimate(plan: Plan, results: Path) -> tuple[float, int]:
    """Seconds of work left, from the measured cost of finished trainings on the same backbone
    of the same (method, task, setting), else the same (task, setting) under any method; and
    how many jobs had no measurement to go by (a backbone's first runs: the tiny backbones'
    minutes say nothing about a 118 M-parameter one's)."""
    seen = trainings(results)
    by_method: dict[tuple, list[float]] = defaultdict(list)
    by_task: dict[tuple, list[float]] = defaultdict(list)
    for (backbone, method, task, setting, _, _), e in seen.items():
        for who in (backbone, None):  # None: a job on the default backbone, whichever it is
            by_method[(who, method, task, setting)].append(e["train_s"] + e["test_s"])
            by_task[(who, task, setting)].append(e["train_s"] + e["test_s"])
    total, unknown = 0.0, 0
    for job in plan.runs:
        costs = by_method.get((job.backbone, job.method, job.task, job.setting)) or by_task.get(
            (job.backbone, job.task, job.setting)
        )
        if costs:
            total += sum(costs) / len(costs)
        else:
            unknown += 1
    return total, unknown


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


# --- locks and failures ---------------------------------------------------------------------


@contextmanager
def job_lock(results: Path, key: str) -> Iterator[bool]:
    """Hold ``results/.locks/<key>.lock`` (yields False if another process holds it). An
    flock dies with its process: a SIGKILLed worker leaves nothing stale behind."""
    path = results / ".locks" / f"{key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")  # noqa: SIM115 - held for the duration of the job
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        fh.flush()
        yield True
    finally:
        fh.close()


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
    from bench.backbone import resolve_backbone
    from bench.language import get_language
    from bench.plan import parse_overrides
    from bench.runner import Group, execute, pending, run_id
    from bench.task import get_task

    backbone, _ = resolve_backbone(job.backbone)
    overrides = parse_overrides(list(job.overrides))
    group = Group(
        get_task(job.task),
        job.setting,
        job.seed,
        get_language(job.train_lang),
        [get_language(c) for c in job.targets],
        list(job.selections),
        [get_language(c) for c in job.adapt_to],
    )
    failed = failure_path(results, job)
    try:  # the splits' checksums are read here: unreadable data fails the job, not the sweep
        todo, base, _, _ = pending(group, job.method, backbone, root, results, overrides, False)
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
            execute(
                group,
                job.method,
                backbone,
                root,
                cache,
                results,
                overrides,
                False,
                job.comet,
                stages_only=job.stage_only,
            )
        except (Exception, SystemExit) as err:  # recorded, and the sweep goes on
            if rank != 0:
                raise
            _record_failure(failed, job, err, started)
            return "failed"
    failed.unlink(missing_ok=True)
    if job.stage_only and rank == 0:
        from bench.results import write_atomic

        done = {"label": job.label, "built_at": time.time(), "wall_s": time.time() - started}
        write_atomic(stage_marker(cache, job), json.dumps(done).encode())
    return "done"


def _record_failure(path: Path, job: Job, err: BaseException, started: float) -> None:
    from bench.results import write_atomic

    record = {
        "job": asdict(job),
        "cause": cause_of(err),
        "traceback": traceback.format_exc()[-4000:],
        "started": started,
        "failed_after_s": round(time.time() - started, 1),
        "host": socket.gethostname(),
    }
    write_atomic(path, json.dumps(record, indent=1).encode())


# --- executors ---------------------------------------------------------------------------


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


EXIT = {0: "done", 3: "busy", 4: "failed"}
# torch.distributed's env:// variables: a job's launcher sets them, never its parent process
DIST_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def _job_status(code: int) -> str:
    return EXIT.get(code, "failed" if code else "done") if code >= 0 else "killed"


def _log_path(job: Job) -> Path:
    from bench.paths import cache_dir

    folder = cache_dir() / "sweep-logs"
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in job.label)
    return folder / f"{safe}-{os.getpid()}.log"  # one per sweep process: two sweeps may meet


def _where(record: dict[str, Any]) -> str:
    if "slurm" not in record:
        return ""
    from bench.slurm import describe_failure

    return describe_failure(record)


def _results() -> Path:
    from bench.paths import results_dir

    return results_dir()


def _cache() -> Path:
    from bench.paths import cache_dir

    return cache_dir()


# --- the command -------------------------------------------------------------------------


def show(
    plan: Plan,
    results: Path,
    echo: Callable[[str], None],
    cache: Path | None = None,
) -> None:
    from bench.report import table

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
    left, unknown = estimate(plan, results)
    guess = (
        "estimated work left: unknown (no finished training of the same backbone, task and "
        "setting to go by)"
        if plan.runs and unknown == len(plan.runs)
        else f"estimated work left: {left / 3600:.2f} h of one worker (measured costs of "
        "finished runs)" + (f", {unknown} jobs with no measurement yet" if unknown else "")
    )
    echo(
        f"\n{len(plan.done)} trainings done (records present), {len(plan.runs)} to run, "
        f"{len(plan.stages)} stage jobs; {guess}"
    )


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
    `bench.slurm.SlurmOptions` of the slurm executors."""
    results = _results()
    plan = expand(spec, root, results)
    show(plan, results, echo)
    if dry_run and executor == "slurm" and (plan.stages or plan.runs):
        from bench.slurm import SlurmOptions, sbatch_preview

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
        jobs = plan.stages + plan.runs
        status = run_local(jobs, root, workers, echo, launch=launch, needs=plan.needs)
    elif executor in ("slurm", "submitit-local"):
        from bench.slurm import SlurmOptions, run_submitit

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
