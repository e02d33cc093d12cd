"""The ablation rows as an HTML page with a chart of the change over baseline.
Exercise: ``bench leaderboard --out DIR``.
"""

from __future__ import annotations

from typing import Any

from bench.report.leaderboard.render import ablation_frame, legend


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
