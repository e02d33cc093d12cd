"""MAFAND-MT (Adelani et al., 2022): human-translated English-African news parallel text.

Local: ``mafand/en-{code}/{train,dev,test}.json`` (JSON lines). Hub: ``masakhane/mafand``
(config ``en-{code}``). Codes come in pairs: (English code, target code).
"""

from __future__ import annotations

from pathlib import Path

from bench.core.formats import read_jsonl
from bench.data.source import SOURCES, Columns, Source, load_hub_split


def parse_mafand(paths: list[Path], codes: tuple[str, ...]) -> Columns:
    rows = read_jsonl(paths[0], codes)
    return {"src": [r[codes[0]] for r in rows], "tgt": [r[codes[1]] for r in rows]}


def read_hub_mafand(repo: str, revision: str, codes: tuple[str, ...], split: str) -> Columns:
    ds = load_hub_split(repo, f"{codes[0]}-{codes[1]}", split, revision)
    pairs = ds["translation"]
    return {"src": [p[codes[0]] for p in pairs], "tgt": [p[codes[1]] for p in pairs]}


SOURCES.add(
    "mafand",
    Source(
        name="mafand",
        title="MAFAND-MT",
        version="1.0",
        kind="translation",
        license="CC-BY-NC-4.0",
        url="https://github.com/masakhane-io/lafand-mt",
        splits={"train": "train", "validation": "dev", "test": "test"},
        files=lambda codes, split: [f"mafand/{codes[0]}-{codes[1]}/{split}.json"],
        parse=parse_mafand,
        hub_repo="masakhane/mafand",
        hub_revision="refs/convert/parquet",
        read_hub=read_hub_mafand,
        pair=True,
    ),
)
