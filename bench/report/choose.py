"""A method-settings search, read back: each method's searched values ranked on dev, the chosen
ones, and whether the backbone spec's ``[methods.*]`` holds them.

The choice uses the dev split the setting allows, never test: zero-shot runs are chosen on
English dev (true zero-shot: the ``source-dev`` record's selection score), in-language runs on
the target language's dev. Test scores and the oracle (target-dev) column are shown beside the
choice, for reading, not for choosing. Ties go to the value listed first in the spec.

Exercise: ``bench choose --spec sweeps/me5-search.toml``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

from bench.core.errors import BenchError
from bench.core.paths import REPO
from bench.report.leaderboard.diagnostics import (
    mean_value,
    training_diagnostics,
    value_text,
)
from bench.runs.grid import Spec, search_items


@dataclass(frozen=True)
class Candidate:
    method: str
    values: tuple[tuple[str, Any], ...]  # (plug-in.knob, value), in the spec's key order
    dev: float  # the choosing score: mean selection score over the records (x100)
    oracle: float | None  # zero-shot: mean target-dev selection score (x100); else None
    test: float  # mean test score over languages (x100), shown only
    records: int
    diagnostics: str = ""  # what explains it (bench/report/leaderboard/diagnostics.py), pooled


def choosing_selection(setting: str) -> str:
    return "source-dev" if setting == "zero-shot" else "target-dev"


def searched(spec: Spec, method: str) -> list[str]:
    """The spec's search keys that configure `method` (``mlm.steps`` for mlm and full)."""
    from bench.train.method import plugin_names

    plugins = set(plugin_names(method))
    return [k for k in sorted(spec.search) if k.split(".")[0] in plugins]


def setting(methods: dict[str, dict[str, Any]], key: str) -> Any:
    """A record's value of ``plug-in.knob``; a knob added after the record (absent from its
    config, see `bench.train.method.ADDED_LATER`) had its default."""
    from dataclasses import fields

    from bench.train.method import registry

    plugin, knob = key.split(".")
    if knob in methods[plugin]:
        return methods[plugin][knob]
    return next(f.default for f in fields(registry()[plugin].Config) if f.name == knob)


def candidates(spec: Spec, results: Path) -> list[Candidate]:
    """One candidate per (method, searched values), from the spec's records in `results`."""
    from bench.report.leaderboard.collect import METRICS, load_runs

    scores: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    explained: dict[tuple, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for run in load_runs(results, backbone=[spec.backbone] if spec.backbone else None):
        c = run.config
        if c["method"] not in spec.methods:
            continue
        rec = json.loads(run.path.read_text())  # the selection score and the method reports
        keys = searched(spec, c["method"])
        values = tuple((k, setting(c.get("methods", {}), k)) for k in keys)
        key = (c["method"], c["task"], c["setting"], values)
        score = 100 * rec["selection"]["score"]
        test = METRICS[c["task"]][0][1](run.metrics, c["lang"])
        if c["selection"] == choosing_selection(c["setting"]):
            scores[key]["dev"].append(score)
            scores[key]["test"].append(test)
            for _plugin, name, _lang, value in training_diagnostics(rec):
                explained[key][name].append(value)  # names differ across plug-ins
        elif c["selection"] == "target-dev":
            scores[key]["oracle"].append(score)
    out = []
    for key, s in scores.items():
        method, values = key[0], key[3]
        if s["dev"]:
            oracle = mean(s["oracle"]) if s["oracle"] else None
            dev, test = mean(s["dev"]), mean(s["test"])
            diagnostics = pooled(explained[key])
            out.append(Candidate(method, values, dev, oracle, test, len(s["dev"]), diagnostics))
    return out


def pooled(explained: dict[str, list[Any]]) -> str:
    """Each diagnostic's mean over the candidate's records and languages, in a few words."""
    return "; ".join(f"{name} {value_text(mean_value(got))}" for name, got in explained.items())


def choose(spec: Spec, results: Path) -> tuple[list[Candidate], dict[str, Candidate]]:
    """Every candidate, and the chosen one per method (highest dev score; ties: spec order)."""
    found = candidates(spec, results)
    if not found:
        raise BenchError(
            f"no records of this search in {results}",
            hint="run it first: bench sweep --spec <the spec> --workers 1",
        )
    order = {tuple(items): i for i, items in enumerate(search_items(spec))}

    def rank(c: Candidate) -> tuple[float, int]:
        mine = tuple(f"{k}={v}" for k, v in c.values)
        position = next((i for items, i in order.items() if set(mine) <= set(items)), 0)
        return (-c.dev, position)

    chosen = {}
    for method in dict.fromkeys(c.method for c in found):
        chosen[method] = min((c for c in found if c.method == method), key=rank)
    return found, chosen


def spec_disagreements(backbone: str, chosen: dict[str, Candidate]) -> list[str]:
    """Where the backbone spec's ``[methods.*]`` does not hold a chosen value."""
    from bench.train.backbone import backbones

    spec = backbones().get(backbone.partition(":")[0])
    out = []
    for c in chosen.values():
        for key, value in c.values:
            plugin, knob = key.split(".")
            have = spec.methods.get(plugin, {}).get(knob)
            if have != value:
                out.append(f"{key}: chosen {value}, baselines/{spec.name}.toml has {have}")
    return out


def report(spec: Spec, results: Path) -> str:
    """The search as a Markdown table (chosen rows marked) and the TOML the choice implies."""
    import pandas as pd

    found, chosen = choose(spec, results)
    baseline = [c for c in found if not c.values and c.method == "baseline"]
    rows = []
    for c in sorted(found, key=lambda c: (c.method != "baseline", c.method, -c.dev)):
        rows.append(
            {
                "method": c.method,
                "values": ", ".join(f"{k}={v}" for k, v in c.values) or "-",
                "dev (chooses)": f"{c.dev:.2f}",
                "Δ dev vs baseline": f"{c.dev - baseline[0].dev:+.2f}"
                if baseline and c.values
                else "",
                "oracle target dev": "" if c.oracle is None else f"{c.oracle:.2f}",
                "test (not used)": f"{c.test:.2f}",
                "records": c.records,
                "diagnostics (mean over languages)": c.diagnostics,
                "chosen": "✓" if chosen.get(c.method) == c and c.values else "",
            }
        )
    toml = []
    for c in chosen.values():
        by_plugin: dict[str, list[str]] = defaultdict(list)
        for key, value in c.values:
            plugin, knob = key.split(".")
            by_plugin[plugin].append(f"{knob} = {json.dumps(value)}")
        for plugin, lines in by_plugin.items():
            toml += [f"[methods.{plugin}]", *lines]
    where = results.relative_to(REPO) if results.is_relative_to(REPO) else results
    text = (
        f"Search records in {where}: dev = the selection score the setting allows "
        "(zero-shot: English dev), x100, mean over the records.\n\n"
        + pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True)
    )
    text += "\n\nThe choice, as the backbone spec holds it:\n\n" + "\n".join(toml)
    if spec.backbone:
        disagree = spec_disagreements(spec.backbone, chosen)
        text += "\n\n" + (
            "baselines spec disagrees: " + "; ".join(disagree)
            if disagree
            else "The backbone spec holds every chosen value."
        )
    return text + "\n"
