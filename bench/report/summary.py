"""A quick summary of the run records in results/: mean ± std over seeds per cell.

(The ablation leaderboards with significance tests are the leaderboards issue's; this is the
plain view the README quotes.) Exercise: ``bench summary``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from bench.runs.records import labelled

KEYS = ["backbone", "method", "task", "setting", "selection", "lang"]


def main_scores(record: dict[str, Any]) -> dict[str, float]:
    """The headline numbers of a record (x100): accuracy, entity F1, or BLEU/chrF++ per direction."""
    m = record["metrics"]
    if "accuracy" in m:
        return {"accuracy": 100 * m["accuracy"]}
    if "f1" in m:
        return {"f1": 100 * m["f1"]}
    lang = record["config"]["lang"]
    out = {}
    for direction, scores in m.items():
        if isinstance(scores, dict) and "bleu" in scores:
            side = "en→xx" if direction.endswith(lang) else "xx→en"
            out[f"{side} BLEU"] = scores["bleu"]
            out[f"{side} chrF++"] = scores["chrf++"]
    return out


def load_rows(results: Path) -> pd.DataFrame:
    rows = []
    for path in sorted((results / "runs").rglob("*.json")):
        rec = json.loads(path.read_text())
        c = labelled(rec["config"])  # a recipe profile's runs are rows of their own
        base = {k: c[k] for k in KEYS} | {
            "seed": c["seed"],
            "MT": rec["machine_translated_test"],
            "train_s": rec["training"]["wall_s"],
            "tokens_per_s": rec["training"]["tokens_per_s"],
        }
        for metric, value in main_scores(rec).items():
            rows.append(base | {"metric": metric, "value": value})
    return pd.DataFrame(rows)


def summary_table(results: Path) -> str:
    df = load_rows(results)
    if df.empty:
        return "no run records yet"
    grouped = df.groupby([*KEYS, "metric"], sort=True)
    table = grouped["value"].agg(["mean", "std", "count"]).reset_index()
    table["MT test"] = grouped["MT"].first().values
    table["score (mean ± std, n seeds)"] = [
        f"{r['mean']:.2f} ± {0.0 if pd.isna(r['std']) else r['std']:.2f} (n={r['count']})"
        for _, r in table.iterrows()
    ]
    table["MT test"] = table["MT test"].map({True: "MT", False: ""})
    cols = [*KEYS, "metric", "score (mean ± std, n seeds)", "MT test"]
    return table[cols].to_markdown(index=False)


def perf_table(results: Path) -> str:
    """Every throughput measurement in results/perf/ (benchmarks/throughput.py), one row per
    task and precision: tokens/s of the suite and of transformers.Trainer, their ratios,
    padding efficiency, model FLOPs utilisation and, for backbones that compact their
    vocabulary, the ratio of the suite with that default to the same tuned Trainer."""
    rows = []
    for path in sorted((results / "perf").glob("throughput-*.json")):
        rep = json.loads(path.read_text())
        for task in rep["tasks"]:
            for precision in ("fp32", "amp-bf16", "bf16"):
                if precision not in task:
                    continue
                r = task[precision]
                rows.append(
                    {
                        "file": path.name,
                        "commit": rep["environment"]["git"]["commit"][:8]
                        + ("+dirty" if rep["environment"]["git"]["dirty"] else ""),
                        "cpu": rep["environment"]["hardware"]["cpu"],
                        "threads": rep["threads"],
                        "task": task["task"],
                        "precision": precision,
                        "suite tok/s": round(r["suite"]["tokens_per_s"]),
                        "Trainer (example) tok/s": round(r["hf-example"]["tokens_per_s"]),
                        "Trainer (tuned) tok/s": round(r["hf-tuned"]["tokens_per_s"]),
                        "× example": f"{r['speedup_vs_hf-example']:.2f}",
                        "× tuned": f"{r['speedup_vs_hf-tuned']:.2f}",
                        "padding suite / example / tuned": " / ".join(
                            f"{100 * r[k]['padding_efficiency']:.1f}%"
                            for k in ("suite", "hf-example", "hf-tuned")
                        ),
                        "MFU (suite)": f"{100 * r['suite']['mfu']:.1f}%",
                        # the suite as `bench run` trains a compact-vocabulary backbone
                        "× tuned, suite defaults": (
                            f"{r['defaults_speedup_vs_hf-tuned']:.2f}"
                            if "suite-defaults" in r
                            else "-"
                        ),
                    }
                )
    if not rows:
        return "no throughput measurements yet"
    return pd.DataFrame(rows).to_markdown(index=False)


def cost_block(results: Path, specs: list[Path]) -> str:
    """What each sweep spec's finished trainings and their stages cost (README "Budgets")."""
    from bench.core.paths import REPO
    from bench.runs.cost import grid_cost
    from bench.runs.grid import load_spec

    parts = []
    for path in specs:
        spec = load_spec(path)  # a search's records live in their own folder
        rows = grid_cost(spec, REPO / spec.results if spec.results else results)
        body = pd.DataFrame(rows).to_markdown(index=False) if rows else "nothing run yet"
        parts.append(f"`{path.name}` (hours of one worker, measured):\n\n{body}")
    return "\n\n".join(parts)


START, END = "<!-- bench summary: start -->", "<!-- bench summary: end -->"
PERF = ("<!-- bench perf: start -->", "<!-- bench perf: end -->")
ABLATION = ("<!-- bench ablation: start -->", "<!-- bench ablation: end -->")
COST = ("<!-- bench cost: start -->", "<!-- bench cost: end -->")
GRIDS = (  # relative to the repository
    "sweeps/offline.toml",
    "sweeps/new-languages.toml",
    "sweeps/me5-baseline.toml",
    "sweeps/me5-search.toml",
    "sweeps/me5-ablation.toml",
    "sweeps/me5-leave-one-out.toml",
)


def ablation_block(generated: Path) -> str:
    """The ablation table `bench paper` wrote (leaderboards/generated/ablation.md), without
    its title, for the README."""
    path = generated / "ablation.md"
    if not path.is_file():
        return "no ablation table yet: run `bench paper`"
    lines = path.read_text(encoding="utf-8").splitlines()
    body = [line for line in lines if not line.startswith(("<!--", "# "))]
    return "\n".join(body).strip()


def replace_block(text: str, table: str, markers: tuple[str, str] = (START, END)) -> str:
    """`text` with the block between the markers replaced by `table`."""
    start, end = markers
    if start not in text or end not in text:
        raise ValueError(f"no {start} ... {end} block")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{table}\n{end}{tail}"


def readme_block(text: str, markers: tuple[str, str] = (START, END)) -> str:
    return text.split(markers[0], 1)[1].split(markers[1], 1)[0].strip()
