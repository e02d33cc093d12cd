"""The ablation rows as a leaderboard page a researcher reads: one self-contained HTML file (inline
CSS, a few lines of inline JS, an inline SVG chart; no network), one view per (backbone, task,
setting, selection, metric) chosen with a control; methods as rows, languages (+ average) as
columns; each cell the mean over seeds with its Δ vs the baseline coloured by sign and
significance; per-seed values, std, n and p (Holm) on hover; columns sortable; the chart, the
legend and the provenance under the table. Exercise: ``bench paper`` then open
``leaderboards/generated/ablation.html``.
"""

from __future__ import annotations

import html as html_lib
import math
from collections import defaultdict
from typing import Any

from bench.report.leaderboard.collect import METRICS, MIN_SEEDS
from bench.report.leaderboard.compare import ALPHA
from bench.report.leaderboard.render import BUILD_LEGEND, SELECTION_TAG, _method_order, build_mark

PALETTE = ("#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5")
TASK_ORDER = {task: i for i, task in enumerate(METRICS)}
SELECTION_ORDER = {"source-dev": 0, "target-dev": 1, "last": 2}


def _view_key(key: tuple) -> tuple:
    backbone, task, setting, selection, metric = key
    metrics = [label for label, _ in METRICS[task]]
    return (
        backbone,
        TASK_ORDER.get(task, 99),
        setting,
        SELECTION_ORDER.get(selection, 9),
        metrics.index(metric) if metric in metrics else 99,
    )


PAGE_LEGEND = (
    "Cells: the mean over seeds; the small number is the change over the baseline of the same "
    "backbone, setting and selection (green above it, red below; shaded and * = significant at "
    f"{ALPHA} after Holm's correction across the table's comparisons, by a paired bootstrap over "
    "the pooled test predictions of matching seeds, {resamples:,} resamples; flores: sacreBLEU's "
    "paired bootstrap). Bold: the best valid mean of the column. Hover a cell for its seeds' "
    "values, std, n, p and ASO ε_min. ‡ one collapsed run excluded (MLPerf rule); ✗ greyed: more "
    "than one collapsed run, the cell is invalid; MT: machine-translated test set; cells of fewer "
    f"than {MIN_SEEDS} seeds say so on hover. Zero-shot checkpoints are chosen on English dev "
    "[en-dev] (true zero-shot) or on the target's dev set [oracle]. avg: the mean of the "
    "language means over the languages every row has (named on hover)."
)


def views(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One view per (backbone, task, setting, selection, metric): its languages, methods, cells
    by (method, language), and the average over the languages every method has."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["backbone"], r["task"], r["setting"], r["selection"], r["metric"])].append(r)
    out = []
    for key in sorted(groups, key=_view_key):
        part = groups[key]
        langs = sorted({r["lang"] for r in part})
        methods = _method_order({r["method"] for r in part})
        cells = {(r["method"], r["lang"]): r for r in part}
        common = [
            lang for lang in langs if all((m, lang) in cells for m in methods)
        ]  # rows are averaged over the same languages
        avg = {m: sum(cells[(m, lang)]["mean"] for lang in common) / len(common) for m in methods}
        out.append(
            {
                "key": key,
                "id": "v" + str(len(out)),
                "langs": langs,
                "mt": sorted({r["lang"] for r in part if r["mt"]}),
                "methods": methods,
                "cells": cells,
                "common": common if len(common) > 1 else [],
                "avg": avg if len(common) > 1 else {},
            }
        )
    return out


def view_label(view: dict[str, Any]) -> str:
    backbone, task, setting, selection, metric = view["key"]
    tag = "" if setting == "in-language" else SELECTION_TAG.get(selection, f" [{selection}]")
    return f"{backbone} · {task} · {setting}{tag} · {metric}"


def _fmt(x: float, plus: bool = False) -> str:
    return f"{x:+.2f}" if plus else f"{x:.2f}"


def _tone(row: dict[str, Any]) -> str:
    """CSS classes of a cell: its status, and its change's sign and significance."""
    classes = []
    if row["status"] != "ok" and row["status"] != "1 collapsed":
        classes.append("invalid")
    if "delta" in row and not math.isnan(row["delta"]):
        classes.append("up" if row["delta"] > 0 else "down" if row["delta"] < 0 else "flat")
        if row.get("p_holm", 1.0) < ALPHA:
            classes.append("sig")
    return " ".join(classes)


def _hover(row: dict[str, Any]) -> str:
    seeds = ", ".join(f"{s:.2f}" for s in row["scores"])
    lines = [f"seeds: {seeds}", f"mean {row['mean']:.4f}, std {row['std']:.2f}, n={row['seeds']}"]
    if row["seeds"] < MIN_SEEDS:
        lines[-1] += f" (fewer than {MIN_SEEDS} seeds)"
    if row["status"] != "ok":
        lines.append(f"collapsed: {row['status']}")
    if "delta" in row:
        lines.append(f"Δ vs baseline {row['delta']:+.2f} ({row['relative']:+.1f}%)")
        holm = row.get("p_holm")
        p = f"p = {row['p']:.4g}" + (f", Holm {holm:.4g}" if holm is not None else "")
        lines.append(p + f" ({row.get('resamples', 0):,} bootstrap resamples)")
        if row.get("aso") is not None and not math.isnan(row["aso"]):
            lines.append(f"ASO ε_min {row['aso']:.3f}")
    return "\n".join(lines)


def _mark(row: dict[str, Any]) -> str:
    return build_mark(row) + {"ok": "", "1 collapsed": "‡"}.get(row["status"], "✗")


def _best(view: dict[str, Any], lang: str) -> float | None:
    valid = [
        r["mean"]
        for m in view["methods"]
        if (r := view["cells"].get((m, lang))) is not None and "invalid" not in _tone(r)
    ]
    return max(valid) if valid else None


def _table(view: dict[str, Any]) -> str:
    e = html_lib.escape
    head = ['<th class="method" data-sort="text">method</th>']
    for lang in view["langs"]:
        flag = (
            ' <span class="mt" title="machine-translated test set">MT</span>'
            if lang in view["mt"]
            else ""
        )
        head.append(f'<th data-sort="num">{e(lang)}{flag}</th>')
    if view["avg"]:
        names = ",".join(view["common"])
        head.append(f'<th data-sort="num" title="mean of the language means: {e(names)}">avg</th>')
    body = []
    bests = {lang: _best(view, lang) for lang in view["langs"]}
    base_avg = view["avg"].get("baseline")
    best_avg = max(view["avg"].values()) if view["avg"] else None
    for method in view["methods"]:
        tds = [f'<th class="method" scope="row">{e(method)}</th>']
        for lang in view["langs"]:
            row = view["cells"].get((method, lang))
            if row is None:
                tds.append('<td class="empty" data-v="">–</td>')
                continue
            best = " best" if bests[lang] is not None and row["mean"] == bests[lang] else ""
            delta = ""
            if "delta" in row:
                star = "*" if row.get("p_holm", 1.0) < ALPHA else ""
                delta = f'<span class="d">{_fmt(row["delta"], True)}{star}</span>'
            mark = f'<span class="mk">{_mark(row)}</span>' if _mark(row) else ""
            tds.append(
                f'<td class="cell {_tone(row)}{best}" data-v="{row["mean"]:.6f}" '
                f'data-method="{e(method)}" data-lang="{e(lang)}" title="{e(_hover(row))}">'
                f'<span class="m">{_fmt(row["mean"])}</span>{mark}{delta}</td>'
            )
        if view["avg"]:
            value = view["avg"][method]
            best = " best" if value == best_avg else ""
            delta = sign = ""
            if method != "baseline" and base_avg is not None:
                change = value - base_avg
                sign = " up" if change > 0 else " down" if change < 0 else ""
                delta = f'<span class="d">{_fmt(change, True)}</span>'
            tds.append(
                f'<td class="cell avg{sign}{best}" data-v="{value:.6f}" data-method="{e(method)}" '
                f'data-lang="avg" data-langs="{e(",".join(view["common"]))}">'
                f'<span class="m">{_fmt(value)}</span>{delta}</td>'
            )
        cls = ' class="baseline"' if method == "baseline" else ""
        body.append(f"<tr{cls}>{''.join(tds)}</tr>")
    return (
        f'<table class="board"><thead><tr>{"".join(head)}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _chart(view: dict[str, Any]) -> str:
    """Grouped bars per language: each method's Δ vs the baseline (or, with the baseline
    alone, its mean), an inline SVG with its legend as HTML under it."""
    methods = [m for m in view["methods"] if m != "baseline"] or view["methods"]
    deltas = any("delta" in r for r in view["cells"].values())
    what = "Δ vs baseline" if deltas else "mean"

    def value(m: str, lang: str) -> float | None:
        r = view["cells"].get((m, lang))
        if r is None:
            return None
        v = r.get("delta") if deltas else r["mean"]
        return None if v is None or math.isnan(v) else v

    values = [v for m in methods for lang in view["langs"] if (v := value(m, lang)) is not None]
    if not values:
        return ""
    top, bottom = max(0.0, *values), min(0.0, *values)
    span = (top - bottom) or 1.0
    width, height, pad = 560, 180, 28
    group = (width - pad) / len(view["langs"])
    bar = group * 0.8 / len(methods)
    y0 = 8 + (height - 16) * top / span
    parts = [f'<line x1="{pad}" x2="{width}" y1="{y0:.1f}" y2="{y0:.1f}" class="axis"/>']
    for i, lang in enumerate(view["langs"]):
        x = pad + i * group + group * 0.1
        label = html_lib.escape(lang)
        parts.append(
            f'<text x="{x + group * 0.4:.1f}" y="{height + 14}" class="tick">{label}</text>'
        )
        for j, m in enumerate(methods):
            v = value(m, lang)
            if v is None:
                continue
            h = (height - 16) * abs(v) / span
            y = y0 - h if v >= 0 else y0
            tip = html_lib.escape(f"{m} {lang}: {v:+.2f}" if deltas else f"{m} {lang}: {v:.2f}")
            parts.append(
                f'<rect x="{x + j * bar:.1f}" y="{y:.1f}" width="{bar * 0.9:.1f}" '
                f'height="{max(h, 0.5):.1f}" fill="{PALETTE[j % len(PALETTE)]}"><title>{tip}'
                "</title></rect>"
            )
    parts.append(f'<text x="2" y="12" class="tick">{top:+.1f}</text>' if deltas else "")
    parts.append(
        f'<text x="2" y="{height - 2}" class="tick">{bottom:+.1f}</text>' if deltas else ""
    )
    swatches = "".join(
        f'<li><span class="sw" style="background:{PALETTE[j % len(PALETTE)]}"></span>'
        f"{html_lib.escape(m)}</li>"
        for j, m in enumerate(methods)
    )
    return (
        f'<figure class="chart"><figcaption>{what} per language</figcaption>'
        f'<svg viewBox="0 0 {width} {height + 20}" width="{width}" height="{height + 20}" '
        f'role="img" aria-label="{what}">{"".join(parts)}</svg>'
        f'<ul class="legend">{swatches}</ul></figure>'
    )


STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.2em auto;max-width:1280px;padding:0 1em;color:#222}
h1{font-size:1.4em;margin:.2em 0}.controls{margin:.6em 0 1em}select{font-size:14px;max-width:100%}
.board{border-collapse:collapse;margin:.4em 0}
.board th,.board td{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right;white-space:nowrap}
.board th.method{text-align:left}.board thead th{cursor:pointer;background:#f4f4f4;user-select:none}
.board thead th[aria-sort=ascending]::after{content:" ▲"}.board thead th[aria-sort=descending]::after{content:" ▼"}
.m{font-variant-numeric:tabular-nums}.d{font-size:.8em;margin-left:.4em;color:#666}
.up .d{color:#2a7d2a}.down .d{color:#b3261e}.up.sig{background:#e3f4e3}.down.sig{background:#fbe4e2}
.sig .d{font-weight:600}.best .m{font-weight:700}.invalid{color:#999;background:#f2f2f2}
.mk{color:#b36b00;margin-left:.2em}.mt{font-size:.75em;background:#ffe8b3;border-radius:3px;padding:0 3px}
tr.baseline th,tr.baseline td{background:#fafafa}.avg{border-left:2px solid #ccc}
.chart{margin:1em 0}.chart svg{max-width:100%;height:auto}.axis{stroke:#333}
.tick{font-size:11px;fill:#444}.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4em 1.2em}
.sw{display:inline-block;width:12px;height:12px;margin-right:.35em;vertical-align:-1px}
details{margin:.8em 0}pre{white-space:pre-wrap;font-size:12px;background:#f7f7f7;padding:.6em}
.hint{color:#666;font-size:.9em}
"""

SCRIPT = """
const pick=document.getElementById('view');
function show(){for(const s of document.querySelectorAll('section.view'))s.hidden=s.id!==pick.value;}
pick.addEventListener('change',show);show();
for(const th of document.querySelectorAll('.board thead th')){th.addEventListener('click',()=>{
 const table=th.closest('table'),i=[...th.parentNode.children].indexOf(th),body=table.tBodies[0];
 const down=th.getAttribute('aria-sort')!=='descending';
 for(const o of th.parentNode.children)o.removeAttribute('aria-sort');
 th.setAttribute('aria-sort',down?'descending':'ascending');
 const key=r=>{const c=r.children[i];if(th.dataset.sort==='text')return c.textContent;
  return c.dataset.v===''?-Infinity:parseFloat(c.dataset.v);};
 const rows=[...body.rows].sort((a,b)=>{const x=key(a),y=key(b);
  return (x<y?-1:x>y?1:0)*(down?-1:1);});
 for(const r of rows)body.appendChild(r);});}
"""


def page_legend(rows: list[dict[str, Any]]) -> str:
    text = PAGE_LEGEND.format(resamples=max((r.get("resamples", 0) for r in rows), default=0))
    return text + (BUILD_LEGEND if any(r.get("other_build") for r in rows) else "")


def html(rows: list[dict[str, Any]], title: str = "lowres-bench ablation", notes: str = "") -> str:
    """The page: the view control, one section per view (table + chart), legend and notes."""
    e = html_lib.escape
    all_views = views(rows)
    options = "".join(f'<option value="{v["id"]}">{e(view_label(v))}</option>' for v in all_views)
    sections = "".join(
        f'<section class="view" id="{v["id"]}" data-label="{e(view_label(v))}">'
        f"<h2>{e(view_label(v))}</h2>{_table(v)}{_chart(v)}</section>"
        for v in all_views
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{e(title)}</h1>"
        f'<div class="controls"><label for="view">View </label><select id="view">{options}</select>'
        ' <span class="hint">click a column header to sort; hover a cell for seeds, std, n and p'
        "</span></div>"
        f"{sections}<p class='legend-text'>{e(page_legend(rows))}</p>"
        + (
            f"<details><summary>Provenance and notes</summary><pre>{e(notes)}</pre></details>"
            if notes
            else ""
        )
        + f"<script>{SCRIPT}</script></body></html>\n"
    )
