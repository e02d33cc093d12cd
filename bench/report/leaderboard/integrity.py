"""Honesty checks before any table: records of one cell must agree on config (seed aside),
no two records of different models or seeds may share byte-identical predictions, and runs at
chance or a task's floor are collapsed. Exercise: ``bench leaderboard``.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from typing import Any

from bench.core.errors import BenchError
from bench.report.leaderboard.collect import CONFIG_IGNORED, METRICS, Run, predictions

# A run is collapsed at or below its task's floor: XNLI within a point of chance (3 classes),
# entity F1 of 1, chrF++ of 2 (characters matched by accident), BLEU of 0.5.
FLOOR = {"xnli": 100 / 3 + 1.0, "masakhaner": 1.0, "flores": 2.0, "flores BLEU": 0.5}


def constant(predictions: Any) -> bool:
    """Whether a run predicted one and the same thing for every test example (a label, a tag
    sequence of one tag, a translation): what a collapsed model does."""
    if isinstance(predictions, dict):  # flores: direction -> hypotheses
        return all(len(set(hyps)) <= 1 for hyps in predictions.values())
    flat = [x for p in predictions for x in (p if isinstance(p, list) else [p])]
    return len(set(flat)) <= 1


def check_integrity(runs: list[Run]) -> None:
    """Refuse inconsistent cells and duplicated predictions, with the files named."""
    check_unique_predictions(runs)
    check_same_weights(runs)
    check_same_stages(runs)
    check_cells(runs)


def check_unique_predictions(runs: list[Run]) -> None:
    """Two different models or seeds never predict byte for byte alike (a copied file)."""
    seen: dict[str, Run] = {}
    for run in runs:
        other = seen.get(run.predictions_sha)
        if (
            other is not None
            and (
                other.config["seed"] != run.config["seed"]
                or other.config["method"] != run.config["method"]
                or other.config["backbone"] != run.config["backbone"]
            )
            # two collapsed models that both predict one label everywhere agree byte for
            # byte without any copying: the collapse is flagged in the cell instead
            and not constant(predictions(run.path))
        ):
            raise BenchError(
                f"{run.path} and {other.path} have byte-identical predictions but are different "
                "models or seeds",
                hint="a provenance failure (a copied result file?): rerun one of them",
            )
        seen.setdefault(run.predictions_sha, run)


def check_same_weights(runs: list[Run]) -> None:
    """Methods are compared with baselines fine-tuned from the very same backbone weights."""
    weights: dict[str, Run] = {}
    for run in runs:
        other = weights.setdefault(run.config["backbone"], run)
        if other.weights != run.weights:
            raise BenchError(
                f"{run.path} and {other.path} were fine-tuned from different weights of backbone "
                f"{run.config['backbone']} ({str(run.weights)[:12]} vs {str(other.weights)[:12]})",
                hint="a rebuilt backbone: rerun the older records on the committed build in "
                "results/backbones/, or remove them",
            )


def check_same_stages(runs: list[Run]) -> None:
    """Every seed of a method on a task and setting was adapted from the very same build of
    each stage (records written before stages were checksummed cannot be checked). Another task
    or setting may use another build of the same stage (a rebuild on another CPU), which the
    tables mark (`stage_builds`)."""
    builds: dict[tuple, tuple[str, Run]] = {}  # (cell, stage key) -> the first build seen
    for run in runs:
        c = run.config
        for key, build in run.stage_keys:
            scope = (c["backbone"], c["method"], c["task"], c["setting"], str(c.get("adapted_to")))
            first, other = builds.setdefault((*scope, key), (build, run))
            if first == build:
                continue
            raise BenchError(
                f"{run.path} and {other.path} used different builds of the adaptation stage "
                f"{key} of {c['method']} on {c['task']} ({c['setting']}): a stage rebuilt on "
                "another machine?",
                hint="rerun the records of one of the builds so that the cell's seeds share one",
            )


def build_id(run: Run) -> str:
    """A short name of the stage builds a run was adapted from ('' without stages)."""
    if not run.stage_keys:
        return ""
    text = " ".join(f"{key}:{build}" for key, build in run.stage_keys)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def stage_builds(runs: list[Run]) -> dict[str, str]:
    """Stage key -> the build most runs adapted from that key used: the reference against
    which a cell adapted from another build of the key (rebuilt on another CPU) is marked."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for run in runs:
        for key, build in run.stage_keys:
            counts[key][build] += 1
    return {key: min(c, key=lambda b: (-c[b], b)) for key, c in counts.items()}


def check_cells(runs: list[Run]) -> None:
    """The records of one cell agree on their config (seed aside), one record per seed."""
    by_cell: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        by_cell[run.cell].append(run)
    for cell, members in by_cell.items():
        first = _comparable(members[0].config)
        for run in members[1:]:
            mine = _comparable(run.config)
            if mine != first:
                diff = sorted(k for k in first.keys() | mine.keys() if first.get(k) != mine.get(k))
                raise BenchError(
                    f"records of one cell ({'/'.join(cell)}) disagree on {', '.join(diff)}: "
                    f"{members[0].path} vs {run.path}",
                    hint="remove the stale records or filter them out (--backbone/--setting/...)",
                )
        seeds = [r.config["seed"] for r in members]
        if len(set(seeds)) != len(seeds):
            raise BenchError(
                f"cell {'/'.join(cell)} has two records of one seed",
                hint="two configurations share the cell; remove one set",
            )


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    """A record's config without what legitimately varies inside one cell (the seed)."""
    out = {k: v for k, v in config.items() if k not in CONFIG_IGNORED}
    out["train"] = {k: v for k, v in config["train"].items() if k != "seed"}
    return out


def collapsed(task: str, score: float, metric: int) -> bool:
    if METRICS[task][metric][0].endswith("BLEU"):
        return score <= FLOOR["flores BLEU"]
    return score <= FLOOR[task]
