"""The ablation rows as tables: Markdown (one cell = mean ± std, n, markers, Δ), CSV (every
number in its own column), LaTeX, and the legend. Exercise: ``bench leaderboard --out DIR``.
"""

from __future__ import annotations

from typing import Any

from bench.report.leaderboard.collect import MIN_SEEDS
from bench.report.leaderboard.compare import ALPHA


def _method_order(methods: Any) -> list[str]:
    """The baseline first, then the methods alphabetically."""
    return sorted(methods, key=lambda m: (m != "baseline", m))


def _collapse_mark(row: dict[str, Any]) -> str:
    return "" if row["status"] == "ok" else (" ‡" if row["status"] == "1 collapsed" else " ✗")


def build_mark(row: dict[str, Any]) -> str:
    """§: a stage of the cell is another build of its key than most of the table's runs'."""
    return "§" if row.get("other_build") else ""


def cell_text(row: dict[str, Any]) -> str:
    text = f"{row['mean']:.2f} ± {row['std']:.2f} (n={row['seeds']})"
    if row["seeds"] < MIN_SEEDS:
        text += "†"
    text += build_mark(row) + _collapse_mark(row)
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


BUILD_LEGEND = (
    " § an adaptation stage of the cell is another build of its key (the same inputs) than the "
    "one most of the table's runs from that key used: rebuilt on another CPU, other weights "
    "(each cell's seeds share one build; `stage_build` in the CSV names it)."
)


def legend(rows: list[dict[str, Any]]) -> str:
    """The ablation legend, with the number of bootstrap resamples the rows were tested with
    (and the § mark's meaning where a cell has it)."""
    text = LEGEND.format(resamples=max((r.get("resamples", 0) for r in rows), default=0))
    return text + (BUILD_LEGEND if any(r.get("other_build") for r in rows) else "")


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
    # floats at full precision: a CSV rounded to 6 digits and then to the pages' 2 decimals
    # rounds twice (-10.83493 -> -10.835 -> -10.84) and disagrees with the page it backs
    return df.to_csv(index=False)


def _numeric(rows: list[dict[str, Any]]):
    """(backbone, setting) -> (means, texts) frames: methods × columns."""

    df = _columns(rows, " (MT)")
    df["text"] = [
        f"{r['mean']:.1f} ± {r['std']:.1f}"
        + ("*" if r.get("p_holm", 1.0) < ALPHA else "")
        + build_mark(r)
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
            .replace("§", r"\S{}")
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
