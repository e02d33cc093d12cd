"""Made-up run records for the report tests: the config and record fields the tables read,
written through the suite's own `write_record` at the path a real run would use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.runs.records import record_path, write_record


def fake_record(
    results: Path,
    *,
    method: str = "baseline",
    seed: int = 1,
    lang: str = "swa",
    selection: str = "source-dev",
    metrics: dict[str, Any],
    backbone: str = "tiny",
    train: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    record: dict[str, Any] | None = None,
    predictions: Any = (0, 1),
) -> Path:
    """An xnli zero-shot record; `config` adds config keys (``methods``, ``profile``), `record`
    record keys (``selection``, ``training``, ``method_reports``, ``backbone``)."""
    full = {
        "method": method,
        "backbone": backbone,
        "task": "xnli",
        "setting": "zero-shot",
        "seed": seed,
        "train": train if train is not None else {"lr": 1e-4, "seed": seed},
        "lang": lang,
        "selection": selection,
        "data": {f"test:{lang}": "x"},
        **(config or {}),
    }
    whole = {"config": full, "metrics": metrics, "machine_translated_test": False, **(record or {})}
    path = record_path(results, full)
    write_record(path, whole, list(predictions))
    return path
