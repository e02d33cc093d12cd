"""Published reference numbers (baselines/published/references.toml) printed under a
table, with their sources. Exercise: ``bench leaderboard --tasks masakhaner``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.core.paths import REPO

REFERENCES = REPO / "baselines" / "published" / "references.toml"


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
