"""FLORES-200 (NLLB Team, 2022) and NTREX-128 (Federmann et al., 2022): translation test sets.

Local: ``flores200/{dev,devtest}/{code}.{split}`` and ``ntrex128/newstest2019-*.txt``, line
aligned. Hub: ``openlanguagedata/flores_plus`` (gated: ``huggingface-cli login``), rows
aligned by their ``id``. Codes come in pairs: (English code, target code).
"""

from __future__ import annotations

from pathlib import Path

from bench.core.formats import read_parallel_lines
from bench.data.source import SOURCES, Columns, Source, load_hub_split


def parse_parallel(paths: list[Path], codes: tuple[str, ...]) -> Columns:
    src, tgt = read_parallel_lines(paths[0], paths[1])
    return {"src": src, "tgt": tgt}


def read_flores_plus(repo: str, revision: str, codes: tuple[str, ...], split: str) -> Columns:
    upstream = {"validation": "dev", "test": "devtest"}[split]
    sides = [load_hub_split(repo, code, upstream, revision) for code in codes]
    by_id = [dict(zip(ds["id"], ds["text"], strict=True)) for ds in sides]
    ids = sorted(set(by_id[0]) & set(by_id[1]))
    return {"src": [by_id[0][i] for i in ids], "tgt": [by_id[1][i] for i in ids]}


SOURCES.add(
    "flores200",
    Source(
        name="flores200",
        title="FLORES-200",
        version="200 (flores_plus)",
        kind="translation",
        license="CC-BY-SA-4.0",
        url="https://github.com/facebookresearch/flores",
        splits={"validation": "dev", "test": "devtest"},
        files=lambda codes, split: [f"flores200/{split}/{code}.{split}" for code in codes],
        parse=parse_parallel,
        hub_repo="openlanguagedata/flores_plus",
        hub_revision="main",
        read_hub=read_flores_plus,
        pair=True,
    ),
)
SOURCES.add(
    "ntrex128",
    Source(
        name="ntrex128",
        title="NTREX-128",
        version="1.0",
        kind="translation",
        license="CC-BY-SA-4.0",
        url="https://github.com/MicrosoftTranslator/NTREX",
        splits={"test": "newstest2019"},
        files=lambda codes, split: [
            f"ntrex128/{split}-src.{codes[0]}.txt",
            f"ntrex128/{split}-ref.{codes[1]}.txt",
        ],
        parse=parse_parallel,
        pair=True,
        notes="optional second test set; translated from English (source-original only)",
    ),
)
