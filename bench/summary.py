"""A quick summary of the run records in results/: mean ± std over seeds per cell.

(The ablation leaderboards with significance tests are the leaderboards issue's; this is the
plain view the README quotes.) Exercise: ``bench summary``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

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
        c = rec["config"]
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


START, END = "<!-- bench summary: start -->", "<!-- bench summary: end -->"


def replace_block(text: str, table: str) -> str:
    """`text` with the block between the summary markers replaced by `table`."""
    if START not in text or END not in text:
        raise ValueError(f"no {START} ... {END} block")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def readme_block(text: str) -> str:
    return text.split(START, 1)[1].split(END, 1)[0].strip()
