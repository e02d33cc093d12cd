"""A sweep's grid: the spec (a TOML file or the command line's options), its jobs, and the DAG
of stage jobs and runs it expands to against a results folder.

Exercise: ``bench sweep --spec sweeps/offline.toml --dry-run``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.data.language import get_language
from bench.data.task import get_task
from bench.runs.plan import Group, groups_for
from bench.runs.request import Request, for_methods, resolve
from bench.runs.runner import pending
from bench.train.method import BASELINE, FULL

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
    keep_weights: str | None = None  # an absolute folder: keep the fine-tuned weights there

    @property
    def label(self) -> str:
        settings = f" [{' '.join(self.overrides)}]" if self.overrides else ""  # a search's values
        if self.stage_only:
            return f"stages of {self.method} ({','.join(self.adapt_to)}){settings}"
        langs = ",".join(self.targets)
        return f"{self.method} {self.task} {self.setting} {langs} seed {self.seed}{settings}"

    def to_json(self) -> str:
        data = asdict(self)
        if data["keep_weights"] is None:  # a job's hash (its failure record) stays as it was
            del data["keep_weights"]
        return json.dumps(data, sort_keys=True)

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
    # A search: --set values tried in every combination (``[search] "mlm.steps" = [250, 500]``),
    # each a run of its own; with `results`, its records go to that folder (relative to the
    # repository), apart from the grid's, so that no leaderboard mixes search runs in.
    search: dict[str, list] = field(default_factory=dict)
    results: str | None = None
    # Combinations of the search left out: one that holds every item of an entry is not run
    # (``skip = [["adversarial.english=text", "adversarial.disc_lr_scale=1.0"]]``).
    skip: list[list[str]] = field(default_factory=list)
    # --keep-weights DIR (the command line only: where a machine keeps weights is no part of
    # a grid): every training keeps its fine-tuned weights in DIR/<run id>/
    keep_weights: str | None = None


SPEC_KEYS = {f for f in Spec.__dataclass_fields__} - {"keep_weights"}


def load_spec(path: Path) -> Spec:
    """A sweep spec file (TOML): the same fields as the command line's options."""
    from bench.core.formats import read_spec

    data = read_spec(path, SPEC_KEYS)
    if "methods" not in data:
        raise BenchError(f"{path}: 'methods' is required", hint='e.g. methods = ["baseline"]')
    for key in ("langs", "tasks", "seeds", "settings", "selection"):  # lists or strings
        if isinstance(data.get(key), list):
            data[key] = ",".join(str(x) for x in data[key])
    for key, values in data.get("search", {}).items():
        if not isinstance(values, list) or not values:
            raise BenchError(
                f"{path}: search value of {key} must be a non-empty list",
                hint=f'e.g. "{key}" = [1e-4, 3e-4]',
            )
    spec = Spec(**data)
    tried = {f"{k}={v}" for k, values in spec.search.items() for v in values}
    for entry in spec.skip:
        unknown = [item for item in entry if item not in tried]
        if unknown or not entry:
            raise BenchError(
                f"{path}: skip entry {entry} names no searched value"
                + (f" ({', '.join(unknown)})" if unknown else ""),
                hint=f"items are key=value as the search tries them, one of: "
                f"{', '.join(sorted(tried))}",
            )
    return spec


def search_items(spec: Spec) -> list[list[str]]:
    """The ``--set`` items of each combination of the spec's search (one empty list without)."""
    from itertools import product

    keys = sorted(spec.search)
    every = [
        [f"{k}={v}" for k, v in zip(keys, values, strict=True)]
        for values in product(*(spec.search[k] for k in keys))
    ]
    return [items for items in every if not any(set(s) <= set(items) for s in spec.skip)]


def requests(spec: Spec) -> list[Request]:
    """The spec resolved once: one request per method, each with the ``--set`` items that
    concern it."""
    base = resolve(
        "baseline",
        spec.langs,
        spec.tasks,
        spec.backbone,
        spec.seeds,
        spec.settings,
        spec.selection,
        comet=spec.comet,
    )
    out, seen = [], set()
    for items in search_items(spec):
        for request in for_methods(base, spec.methods, [*spec.overrides, *items]):
            key = (request.method.name, request.items)  # a method the values do not concern
            if key not in seen:  # runs once, not once per combination
                seen.add(key)
                out.append(request)
    return out


def job_of(
    request: Request, group: Group, backbone: str | None, keep_weights: str | None = None
) -> Job:
    return Job(
        method=request.method.name,
        task=group.task.name,
        setting=group.setting,
        seed=group.seed,
        train_lang=group.train_lang.code,
        targets=tuple(lang.code for lang in group.targets),
        selections=tuple(group.selections),
        adapt_to=tuple(lang.code for lang in group.adapt_to),
        backbone=backbone,
        overrides=request.items,
        comet=request.comet,
        keep_weights=keep_weights,
    )


def expand(spec: Spec, root: Path | None, results: Path) -> Plan:
    """The DAG: one stage job per method that adapts the backbone, then its runs."""
    out = Plan()
    for request in requests(spec):
        stage: Job | None = None
        groups, notes = groups_for(request, root)
        out.skipped += [n for n in notes if n not in out.skipped]
        for g in groups:
            job = job_of(request, g, spec.backbone, spec.keep_weights)
            if not pending(g, request, root, results)[0]:
                out.done.append(job)
                continue
            if _has_stages(request.method) and stage is None:
                stage = Job(**{**asdict(job), "stage_only": True, "adapt_to": job.adapt_to})
                out.stages.append(stage)
            if stage is not None:
                out.needs[job] = stage
            out.runs.append(job)
    return out


def request_of(job: Job) -> Request:
    """What a worker process runs for `job`: its request, resolved at the worker's door."""
    return resolve(
        job.method,
        ",".join(job.targets),
        job.task,
        job.backbone,
        str(job.seed),
        job.setting,
        ",".join(job.selections),
        job.overrides,
        job.comet,
        keep_weights=job.keep_weights,
    )


def group_of(job: Job) -> Group:
    return Group(
        get_task(job.task),
        job.setting,
        job.seed,
        get_language(job.train_lang),
        [get_language(c) for c in job.targets],
        list(job.selections),
        [get_language(c) for c in job.adapt_to],
    )


def _has_stages(chosen: Any) -> bool:
    """Whether a composition builds anything before fine-tuning (adapt or augment hooks)."""
    from bench.train.method import Method

    return any(
        type(p).adapt is not Method.adapt or type(p).augment is not Method.augment
        for p in chosen.methods
    )
