"""``bench paper``: every table specified in leaderboards/*.toml (ablation, headline, claims
or diagnostics),
regenerated from the records in all formats. A new table is a new spec. Exercise:
``bench paper --out /tmp/generated``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from bench.core.errors import BenchError
from bench.core.paths import REPO
from bench.data.language import parse_langs
from bench.data.task import parse_tasks
from bench.report.leaderboard.claims import (
    check_claims,
    claim_rows,
    claims_csv,
    claims_markdown,
)
from bench.report.leaderboard.collect import load_runs, provenance
from bench.report.leaderboard.compare import ALPHA, build, delta_variance, inputs_memo
from bench.report.leaderboard.diagnostics import (
    diagnostic_rows,
    diagnostics_csv,
    diagnostics_markdown,
)
from bench.report.leaderboard.html import html
from bench.report.leaderboard.references import references, references_markdown
from bench.report.leaderboard.render import SELECTION_TAG, csv, latex, markdown
from bench.runs.plan import skipped

SPEC_DIR = REPO / "leaderboards"


SPEC_KEYS = {"title", "kind", "backbone", "tasks", "langs", "setting", "selection", "methods"}
SPEC_KEYS |= {"metrics", "samples", "formats", "claims", "reference"}
KINDS = ("ablation", "headline", "claims", "diagnostics")


def load_spec(path: Path) -> dict[str, Any]:
    from bench.core.formats import read_spec

    spec = read_spec(path, SPEC_KEYS)
    if spec.get("kind", "ablation") not in KINDS:
        raise BenchError(f"{path}: kind must be one of {', '.join(KINDS)}")
    if spec.get("kind") == "claims":  # the claims say which tasks, settings and metrics
        claims = check_claims(spec, str(path))
        spec["tasks"] = sorted({c["task"] for c in claims})
        spec["setting"] = sorted({c["setting"] for c in claims})
        spec["selection"] = sorted({c["selection"] for c in claims})
        spec["metrics"] = sorted({m for c in claims for m in c["metrics"]})
    elif "claims" in spec:
        raise BenchError(f'{path}: [[claims]] belong to a spec of kind = "claims"')
    reference = spec.get("reference", "baseline")
    if reference != "baseline":  # the ablation pages and LaTeX say "Δ vs baseline"
        formats = set(spec.get("formats", ["md", "csv", "tex", "html"]))
        if spec.get("kind") != "headline" or formats - {"md", "csv"}:
            raise BenchError(
                f"{path}: reference = {reference!r} is for a table of kind = "
                f'"headline" in formats md and csv (it has kind = {spec.get("kind", "ablation")!r}'
                f", formats {', '.join(sorted(formats))})",
                hint='e.g. kind = "headline", formats = ["md", "csv"]',
            )
        if spec.get("methods") and reference not in spec["methods"]:
            raise BenchError(f"{path}: reference {reference!r} is not one of its methods")
    return spec


def headline(rows: list[dict[str, Any]], reference: str = "baseline") -> str:
    """Change of each method over `reference` (`build`'s rows compared with it) per language
    and averaged, absolute and relative, with a 95% interval over seeds
    (±1.96 √(s_a²/n_a + s_b²/n_b)), per backbone and metric: `full` over the baseline (the
    paper's headline), or each leave-one-out row over `full`."""
    import pandas as pd

    out = []
    for r in rows:
        if r["method"] == reference or "delta" not in r:
            continue
        base = next(
            b
            for b in rows
            if b["method"] == reference
            and all(
                b[k] == r[k] for k in ("backbone", "setting", "selection", "task", "lang", "metric")
            )
        )
        half = 1.96 * np.sqrt(delta_variance(r, base))
        out.append(
            {
                "backbone": r["backbone"],
                "method": r["method"],
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
        return f"no records of a method and `{reference}` to compare yet\n"
    df = pd.DataFrame(out)
    methods = sorted(set(df["method"]))
    keys = ["backbone", "selection", "task metric"] + (["method"] if len(methods) > 1 else [])
    table = df.pivot(index=keys, columns="lang", values="text")
    table["average Δ"] = df.groupby(keys)["delta"].mean().map("{:+.2f}".format)
    table = table.reset_index()
    table.columns.name = None
    side = f"`{methods[0]}`" if len(methods) == 1 else "the row's method"
    short = methods[0] if len(methods) == 1 else "m"
    text = HEADLINE_LEGEND.format(
        resamples=max(r.get("resamples", 0) for r in rows),
        side=side,
        short=short,
        reference="the baseline" if reference == "baseline" else f"`{reference}`",
        ref="base" if reference == "baseline" else reference,
    )
    # as text: parsed as numbers, "+5.74" would print as 5.74 and "-1.70" as -1.7
    return table.fillna("").to_markdown(index=False, disable_numparse=True) + "\n\n" + text + "\n"


HEADLINE_LEGEND = (
    "Cells: change of {side} over {reference} of the same backbone and selection, Δ ± the "
    "half-width of a 95% normal interval over seeds (1.96 √(s_{short}²/n_{short} + "
    "s_{ref}²/n_{ref})), "
    f"and the relative change; * = significant at {ALPHA} by a paired bootstrap "
    "({resamples:,} resamples) over the pooled "
    "test predictions of matching seeds after Holm's correction across the table (flores: "
    "sacreBLEU's paired bootstrap); MT = machine-translated test set; en-dev = checkpoint chosen "
    "on English dev (true zero-shot), oracle = on the target's dev set (zero-shot rows; trained "
    "in-language, target-dev is the ordinary choice). Per-seed scores, their "
    "collapse flags and ASO are in the ablation table and its CSV."
)


def paper(
    results: Path,
    root: Path | None,
    out_dir: Path,
    specs: list[Path] | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Regenerate every table of the specs (default: leaderboards/*.toml) into out_dir;
    `workers`: processes for the comparisons (`build`)."""
    from bench.runs.records import write_atomic

    written, pages = [], []
    golds = inputs_memo()  # the tables share test splits and records: each is read once
    for path in specs or sorted(SPEC_DIR.glob("*.toml")):
        spec = load_spec(path)
        runs = spec_runs(spec, results)
        compared = runs and spec.get("kind") != "diagnostics"  # no scores, no bootstrap
        samples, metrics = spec.get("samples", 1000), spec.get("metrics")
        reference = spec.get("reference", "baseline")
        rows = build(runs, root, samples, metrics, golds, workers, reference) if compared else []
        for fmt, text in outputs(spec, path, runs, rows).items():
            if fmt in spec.get("formats", ["md", "csv", "tex", "html"]):
                target = out_dir / f"{path.stem}.{fmt}"
                write_atomic(target, text.encode())
                written.append(target)
                if fmt == "html":
                    pages.append((target.name, spec["title"]))
    if pages:
        target = out_dir / "index.html"
        write_atomic(target, index_page(pages).encode())
        written.append(target)
    return written


def spec_runs(spec: dict[str, Any], results: Path) -> list:
    """The records a spec's table reads."""
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
    if spec.get("kind") == "claims":  # exactly the (task, setting, selection) of a claim
        read = {(c["task"], c["setting"], c["selection"]) for c in spec["claims"]}
        runs = [
            r
            for r in runs
            if (r.config["task"], r.config["setting"], r.config["selection"]) in read
        ]
    if spec.get("kind") in ("headline", "claims"):  # backbones with records of both sides
        have = defaultdict(set)
        for r in runs:
            have[r.config["backbone"]].add(r.config["method"])
        runs = [r for r in runs if len(have[r.config["backbone"]]) > 1]
    return runs


def outputs(spec: dict[str, Any], path: Path, runs: list, rows: list) -> dict[str, str]:
    """The table of one spec in every format it makes (format -> text)."""
    kind = spec.get("kind", "ablation")
    title = (
        f"<!-- generated by `bench paper` from {path.name}: do not edit -->\n# {spec['title']}\n\n"
    )
    footer = references_markdown(references(spec.get("tasks"), spec.get("langs")))
    footer += provenance(runs, "bench paper")
    if spec.get("langs"):  # languages a task has no data for: said, not silently absent
        langs = parse_langs(",".join(spec["langs"]))
        tasks = parse_tasks(",".join(spec["tasks"]) if spec.get("tasks") else None)
        notes = [line.removeprefix("skipped: ") for line in skipped(langs, tasks)]
        footer += "".join(f"\nNot in this table: {n}.\n" for n in notes)
    if kind == "claims":
        langs = [lang.code for lang in parse_langs(",".join(spec["langs"]))]
        found = claim_rows(rows, spec["claims"], langs, spec.get("methods") or [])
        resamples = max((r.get("resamples", 0) for r in rows), default=0)
        table = claims_markdown(found, langs, resamples)
        out = {"md": title + table + (footer if rows else "")}
        if found:
            out["csv"] = claims_csv(found)
        return out
    if kind == "diagnostics":
        langs = (
            [lang.code for lang in parse_langs(",".join(spec["langs"]))]
            if spec.get("langs")
            else []
        )
        found = diagnostic_rows(runs)
        proof = provenance(runs, "bench paper")  # no published numbers: nothing to set beside
        out = {"md": title + diagnostics_markdown(found, langs) + (proof if found else "")}
        if found:
            out["csv"] = diagnostics_csv(found)
        return out
    if not rows:  # a declared table whose grid has not run yet
        return {"md": title + "no records yet\n"}
    reference = spec.get("reference", "baseline")
    table = headline(rows, reference) if kind == "headline" else markdown(rows)
    out = {"md": title + table + footer, "csv": csv(rows), "tex": latex(rows)}
    notes = (table + footer) if kind == "headline" else footer
    out["html"] = html(rows, spec["title"], notes.strip())
    return out


def index_page(pages: list[tuple[str, str]]) -> str:
    """A page linking every generated leaderboard page."""
    import html as html_lib

    items = "".join(
        f'<li><a href="{html_lib.escape(name)}">{html_lib.escape(title)}</a></li>'
        for name, title in pages
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>lowres-bench leaderboards</title><style>body{font:15px/1.5 system-ui,sans-serif;"
        "max-width:900px;margin:2em auto;padding:0 1em}</style></head><body>"
        "<h1>lowres-bench leaderboards</h1><p>Generated by <code>bench paper</code> from the run "
        f"records in <code>results/</code>.</p><ul>{items}</ul></body></html>\n"
    )
