"""Library functions behind the read-only CLI commands: tables of languages, tasks, splits.

Tables are built with pandas + tabulate. Exercise: ``bench langs``, ``bench tasks``.
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.core.tables import table
from bench.data.contamination import Guard, Report, evaluation_sentences
from bench.data.language import Language, languages
from bench.data.source import SOURCES, load
from bench.data.task import SOURCE_LANGUAGE, Task, parse_tasks


def languages_table(root: Path | None = None) -> str:
    """Every language and the dataset each task tests it on; with a data root, the settings
    its files do not allow are marked and the reason given (`Task.missing`, the rule by
    which `bench run` skips them)."""
    tasks = parse_tasks(None)
    rows, notes = [], []
    for lang in languages():
        row: dict[str, Any] = {
            "code": lang.code,
            "639-1": lang.iso639_1 or "",
            "name": lang.name,
            "script": lang.script,
            "family": lang.family,
        }
        for task in tasks:
            if lang.code == SOURCE_LANGUAGE:
                row[task.name] = "(source)"
                continue
            row[task.name] = task.coverage(lang) or "-"
            if root is None or not task.coverage(lang):
                continue
            gaps = {s: task.missing(lang, s, root) for s in task.settings if s != "few-shot"}
            gaps = {s: why for s, why in gaps.items() if why}
            if gaps:
                row[task.name] += f" (not {', '.join(gaps)}*)"
                notes += [f"* {lang.code} {task.name} {s}: {why}" for s, why in gaps.items()]
        row["monolingual"] = ", ".join(lang.monolingual) or "-"
        rows.append(row)
    legend = "\nCells: the dataset each task tests on (local mirror | hub); MT = machine-translated test set."
    if root is not None:
        legend += f"\nData root: {root}." + "".join(f"\n{n}" for n in notes)
    return table(rows) + "\n" + legend


def tasks_table() -> str:
    rows = [
        {
            "task": t.name,
            "kind": t.kind,
            "metrics": ", ".join(t.metrics),
            "settings": ", ".join(t.settings),
            "sources": ", ".join(t.sources),
            "title": t.title,
        }
        for t in parse_tasks(None)
    ]
    return table(rows)


def sources_table() -> str:
    rows = [
        {
            "dataset": s.name,
            "title": s.title,
            "version": s.version,
            "kind": s.kind,
            "splits": ",".join(s.splits),
            "paths": s.where(),
            "hub": f"{s.hub_repo}@{s.hub_revision}" if s.hub_repo else "-",
            "licence": s.license,
            "MT": "yes" if s.machine_translated else "",
        }
        for s in SOURCES
    ]
    return table(rows)


def backbones_table() -> str:
    """One row per backbone and per recipe profile of it (``me5_small:ablation``)."""
    from bench.train.backbone import backbones

    specs = [b for base in backbones() for b in (base, *map(base.with_profile, base.profiles))]
    rows = [
        {
            "backbone": b.label,
            "title": b.title,
            "architecture": b.architecture,
            "from": f"{b.hub_id}@{b.revision}"
            if b.hub_id
            else (f"converted from {b.package['weights']}" if b.package else "pre-trained here"),
            **{
                t: ", ".join(f"{k}={v}" for k, v in r.items()) for t, r in sorted(b.recipes.items())
            },
        }
        for b in specs
    ]
    return table(rows)


def load_task_splits(
    task: Task, langs: list[Language], setting: str | None, root: Path | None
) -> list[dict[str, Any]]:
    """Load every split a run of `task` on `langs` reads; one provenance dict each."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for lang in langs:
        for role, data_lang, split in task.plan(lang, setting):
            if (role, data_lang.code, split) in seen:
                continue  # the English source splits are shared by every target
            seen.add((role, data_lang.code, split))
            loaded = task.load(data_lang, split, setting, root)
            rows.append({"role": role, "lang": data_lang.code, **loaded.provenance})
    return rows


def splits_table(rows: list[dict[str, Any]]) -> str:
    return table(
        [
            {
                "task": r["task"],
                "role": r["role"],
                "lang": r["lang"],
                "dataset": r["source"],
                "split": r["split"] + (f" [{r['subset']}]" if r.get("subset") else ""),
                "rows": r["rows"],
                "from": r["origin"],
                "sha256": r["sha256"][:12],
                "flags": "MT" if r["machine_translated"] else "",
            }
            for r in rows
        ]
    )


def contamination(
    langs: list[Language],
    names: list[str],
    root: Path | None,
    out: Path | None,
    report_path: Path | None = None,
    command: str = "bench contamination",
) -> list[Report]:
    """Check each language's monolingual corpora against its evaluation sets.

    With `out`, the cleaned corpora are written there (derived from licensed data: keep them
    out of the repository); with `report_path`, the findings (counts only) as JSON.
    """
    reports = []
    for name in names:
        if SOURCES.get(name).kind != "text":
            raise BenchError(
                f"'{name}' is not a monolingual text source", hint="use lacuna or masakhanews"
            )
    for lang in langs:
        guard = Guard(evaluation_sentences([lang], root))
        for name in names:
            code = lang.code_in(name)
            if code is None:
                continue
            loaded = load(SOURCES.get(name), (code,), "train", root)
            kept, rep = guard.clean(f"{name}/{lang.code}", loaded.dataset["text"])
            rep.provenance = {
                k: loaded.provenance.get(k) for k in ("sha256", "files", "origin", "version")
            }
            reports.append(rep)
            if out:
                _write_atomic(
                    out / f"{name}.{lang.code}.txt", "".join(f"{line}\n" for line in kept)
                )
    if report_path:
        summary = {
            "command": command,
            "bench_version": version("lowres-bench"),
            "min_chars": Guard.MIN_CHARS,
            "corpora": [
                {
                    "corpus": r.corpus,
                    "lines": r.corpus_size,
                    "removed": r.removed,
                    "hits": r.hits,
                    "eval_sets": r.eval_sets,
                    "provenance": r.provenance,
                }
                for r in reports
            ],
        }
        _write_atomic(report_path, json.dumps(summary, indent=2) + "\n")
    return reports


def contamination_table(reports: list[Report]) -> str:
    """Per corpus: lines removed; then per evaluation set found in it: how much of it."""
    corpora = [
        {
            "corpus": r.corpus,
            "lines": r.corpus_size,
            "contaminated": r.removed,
            "kept": r.corpus_size - r.removed,
        }
        for r in reports
    ]
    found = [
        {
            "corpus": r.corpus,
            "evaluation set": name,
            "sentences found": hit,
            "of": r.eval_sets[name],
            "%": round(100 * hit / r.eval_sets[name], 1),
        }
        for r in reports
        for name, hit in r.hits.items()
        if hit
    ]
    return table(corpora) + ("\n\n" + table(found) if found else "\n\nno evaluation sentence found")


def _write_atomic(path: Path, text: str) -> None:
    """Write whole or not at all: a temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
