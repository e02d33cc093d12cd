"""Collect run records into runs: filters checked against the registries, one `Run` per
record (its config, scores by metric, predictions file), and the provenance footer of a table
(commits, environments, data checksums, cost). Exercise: ``bench leaderboard --tasks xnli``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError, did_you_mean
from bench.runs.records import labelled, read_predictions, stage_builds_of

MIN_SEEDS = 5


METRICS = {  # task -> (column label, how to read it from a record), x100 where a fraction
    "xnli": [("acc", lambda m, lang: 100 * m["accuracy"])],
    "masakhaner": [("F1", lambda m, lang: 100 * m["f1"])],
    "flores": [
        ("en→xx chrF++", lambda m, lang: m[f"eng-{lang}"]["chrf++"]),
        ("xx→en chrF++", lambda m, lang: m[f"{lang}-eng"]["chrf++"]),
        ("en→xx BLEU", lambda m, lang: m[f"eng-{lang}"]["bleu"]),
        ("xx→en BLEU", lambda m, lang: m[f"{lang}-eng"]["bleu"]),
    ],
}


CONFIG_IGNORED = {"seed", "method", "methods", "adapted_to", "lang", "selection", "data"}


@dataclass
class Run:
    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    mt: bool
    predictions_sha: str
    weights: str | None = None  # sha256 of the backbone weights it was fine-tuned from
    cost: dict[str, Any] = field(default_factory=dict)  # wall times, tokens, device, commit
    stage_keys: tuple = ()  # (stage key, build): which build of each adaptation stage it used
    caveat: str | None = None  # what a reader of the backbone's numbers must know (me5_small)

    @property
    def cell(self) -> tuple[str, ...]:
        c = self.config
        return (c["backbone"], c["setting"], c["selection"], c["method"], c["task"], c["lang"])


@dataclass
class Cell:
    runs: list[Run] = field(default_factory=list)

    def scores(self, metric: int) -> list[float]:
        task, lang = self.runs[0].config["task"], self.runs[0].config["lang"]
        read = METRICS[task][metric][1]
        return [read(r.metrics, lang) for r in sorted(self.runs, key=lambda r: r.config["seed"])]


def check_filters(**filters: list[str] | None) -> dict[str, list[str] | None]:
    """The leaderboard's filters, validated as `bench run` validates its options: an unknown
    task, language, backbone, setting or selection is a "did you mean" error, not an empty
    table. Languages come back as their ISO 639-3 codes, tasks as registry names."""
    from bench.data.language import parse_langs
    from bench.data.task import parse_setting, parse_tasks
    from bench.runs.plan import SELECTIONS
    from bench.train.backbone import backbones

    out = dict(filters)
    if filters.get("tasks"):
        out["tasks"] = [t.name for t in parse_tasks(",".join(filters["tasks"]))]
    if filters.get("langs"):
        out["langs"] = [lang.code for lang in parse_langs(",".join(filters["langs"]))]
    for name in filters.get("backbone") or []:
        base, _, profile = name.partition(":")
        if base not in backbones() and not Path(name).is_dir():
            backbones().get(base)  # raises the did-you-mean error
        if profile:
            backbones().get(base).with_profile(profile)  # likewise for an unknown profile
    for text in filters.get("setting") or []:
        parse_setting(text, ("zero-shot", "in-language", "few-shot"))
    for name in filters.get("selection") or []:
        if name not in SELECTIONS:
            raise BenchError(
                f"unknown selection '{name}'{did_you_mean(name, SELECTIONS)}",
                hint=f"valid selections: {', '.join(SELECTIONS)}",
            )
    return out


def load_runs(results: Path, **filters: list[str] | None) -> list[Run]:
    """Every record under results/runs matching the filters (backbone, tasks, langs,
    setting, selection: lists of allowed values, None = all)."""
    keys = {"backbone": "backbone", "tasks": "task", "langs": "lang", "setting": "setting"}
    keys["selection"] = "selection"
    runs = []
    for path in sorted((results / "runs").rglob("*.json")):
        rec = json.loads(path.read_text())
        c = labelled(rec["config"])
        if any(v is not None and c[keys[k]] not in v for k, v in filters.items()):
            continue
        runs.append(
            Run(
                path,
                c,
                rec["metrics"],
                rec["machine_translated_test"],
                rec["predictions"]["sha256"],
                rec.get("backbone", {}).get("weights_sha256"),
                _cost(rec),
                stage_builds_of(rec),
                rec.get("backbone", {}).get("caveat"),
            )
        )
    return runs


def _cost(rec: dict[str, Any]) -> dict[str, Any]:
    env, t = rec.get("environment", {}), rec.get("training", {})
    return {
        "train_s": t.get("wall_s", 0.0),
        "test_s": rec.get("test_wall_s", 0.0),
        "tokens": t.get("tokens", 0),
        "shared_by": tuple(t.get("shared_by", [])),
        "device": env.get("hardware", {}).get("gpu") or "cpu",
        "commit": env.get("git", {}).get("commit", "?")[:10],
        "version": env.get("packages", {}).get("lowres-bench", "?"),
    }


def provenance(runs: list[Run], command: str) -> str:
    """What a table is made of: backbones and their weights, runs, test data, code, cost, and
    the command that regenerates it (a deterministic function of the records)."""
    if not runs:
        return ""
    trainings: dict[tuple, dict[str, Any]] = {}
    for r in runs:
        c = r.config
        key = (c["backbone"], c["method"], c["task"], c["setting"], c["seed"], r.cost["shared_by"])
        entry = trainings.setdefault(key, {"s": r.cost["train_s"], "tokens": r.cost["tokens"]})
        entry["s"] += r.cost["test_s"]
    backbones = sorted(
        {(r.config["backbone"], (r.weights or "not recorded")[:12], r.caveat) for r in runs},
        key=lambda b: (b[0], b[1], b[2] or ""),
    )
    tests = sorted(
        {
            (r.config["task"], r.config["lang"], sha[:12], r.mt)
            for r in runs
            for role, sha in r.config["data"].items()
            if role.startswith("test:")
        }
    )
    devices = sorted({r.cost["device"] for r in runs})
    hours = sum(e["s"] for e in trainings.values()) / 3600
    lines = [
        "",
        "**Provenance.** "
        + "Backbones: "
        + ", ".join(f"{b} (weights {w}{f'; {c}' if c else ''})" for b, w, c in backbones)
        + ". "
        + f"{len(runs)} run records from {len(trainings)} trainings; "
        + f"seeds {', '.join(str(x) for x in sorted({r.config['seed'] for r in runs}))}. "
        + "Test sets (sha256): "
        + "; ".join(f"{t} {lang} {sha}{' (MT)' if mt else ''}" for t, lang, sha, mt in tests)
        + ". Code: lowres-bench "
        + ", ".join(sorted({r.cost["version"] for r in runs}))
        + ", commits "
        + ", ".join(sorted({r.cost["commit"] for r in runs}))
        + f". Cost: {hours:.2f} h of {', '.join(devices)} wall time (training + testing), "
        + f"{sum(e['tokens'] for e in trainings.values()) / 1e6:.1f} M training tokens. "
        + f"Regenerate: `{command}`.",
    ]
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=64)
def predictions(path: Path) -> Any:
    """A record's predictions, read once per build (flores compares four metrics per cell;
    the baseline's are compared with every method). Records are immutable: the id is a hash."""
    return read_predictions(path)
