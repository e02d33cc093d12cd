"""Raw monolingual text for adaptation (MLM, back-translation): LACUNA news and MasakhaNEWS.

Both are decontaminated before any use (`bench.data.contamination`): LACUNA holds most MasakhaNER
2.0 test sentences verbatim. Local: ``monolingual/lacuna/{code}.txt``,
``masakhanews/{code}/{split}.tsv``. Hub: ``masakhane/masakhanews``.
"""

from __future__ import annotations

from pathlib import Path

from bench.core.formats import read_lines, read_tsv
from bench.data.source import SOURCES, Columns, Source, load_hub_split


def parse_lines(paths: list[Path], codes: tuple[str, ...]) -> Columns:
    return {"text": [line.strip() for line in read_lines(paths[0]) if line.strip()]}


def parse_news(paths: list[Path], codes: tuple[str, ...]) -> Columns:
    rows = [row for path in paths for row in read_tsv(path, ("headline", "text"), quoted=True)]
    return {"text": [f"{r['headline'].strip()}\n{r['text'].strip()}" for r in rows]}


def read_hub_news(repo: str, revision: str, codes: tuple[str, ...], split: str) -> Columns:
    ds = load_hub_split(repo, codes[0], split, revision)
    return {
        "text": [
            f"{h.strip()}\n{t.strip()}" for h, t in zip(ds["headline"], ds["text"], strict=True)
        ]
    }


SOURCES.add(
    "lacuna",
    Source(
        name="lacuna",
        title="LACUNA raw news sentences",
        version="1.0",
        kind="text",
        license="CC-BY-NC-4.0",
        url="https://github.com/masakhane-io/lacuna_pos_ner",
        splits={"train": "train"},
        files=lambda codes, split: [f"monolingual/lacuna/{codes[0]}.txt"],
        parse=parse_lines,
    ),
)
SOURCES.add(
    "masakhanews",
    Source(
        name="masakhanews",
        title="MasakhaNEWS articles",
        version="1.0",
        kind="text",
        license="CC-BY-NC-4.0",
        url="https://github.com/masakhane-io/masakhane-news",
        # As raw text every released article is usable (no task here evaluates on it).
        splits={"train": "train"},
        files=lambda codes, split: [
            f"masakhanews/{codes[0]}/{name}.tsv" for name in ("train-50shot", "dev", "test")
        ],
        parse=parse_news,
        hub_repo="masakhane/masakhanews",
        hub_revision="main",
        read_hub=read_hub_news,
    ),
)
