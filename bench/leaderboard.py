"""Ablation leaderboards from the run records in results/: a deterministic function of them.

Rows are methods, columns task × language (× metric for flores), each cell the mean ± std over
seeds with the seed count; every method is compared with the baseline of the same backbone,
setting and selection: absolute and relative change, a paired bootstrap over test examples
on the pooled predictions of matching seeds (sacreBLEU's for BLEU/chrF++), Almost Stochastic
Order over the seeds, and Holm's correction across the table's comparisons.

Honesty checks: records of one cell that disagree on config (other than seed) are refused;
two records of different models or seeds with byte-identical predictions are an error; runs
at chance or a task floor are flagged as collapsed (MLPerf's rule: one may be excluded, more
make the row invalid); rows with fewer than five seeds and machine-translated test sets are
marked. Exercise: ``bench leaderboard --backbone tiny_xlmr``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError, did_you_mean
from bench.results import read_predictions

MIN_SEEDS = 5
# A run is collapsed at or below its task's floor: XNLI within a point of chance (3 classes),
# entity F1 of 1, chrF++ of 2 (characters matched by accident), BLEU of 0.5.
FLOOR = {"xnli": 100 / 3 + 1.0, "masakhaner": 1.0, "flores": 2.0, "flores BLEU": 0.5}
ALPHA = 0.05
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
    stages: tuple = ()  # (method, weights sha256) of the adaptation stages it used
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
    from bench.backbone import backbones
    from bench.language import parse_langs
    from bench.runner import SELECTIONS
    from bench.task import parse_setting, parse_tasks

    out = dict(filters)
    if filters.get("tasks"):
        out["tasks"] = [t.name for t in parse_tasks(",".join(filters["tasks"]))]
    if filters.get("langs"):
        out["langs"] = [lang.code for lang in parse_langs(",".join(filters["langs"]))]
    for name in filters.get("backbone") or []:
        if name not in backbones() and not Path(name).is_dir():
            backbones().get(name)  # raises the did-you-mean error
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
        c = rec["config"]
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
                tuple(
                    sorted(
                        (m, r.get("weights_sha256"))
                        for m, r in rec.get("method_reports", {}).items()
                        if isinstance(r, dict) and r.get("weights_sha256")
                    )
                ),
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


def constant(predictions: Any) -> bool:
    """Whether a run predicted one and the same thing for every test example (a label, a tag
    sequence of one tag, a translation): what a collapsed model does."""
    if isinstance(predictions, dict):  # flores: direction -> hypotheses
        return all(len(set(hyps)) <= 1 for hyps in predictions.values())
    flat = [x for p in predictions for x in (p if isinstance(p, list) else [p])]
    return len(set(flat)) <= 1


def check_integrity(runs: list[Run]) -> None:
    """Refuse inconsistent cells and duplicated predictions, with the files named."""
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
            and not constant(_predictions(run.path))
        ):
            raise BenchError(
                f"{run.path} and {other.path} have byte-identical predictions but are different "
                "models or seeds",
                hint="a provenance failure (a copied result file?): rerun one of them",
            )
        seen.setdefault(run.predictions_sha, run)
    weights: dict[str, Run] = {}
    for run in runs:  # methods are compared with baselines of the very same weights
        other = weights.setdefault(run.config["backbone"], run)
        if other.weights != run.weights:
            raise BenchError(
                f"{run.path} and {other.path} were fine-tuned from different weights of backbone "
                f"{run.config['backbone']} ({str(run.weights)[:12]} vs {str(other.weights)[:12]})",
                hint="a rebuilt backbone: rerun the older records on the committed build in "
                "results/backbones/, or remove them",
            )
    stages: dict[tuple, Run] = {}
    for run in runs:  # every seed of a method adapted from the very same stage weights
        c = run.config  # (records written before stages were checksummed cannot be checked)
        for stage, sha in run.stages:
            key = (c["backbone"], c["method"], str(c.get("adapted_to")), stage)
            other = stages.setdefault(key, run)
            if dict(other.stages)[stage] == sha:
                continue
            raise BenchError(
                f"{run.path} and {other.path} used different weights of the adaptation stages "
                f"of {c['method']} ({stage}; a stage rebuilt on another machine?)",
                hint="rerun the records of one of the builds so that a method's runs share them",
            )
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


@dataclass
class Comparison:
    p_bootstrap: float
    aso_eps: float | None
    p_adjusted: float = 1.0


@lru_cache(maxsize=64)
def _predictions(path: Path) -> Any:
    """A record's predictions, read once per build (flores compares four metrics per cell;
    the baseline's are compared with every method). Records are immutable: the id is a hash."""
    return read_predictions(path)


def _common_seeds(runs_a: list[Run], runs_b: list[Run]) -> list[int]:
    """The seeds both sides have: comparisons pool the predictions of these, in seed order."""
    return sorted({r.config["seed"] for r in runs_a} & {r.config["seed"] for r in runs_b})


_COUNTS: dict[tuple, Any] = {}  # per build: entity counts, sacreBLEU statistics, gold entities


def _entity_counts(path: Path, gold: list) -> np.ndarray:
    """A record's per-sentence entity counts against its gold tags, once per build (the
    baseline's are compared with every method's); `build` empties the memo."""
    from bench.significance import entity_counts, entity_sets

    key, gold_key = (path, id(gold)), ("gold entities", id(gold))
    if gold_key not in _COUNTS:
        _COUNTS[gold_key] = entity_sets(gold)
    if key not in _COUNTS:
        _COUNTS[key] = entity_counts(gold, _predictions(path), _COUNTS[gold_key])
    return _COUNTS[key]


def _translation_stats(path: Path, gold: dict, direction: str, name: str) -> np.ndarray:
    """A record's per-sentence sacreBLEU statistics in one direction, once per build."""
    from bench.significance import translation_stats

    key = (path, id(gold), direction, name)
    if key not in _COUNTS:
        _COUNTS[key] = translation_stats(name, _predictions(path)[direction], gold[direction])
    return _COUNTS[key]


def _matching(cell: Cell, seeds: list[int]) -> list[Run]:
    by_seed = {r.config["seed"]: r for r in cell.runs}
    return [by_seed[s] for s in seeds]


_COMPARISONS: dict[tuple, Comparison] = {}


def compare(method: Cell, baseline: Cell, metric: int, gold: Any, n: int) -> Comparison:
    """Method vs baseline on one column: paired bootstrap on pooled matching seeds + ASO.

    Memoised by the records (path and predictions checksum), so the headline table reuses
    the ablation table's comparisons in `bench paper`."""
    key = tuple((r.path, r.predictions_sha) for r in method.runs + baseline.runs)
    key += (len(method.runs), metric, n)
    if key not in _COMPARISONS:
        _COMPARISONS[key] = _compare(method, baseline, metric, gold, n)
    return _COMPARISONS[key]


def _compare(method: Cell, baseline: Cell, metric: int, gold: Any, n: int) -> Comparison:
    from bench import significance as sig

    task, lang = method.runs[0].config["task"], method.runs[0].config["lang"]
    seeds = _common_seeds(method.runs, baseline.runs)
    if not seeds:
        p = float("nan")
    elif task == "xnli":

        def labels(cell: Cell) -> list:  # predicted labels pooled over matching seeds
            return [x for r in _matching(cell, seeds) for x in _predictions(r.path)]

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
    from bench.task import get_task

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


def build(
    runs: list[Run], root: Path | None, samples: int = 1000, metrics: list[str] | None = None
) -> list[dict[str, Any]]:
    """One row per (backbone, setting, selection, method, column) with its statistics and,
    for methods, the comparison with the baseline (Holm-adjusted within each table)."""
    check_integrity(runs)
    _COUNTS.clear()  # keyed by the gold lists of this build
    cells: dict[tuple, Cell] = defaultdict(Cell)
    for run in runs:
        cells[run.cell].runs.append(run)
    rows: list[dict[str, Any]] = []
    golds: dict[tuple, Any] = {}
    for (backbone, setting, selection, method, task, lang), cell in sorted(cells.items()):
        for metric, (label, _) in enumerate(METRICS[task]):
            if metrics is not None and label not in metrics:
                continue
            scores = cell.scores(metric)
            state = status(task, scores, metric)
            kept_scores = kept(task, scores, metric)
            row: dict[str, Any] = {
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
                "status": state,
                "mt": cell.runs[0].mt,
            }
            base = cells.get((backbone, setting, selection, "baseline", task, lang))
            if method != "baseline" and base is not None:
                key = (task, lang, setting)
                if key not in golds:
                    golds[key] = gold_of(task, lang, setting, root)
                cmp = compare(cell, base, metric, golds[key], samples)
                base_mean = float(np.mean(kept(task, base.scores(metric), metric)))
                delta = row["mean"] - base_mean  # between the means the table shows
                row.update(
                    delta=delta,
                    relative=100 * delta / base_mean if base_mean else float("nan"),
                    p=cmp.p_bootstrap,
                    aso=cmp.aso_eps,
                    resamples=samples,
                )
            rows.append(row)
    from bench.significance import holm

    tables = defaultdict(dict)
    for i, row in enumerate(rows):
        if "p" in row and not np.isnan(row["p"]):
            tables[(row["backbone"], row["setting"])][i] = row["p"]  # one family per table
    for pvalues in tables.values():
        for i, adjusted in holm(pvalues).items():
            rows[i]["p_holm"] = adjusted
    return rows


def _method_order(methods: Any) -> list[str]:
    """The baseline first, then the methods alphabetically."""
    return sorted(methods, key=lambda m: (m != "baseline", m))


def _collapse_mark(row: dict[str, Any]) -> str:
    return "" if row["status"] == "ok" else (" ‡" if row["status"] == "1 collapsed" else " ✗")


def cell_text(row: dict[str, Any]) -> str:
    text = f"{row['mean']:.2f} ± {row['std']:.2f} (n={row['seeds']})"
    if row["seeds"] < MIN_SEEDS:
        text += "†"
    text += _collapse_mark(row)
    if "delta" in row:
        mark = "*" if row.get("p_holm", 1.0) < ALPHA else ""
        text += f" [{row['delta']:+.2f}, {row['relative']:+.1f}%{mark}]"
    return text


SELECTION_TAG = {"source-dev": " [en-dev]", "target-dev": " [oracle]", "last": " [last]"}


def _selection_tag(setting: str, selection: str) -> str:
    """Zero-shot columns say how the checkpoint was chosen: on English dev (true zero-shot)
    or on the target's dev set (an oracle no zero-shot user has); both sit side by side."""
    return "" if setting == "in-language" else SELECTION_TAG.get(selection, f" [{selection}]")


def _columns(rows: list[dict[str, Any]], mt_mark: str):
    import pandas as pd

    df = pd.DataFrame(rows)
    df["tag"] = [_selection_tag(r["setting"], r["selection"]) for r in rows]
    df["column"] = (
        (df["task"] + " " + df["lang"] + df["mt"].map({True: mt_mark, False: ""}) + " ")
        + df["metric"]
        + df["tag"]
    )
    return df


def ablation_frame(rows: list[dict[str, Any]]):
    """Methods × (task lang metric [selection]) text table per (backbone, setting), with a
    per-task average column per selection: the mean of the language means over the languages
    every row has (named in the header), so rows are averaged over the same languages."""
    df = _columns(rows, " MT")
    df["text"] = [cell_text(r) for r in rows]
    out = {}
    for key, part in df.groupby(["backbone", "setting"], sort=True):
        table = part.pivot(index="method", columns="column", values="text")
        for (task, metric, tag), group in part.groupby(["task", "metric", "tag"]):
            langs = set.intersection(*(set(g["lang"]) for _, g in group.groupby("method")))
            if not langs:  # no language that every row has: no comparable average
                continue
            common = group[group["lang"].isin(langs)]
            column = f"{task} avg({','.join(sorted(langs))}) {metric}{tag}"
            table[column] = common.groupby("method")["mean"].mean().map("{:.2f}".format)
        out[key] = table.reindex(_method_order(table.index)).fillna("")
    return out


LEGEND = (
    "Cells: mean ± std over seeds (n = seeds); [Δ vs baseline, relative %]; * = significant at "
    f"{ALPHA} after Holm's correction across the table's comparisons, by a paired bootstrap "
    "({resamples:,} resamples) over the pooled test predictions of matching seeds (flores: sacreBLEU's "
    "paired bootstrap on the metric); ASO ε_min over seeds is in the CSV. † fewer than "
    f"{MIN_SEEDS} seeds; ‡ one collapsed run excluded (MLPerf rule); ✗ more than one collapsed "
    "run, or every run: the cell is invalid (its mean includes them); MT = machine-translated test set. Zero-shot checkpoints are "
    "chosen on English dev [en-dev] (true zero-shot) or on the target's dev set [oracle]. "
    "avg(langs) = mean of the language means over the languages every row has."
)


def legend(rows: list[dict[str, Any]]) -> str:
    """The ablation legend, with the number of bootstrap resamples the rows were tested with."""
    return LEGEND.format(resamples=max((r.get("resamples", 0) for r in rows), default=0))


def markdown(rows: list[dict[str, Any]]) -> str:
    parts = []
    for (backbone, setting), table in ablation_frame(rows).items():
        parts.append(f"### {backbone} · {setting}\n")
        parts.append(table.to_markdown())
        parts.append("")
    parts.append(legend(rows))
    return "\n".join(parts) + "\n"


def csv(rows: list[dict[str, Any]]) -> str:
    import pandas as pd

    df = pd.DataFrame(rows)
    df["scores"] = df["scores"].map(lambda s: " ".join(f"{x:.4f}" for x in s))
    return df.to_csv(index=False, float_format="%.6g")


def _numeric(rows: list[dict[str, Any]]):
    """(backbone, setting) -> (means, texts) frames: methods × columns."""

    df = _columns(rows, " (MT)")
    df["text"] = [
        f"{r['mean']:.1f} ± {r['std']:.1f}"
        + ("*" if r.get("p_holm", 1.0) < ALPHA else "")
        + _collapse_mark(r)
        for r in rows
    ]
    out = {}
    for key, part in df.groupby(["backbone", "setting"], sort=True):
        means = part.pivot(index="method", columns="column", values="mean")
        texts = part.pivot(index="method", columns="column", values="text").fillna("")
        order = _method_order(means.index)
        out[key] = (means.reindex(order), texts.reindex(order))
    return out


def latex(rows: list[dict[str, Any]]) -> str:
    """booktabs tables, best mean per column bold, second underlined."""

    def esc(text: str) -> str:
        return (
            text.replace("_", r"\_")
            .replace("%", r"\%")
            .replace("±", r"$\pm$")
            .replace("→", r"$\to$")
            .replace("‡", r"$^\ddagger$")
            .replace("✗", r"$^\times$")
        )

    parts = []
    for (backbone, setting), (means, texts) in _numeric(rows).items():
        cols = list(means.columns)
        lines = [
            r"\begin{table}[t]",
            r"\centering\small",
            rf"\caption{{{esc(backbone)}, {esc(setting)}}}",
            r"\begin{tabular}{l" + "c" * len(cols) + "}",
            r"\toprule",
            "Method & " + " & ".join(esc(c) for c in cols) + r" \\",
            r"\midrule",
        ]
        for method in means.index:
            cells = []
            for col in cols:
                text = esc(texts.loc[method, col])
                ranked = means[col].dropna().sort_values(ascending=False)
                if len(ranked) > 1 and method == ranked.index[0]:
                    text = rf"\textbf{{{text}}}"
                elif len(ranked) > 2 and method == ranked.index[1]:
                    text = rf"\underline{{{text}}}"
                cells.append(text)
            lines.append(esc(method) + " & " + " & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
        parts.append("\n".join(lines))
    parts.append("% " + esc(legend(rows)))
    return "\n".join(parts) + "\n"


def chart_png(rows: list[dict[str, Any]]) -> bytes | None:
    """Per-language change over the baseline for each method (one panel per task metric)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    changes = [r for r in rows if "delta" in r]
    if not changes:
        return None
    panels = sorted({(r["task"], r["metric"]) for r in changes})
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2), squeeze=False)
    for ax, (task, metric) in zip(axes[0], panels, strict=True):
        mine = [r for r in changes if (r["task"], r["metric"]) == (task, metric)]
        methods = sorted({r["method"] for r in mine})
        langs = sorted({r["lang"] for r in mine})
        width = 0.8 / max(1, len(methods))
        for i, method in enumerate(methods):
            values = [
                next((r["delta"] for r in mine if r["method"] == method and r["lang"] == lang), 0)
                for lang in langs
            ]
            ax.bar([x + i * width for x in range(len(langs))], values, width, label=method)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks([x + width * (len(methods) - 1) / 2 for x in range(len(langs))], langs)
        ax.set_title(f"{task} {metric}: Δ vs baseline", fontsize=9)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def html(rows: list[dict[str, Any]]) -> str:
    """One self-contained page: every table, the legend, and the chart (inline PNG)."""
    import base64
    import html as html_lib

    body = ["<h1>lowres-bench ablation</h1>"]
    for (backbone, setting), table in ablation_frame(rows).items():
        body.append(f"<h2>{html_lib.escape(f'{backbone} · {setting}')}</h2>")
        body.append(table.to_html(escape=True))
    png = chart_png(rows)
    if png is not None:
        data = base64.b64encode(png).decode()
        body.append(
            f'<h2>Change over baseline</h2><img alt="change over baseline" src="data:image/png;base64,{data}">'
        )
    body.append(f"<p>{html_lib.escape(legend(rows))}</p>")
    style = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>lowres-bench ablation</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


# --- published reference rows ----------------------------------------------------------------

REFERENCES = Path(__file__).resolve().parents[1] / "baselines" / "published" / "references.toml"


def references(
    tasks: list[str] | None = None, langs: list[str] | None = None, path: Path = REFERENCES
) -> list[dict[str, Any]]:
    """Published numbers (baselines/published/references.toml) for these tasks and languages;
    rows without values carry only their caveat."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise BenchError(f"{path}: malformed TOML: {err}") from None
    out = []
    for i, ref in enumerate(data.get("reference", [])):
        missing = {"model", "task", "metric", "values", "source"} - set(ref)
        if missing:
            raise BenchError(f"{path}: reference {i + 1} lacks {', '.join(sorted(missing))}")
        if tasks is not None and ref["task"] not in tasks:
            continue
        values = {k: v for k, v in ref["values"].items() if langs is None or k in langs}
        if ref["values"] and not values:
            continue
        out.append({**ref, "values": values})
    return out


def references_markdown(refs: list[dict[str, Any]]) -> str:
    """The published rows as their own, clearly marked table (never in the suite's means)."""
    import pandas as pd

    if not refs:
        return ""
    rows = []
    for ref in refs:
        std = ref.get("std", {})
        cells = [
            f"{lang} {v:.2f}" + (f" ± {std[lang]:.2f}" if lang in std else "")
            for lang, v in sorted(ref["values"].items())
        ]
        rows.append(
            {
                "model": ref["model"],
                "task": f"{ref['task']} ({ref.get('setting', '')})",
                "metric": ref["metric"],
                "published": ", ".join(cells) or "—",
                "source": ref["source"],
                "caveat": ref.get("caveat", ""),
            }
        )
    return (
        "\n**Published reference numbers** (from the papers, not runs of this suite; not part "
        "of any mean, Δ or test above):\n\n" + pd.DataFrame(rows).to_markdown(index=False) + "\n"
    )


# --- table specs and paper tables -----------------------------------------------------------

SPEC_DIR = Path(__file__).resolve().parents[1] / "leaderboards"
SPEC_KEYS = {"title", "kind", "backbone", "tasks", "langs", "setting", "selection", "methods"}
SPEC_KEYS |= {"metrics", "samples", "formats"}


def load_spec(path: Path) -> dict[str, Any]:
    from bench.formats import read_spec

    spec = read_spec(path, SPEC_KEYS)
    if spec.get("kind", "ablation") not in ("ablation", "headline"):
        raise BenchError(f"{path}: kind must be 'ablation' or 'headline'")
    return spec


def headline(rows: list[dict[str, Any]], method: str = "full") -> str:
    """Change of `method` over the baseline per language and averaged, absolute and relative,
    with a 95% interval over seeds (±1.96 √(s_a²/n_a + s_b²/n_b)), per backbone and metric."""
    import pandas as pd

    out = []
    for r in rows:
        if r["method"] != method or "delta" not in r:
            continue
        base = next(
            b
            for b in rows
            if b["method"] == "baseline"
            and all(
                b[k] == r[k] for k in ("backbone", "setting", "selection", "task", "lang", "metric")
            )
        )
        half = 1.96 * np.sqrt(r["std"] ** 2 / r["seeds"] + base["std"] ** 2 / base["seeds"])
        out.append(
            {
                "backbone": r["backbone"],
                # zero-shot: English dev (true zero-shot) or the target's (an oracle); trained
                # in-language, the target's dev set is simply the dev set
                "selection": SELECTION_TAG.get(r["selection"], r["selection"]).strip(" []")
                if r["setting"] == "zero-shot"
                else r["selection"],
                "task metric": f"{r['task']} {r['metric']}",
                "lang": r["lang"] + (" (MT)" if r["mt"] else ""),
                "delta": r["delta"],
                "text": f"{r['delta']:+.2f} ± {half:.2f} ({r['relative']:+.1f}%)"
                + ("*" if r.get("p_holm", 1.0) < ALPHA else ""),
            }
        )
    if not out:
        return f"no `{method}` and `baseline` records to compare yet\n"
    df = pd.DataFrame(out)
    keys = ["backbone", "selection", "task metric"]
    table = df.pivot(index=keys, columns="lang", values="text")
    table["average Δ"] = df.groupby(keys)["delta"].mean().map("{:+.2f}".format)
    table = table.reset_index()
    table.columns.name = None
    text = HEADLINE_LEGEND.format(resamples=max(r.get("resamples", 0) for r in rows))
    return table.fillna("").to_markdown(index=False) + "\n\n" + text + "\n"


HEADLINE_LEGEND = (
    "Cells: change of `full` over the baseline of the same backbone and selection, Δ ± the "
    "half-width of a 95% normal interval over seeds (1.96 √(s_full²/n_full + s_base²/n_base)), "
    f"and the relative change; * = significant at {ALPHA} by a paired bootstrap "
    "({resamples:,} resamples) over the pooled "
    "test predictions of matching seeds after Holm's correction across the table (flores: "
    "sacreBLEU's paired bootstrap); MT = machine-translated test set; en-dev = checkpoint chosen "
    "on English dev (true zero-shot), oracle = on the target's dev set (zero-shot rows; trained "
    "in-language, target-dev is the ordinary choice). Per-seed scores, their "
    "collapse flags and ASO are in the ablation table and its CSV."
)


def paper(
    results: Path, root: Path | None, out_dir: Path, specs: list[Path] | None = None
) -> list[Path]:
    """Regenerate every table of the specs (default: leaderboards/*.toml) into out_dir."""
    from bench.results import write_atomic

    written = []
    for path in specs or sorted(SPEC_DIR.glob("*.toml")):
        spec = load_spec(path)
        runs = load_runs(
            results,
            backbone=spec.get("backbone"),
            tasks=spec.get("tasks"),
            langs=spec.get("langs"),
            setting=spec.get("setting"),
            selection=spec.get("selection"),
        )
        if spec.get("methods"):
            runs = [r for r in runs if r.config["method"] in spec["methods"]]
        if spec.get("kind") == "headline":  # backbones with records of both sides only
            have = defaultdict(set)
            for r in runs:
                have[r.config["backbone"]].add(r.config["method"])
            runs = [r for r in runs if len(have[r.config["backbone"]]) > 1]
        rows = build(runs, root, spec.get("samples", 1000), spec.get("metrics")) if runs else []
        title = f"<!-- generated by `bench paper` from {path.name}: do not edit -->\n# {spec['title']}\n\n"
        outputs = {}
        footer = references_markdown(references(spec.get("tasks"), spec.get("langs")))
        footer += provenance(runs, "bench paper")
        if spec.get("langs"):  # languages a task has no data for: said, not silently absent
            from bench.plan import skipped

            tasks = ",".join(spec["tasks"]) if spec.get("tasks") else None
            notes = [
                line.removeprefix("skipped: ") for line in skipped(",".join(spec["langs"]), tasks)
            ]
            footer += "".join(f"\nNot in this table: {n}.\n" for n in notes)
        if spec.get("kind", "ablation") == "headline":
            outputs["md"] = title + (headline(rows) + footer if rows else "no records yet\n")
        else:
            outputs["md"] = title + (markdown(rows) + footer if rows else "no records yet\n")
            if rows:
                outputs["csv"] = csv(rows)
                outputs["tex"] = latex(rows)
                outputs["html"] = html(rows)
        for fmt, text in outputs.items():
            if fmt in spec.get("formats", ["md", "csv", "tex", "html"]):
                target = out_dir / f"{path.stem}.{fmt}"
                write_atomic(target, text.encode())
                written.append(target)
    return written
