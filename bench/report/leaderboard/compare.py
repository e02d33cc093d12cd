"""The ablation rows: every method against the baseline of the same backbone, setting and
selection, per task, language and metric: mean ± std over seeds, absolute and relative change, a
paired bootstrap over test examples on matching seeds (sacreBLEU's for BLEU/chrF++), Almost
Stochastic Order over seeds, and Holm's correction across the table. Exercise:
``bench leaderboard --backbone tiny_xlmr``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.report.leaderboard.collect import METRICS, Cell, Run, predictions
from bench.report.leaderboard.integrity import build_id, check_integrity, collapsed, stage_builds

ALPHA = 0.05


def delta_variance(row: dict[str, Any], base: dict[str, Any]) -> float:
    """Variance over seeds of a method's mean minus its baseline's (s_m²/n_m + s_b²/n_b): the
    95% interval of the change is ±1.96 √ of it (headline and claims tables)."""
    return row["std"] ** 2 / row["seeds"] + base["std"] ** 2 / base["seeds"]


@dataclass
class Comparison:
    p_bootstrap: float
    aso_eps: float | None
    p_adjusted: float = 1.0


def _common_seeds(runs_a: list[Run], runs_b: list[Run]) -> list[int]:
    """The seeds both sides have: comparisons pool the predictions of these, in seed order."""
    return sorted({r.config["seed"] for r in runs_a} & {r.config["seed"] for r in runs_b})


# per `inputs_memo`: entity counts, sacreBLEU statistics, gold entities
_COUNTS: dict[tuple, Any] = {}


def _entity_counts(path: Path, gold: list) -> np.ndarray:
    """A record's per-sentence entity counts against its gold tags, once per `inputs_memo`
    (the baseline's are compared with every method's, in every table)."""
    from bench.report.significance import entity_counts, entity_sets

    key, gold_key = (path, id(gold)), ("gold entities", id(gold))
    if gold_key not in _COUNTS:
        _COUNTS[gold_key] = entity_sets(gold)
    if key not in _COUNTS:
        _COUNTS[key] = entity_counts(gold, predictions(path), _COUNTS[gold_key])
    return _COUNTS[key]


def _translation_stats(path: Path, gold: dict, direction: str, name: str) -> np.ndarray:
    """A record's per-sentence sacreBLEU statistics in one direction, once per `inputs_memo`."""
    from bench.report.significance import translation_stats

    key = (path, id(gold), direction, name)
    if key not in _COUNTS:
        _COUNTS[key] = translation_stats(name, predictions(path)[direction], gold[direction])
    return _COUNTS[key]


def _matching(cell: Cell, seeds: list[int]) -> list[Run]:
    by_seed = {r.config["seed"]: r for r in cell.runs}
    return [by_seed[s] for s in seeds]


_COMPARISONS: dict[tuple, Comparison] = {}


def compare(method: Cell, baseline: Cell, metric: int, gold: Any, n: int) -> Comparison:
    """Method vs baseline on one column: paired bootstrap on pooled matching seeds + ASO.

    Memoised by the records (path and predictions checksum), so the headline table reuses
    the ablation table's comparisons in `bench paper`, and kept on disk (`_stored`), so a
    rerun after new records computes only the comparisons they enter."""
    key = _key(method, baseline, metric, n)
    if key not in _COMPARISONS:
        _COMPARISONS[key] = _stored(method, baseline, metric, gold, n)
    return _COMPARISONS[key]


def _key(method: Cell, baseline: Cell, metric: int, n: int) -> tuple:
    key = tuple((r.path, r.predictions_sha) for r in method.runs + baseline.runs)
    return (*key, len(method.runs), metric, n)


_WORK: list[list[tuple]] = []  # compare_many's groups, read by its forked workers


def compare_many(jobs: list[tuple[Cell, Cell, int, Any]], n: int, workers: int) -> None:
    """Compute every comparison (method, baseline, metric, gold) not memoised yet, in
    `workers` forked processes: the bootstraps are independent and seeded, so the results are
    those of `compare` one by one. A job group is one baseline cell (its statistics are
    counted once per group); the largest groups go first."""
    todo: dict[tuple, tuple] = {}
    for method, baseline, metric, gold in jobs:
        key = _key(method, baseline, metric, n)
        if key not in _COMPARISONS:
            todo.setdefault(key, (method, baseline, metric, gold, n))
    groups: dict[int, list[tuple]] = defaultdict(list)
    for key, job in todo.items():
        groups[id(job[1])].append((key, job))
    global _WORK
    _WORK = sorted(groups.values(), key=len, reverse=True)
    import multiprocessing

    try:
        if workers < 2 or len(_WORK) < 2 or "fork" not in multiprocessing.get_all_start_methods():
            for done in map(_compare_group, range(len(_WORK))):  # here, one by one
                _COMPARISONS.update(done)
            return
        # fork: the workers see the records, gold lists and memos without pickling them
        with multiprocessing.get_context("fork").Pool(min(workers, len(_WORK))) as pool:
            for done in pool.imap_unordered(_compare_group, range(len(_WORK))):
                _COMPARISONS.update(done)
    finally:
        _WORK = []


def _compare_group(index: int) -> dict[tuple, Comparison]:
    return {key: _stored(*job) for key, job in _WORK[index]}


@functools.cache
def _code_version() -> str:
    """What a stored comparison was computed with: the sources that compute it and the
    versions of the libraries whose random streams and scores it replays."""
    import sacrebleu

    from bench.report import significance

    h = hashlib.sha256(f"{np.__version__} {sacrebleu.__version__}".encode())
    for module in (significance.__file__, __file__, Path(__file__).with_name("collect.py")):
        h.update(Path(module).read_bytes())
    return h.hexdigest()


_GOLD_SHA: dict[int, str] = {}  # per `inputs_memo`, like _COUNTS


def _store_dir() -> Path:
    from bench.core.paths import cache_dir

    return cache_dir() / "comparisons"


def _stored(method: Cell, baseline: Cell, metric: int, gold: Any, n: int) -> Comparison:
    """`_compare`, read from ``$BENCH_CACHE/comparisons/`` when the same inputs were compared
    before: the key is the code version, the gold's checksum, each run's seed, predictions
    checksum and scores, the metric and the number of resamples (a bootstrap's seed is
    fixed), so a stored result is what `_compare` would return now. An unreadable file is
    computed again."""
    from bench.runs.records import write_atomic

    if id(gold) not in _GOLD_SHA:
        _GOLD_SHA[id(gold)] = hashlib.sha256(repr(gold).encode()).hexdigest()
    sides = [
        [sorted((r.config["seed"], r.predictions_sha) for r in cell.runs), cell.scores(metric)]
        for cell in (method, baseline)
    ]
    key = json.dumps([_code_version(), _GOLD_SHA[id(gold)], sides, metric, n])
    path = _store_dir() / f"{hashlib.sha256(key.encode()).hexdigest()}.json"
    try:
        saved = json.loads(path.read_text())
        return Comparison(float(saved["p"]), saved["aso"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not stored yet, or unreadable: compute it
    result = _compare(method, baseline, metric, gold, n)
    write_atomic(path, json.dumps({"p": result.p_bootstrap, "aso": result.aso_eps}).encode())
    return result


def _compare(method: Cell, baseline: Cell, metric: int, gold: Any, n: int) -> Comparison:
    from bench.report import significance as sig

    task, lang = method.runs[0].config["task"], method.runs[0].config["lang"]
    seeds = _common_seeds(method.runs, baseline.runs)
    if not seeds:
        p = float("nan")
    elif task == "xnli":

        def labels(cell: Cell) -> list:  # predicted labels pooled over matching seeds
            return [x for r in _matching(cell, seeds) for x in predictions(r.path)]

        gold_pooled = list(gold) * len(seeds)
        p = sig.accuracy_test(labels(method), labels(baseline), gold_pooled, n)["p_value"]
    elif task == "masakhaner":
        counts_a = np.concatenate([_entity_counts(r.path, gold) for r in _matching(method, seeds)])
        counts_b = np.concatenate(
            [_entity_counts(r.path, gold) for r in _matching(baseline, seeds)]
        )
        p = sig.f1_test_counts(counts_a, counts_b, n)["p_value"]
    else:
        label = METRICS[task][metric][0]
        direction = f"eng-{lang}" if label.startswith("en→") else f"{lang}-eng"
        name = "bleu" if label.endswith("BLEU") else "chrf++"

        def stats(cell: Cell) -> np.ndarray:  # pooled over matching seeds, as the hypotheses
            runs = _matching(cell, seeds)
            return np.concatenate([_translation_stats(r.path, gold, direction, name) for r in runs])

        p = sig.translation_bootstrap(stats(method), stats(baseline), name, n)["p_value"]
    eps = None
    if len(method.runs) >= 2 and len(baseline.runs) >= 2:
        eps = sig.aso(method.scores(metric), baseline.scores(metric))
    return Comparison(float(p), eps)


def gold_of(task: str, lang: str, setting: str, root: Path | None) -> Any:
    """What the predictions are scored against, read from the task's test split."""
    from bench.data.task import get_task

    data = get_task(task).load(lang, "test", setting, root).dataset
    if task == "xnli":
        return list(data["label"])
    if task == "masakhaner":
        return list(data["tags"])
    return {f"eng-{lang}": list(data["tgt"]), f"{lang}-eng": list(data["src"])}


def status(task: str, scores: list[float], metric: int) -> str:
    """MLPerf's convergence rule: ``ok``, ``1 collapsed`` (excluded from the mean) or
    ``invalid`` (more than one collapsed, or every run: nothing would be left to average)."""
    bad = sum(collapsed(task, s, metric) for s in scores)
    if bad == 0:
        return "ok"
    return (
        "1 collapsed" if bad == 1 < len(scores) else f"invalid ({bad} of {len(scores)} collapsed)"
    )


def kept(task: str, scores: list[float], metric: int) -> list[float]:
    """The scores a cell's mean is taken over: all but the one excluded collapsed run."""
    if status(task, scores, metric) != "1 collapsed":
        return scores
    return [s for s in scores if not collapsed(task, s, metric)]


def default_workers() -> int:
    """The CPU cores this process may use (its affinity, not the machine's count)."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def inputs_memo() -> dict[tuple, Any]:
    """A memo of test splits for `build` calls over the same records (`bench paper`'s tables
    share most of theirs): each split is read once and each record's statistics are counted
    once. The per-record memos are emptied here: they are keyed by the identity of the gold
    lists, which the returned dict keeps alive."""
    _COUNTS.clear()
    _GOLD_SHA.clear()
    return {}


def comparisons(
    cells: dict[tuple, Cell],
    root: Path | None,
    metrics: list[str] | None,
    golds: dict,
    reference: str = "baseline",
) -> list[tuple[Cell, Cell, int, Any]]:
    """(method cell, its `reference` cell, metric, gold) of every comparison a table shows;
    the test splits they are scored on are read into `golds` once."""
    jobs = []
    for (backbone, setting, selection, method, task, lang), cell in sorted(cells.items()):
        base = cells.get((backbone, setting, selection, reference, task, lang))
        if method == reference or base is None:
            continue
        if (task, lang, setting) not in golds:
            golds[(task, lang, setting)] = gold_of(task, lang, setting, root)
        for metric, (label, _) in enumerate(METRICS[task]):
            if metrics is None or label in metrics:
                jobs.append((cell, base, metric, golds[(task, lang, setting)]))
    return jobs


def _row(key: tuple, cell: Cell, metric: int, label: str, refs: dict) -> dict[str, Any]:
    """A cell's statistics for one metric; `refs`: the usual build of each stage key."""
    backbone, setting, selection, method, task, lang = key
    scores = cell.scores(metric)
    kept_scores = kept(task, scores, metric)
    return {
        "backbone": backbone,
        "setting": setting,
        "selection": selection,
        "method": method,
        "task": task,
        "lang": lang,
        "metric": label,
        "mean": float(np.mean(kept_scores)),
        "std": float(np.std(kept_scores, ddof=1)) if len(kept_scores) > 1 else 0.0,
        "seeds": len(scores),
        "scores": scores,
        "status": status(task, scores, metric),
        "mt": cell.runs[0].mt,
        "stage_build": build_id(cell.runs[0]),  # one per cell (check_same_stages)
        "other_build": any(refs[k] != b for k, b in cell.runs[0].stage_keys),
    }


def _compare_row(
    row: dict[str, Any],
    cell: Cell,
    cells: dict,
    metric: int,
    golds: dict,
    samples: int,
    reference: str = "baseline",
) -> None:
    """Add the comparison with the `reference` cell of the same column, where there is one."""
    backbone, setting, selection, task, lang = (
        row[k] for k in ("backbone", "setting", "selection", "task", "lang")
    )
    base = cells.get((backbone, setting, selection, reference, task, lang))
    if row["method"] == reference or base is None:
        return
    cmp = compare(cell, base, metric, golds[(task, lang, setting)], samples)
    base_mean = float(np.mean(kept(task, base.scores(metric), metric)))
    delta = row["mean"] - base_mean  # between the means the table shows
    row.update(
        reference=reference,  # what delta, p and aso compare with (the CSV's column)
        delta=delta,
        relative=100 * delta / base_mean if base_mean else float("nan"),
        p=cmp.p_bootstrap,
        aso=cmp.aso_eps,
        resamples=samples,
    )


def build(
    runs: list[Run],
    root: Path | None,
    samples: int = 1000,
    metrics: list[str] | None = None,
    golds: dict[tuple, Any] | None = None,
    workers: int | None = None,
    reference: str = "baseline",
) -> list[dict[str, Any]]:
    """One row per (backbone, setting, selection, method, column) with its statistics and,
    for the other methods, the comparison with `reference` (Holm-adjusted within each table;
    a leave-one-out table compares with `full`). `golds`: an `inputs_memo` shared with other
    builds on the same data root; `workers`: processes for the comparisons (default: the CPU
    cores this process may use)."""
    check_integrity(runs)
    golds = inputs_memo() if golds is None else golds
    cells: dict[tuple, Cell] = defaultdict(Cell)
    for run in runs:
        cells[run.cell].runs.append(run)
    jobs = comparisons(cells, root, metrics, golds, reference)  # at once, in parallel
    compare_many(jobs, samples, default_workers() if workers is None else workers)
    refs = stage_builds(runs)
    rows: list[dict[str, Any]] = []
    for key, cell in sorted(cells.items()):
        for metric, (label, _) in enumerate(METRICS[key[4]]):
            if metrics is None or label in metrics:
                rows.append(_row(key, cell, metric, label, refs))
                _compare_row(rows[-1], cell, cells, metric, golds, samples, reference)
    from bench.report.significance import holm

    tables = defaultdict(dict)
    for i, row in enumerate(rows):
        if "p" in row and not np.isnan(row["p"]):
            tables[(row["backbone"], row["setting"])][i] = row["p"]  # one family per table
    for pvalues in tables.values():
        for i, adjusted in holm(pvalues).items():
            rows[i]["p_holm"] = adjusted
    return rows
