"""MasakhaNER 2.0 (Adelani et al., 2022) and its PER/ORG/LOC transfer corpus with English.

Local: ``masakhaner2/{code}/{split}.txt`` and ``masakhaner2-transfer/{code}/{split}.txt``
(CoNLL). Hub: ``masakhane/masakhaner2``; the transfer corpus is rebuilt online from it (DATE
dropped) and from CoNLL-03 for English (MISC dropped), as upstream built it.
"""

from __future__ import annotations

from pathlib import Path

from bench.core.formats import read_conll
from bench.data.source import SOURCES, Columns, Source, load_hub_split

FULL_TYPES = ("PER", "ORG", "LOC", "DATE")
TRANSFER_TYPES = ("PER", "ORG", "LOC")
SPLITS = {"train": "train", "validation": "dev", "test": "test"}


def bio_labels(types: tuple[str, ...]) -> list[str]:
    """``O`` then ``B-X, I-X`` for each entity type, the label order of the task head."""
    return ["O", *(f"{p}-{t}" for t in types for p in ("B", "I"))]


def _conll_parser(types: tuple[str, ...]):
    allowed = frozenset(bio_labels(types))

    def parse(paths: list[Path], codes: tuple[str, ...]) -> Columns:
        tokens, tags = read_conll(paths[0], allowed)
        return {"tokens": tokens, "tags": tags}

    return parse


def _hub_reader(types: tuple[str, ...], english_repo: str | None = None):
    def read(repo: str, revision: str, codes: tuple[str, ...], split: str) -> Columns:
        is_english = english_repo is not None and codes[0] == "en"
        ds = load_hub_split(
            english_repo if is_english else repo, None if is_english else codes[0], split, revision
        )
        names = ds.features["ner_tags"].feature.names
        keep = {f"{p}-{t}" for t in types for p in ("B", "I")}
        tags = [[names[i] if names[i] in keep else "O" for i in seq] for seq in ds["ner_tags"]]
        return {"tokens": ds["tokens"], "tags": tags}

    return read


SOURCES.add(
    "masakhaner2",
    Source(
        name="masakhaner2",
        title="MasakhaNER 2.0",
        version="2.0",
        kind="ner",
        license="CC-BY-NC-4.0",
        url="https://github.com/masakhane-io/masakhane-ner",
        splits=SPLITS,
        files=lambda codes, split: [f"masakhaner2/{codes[0]}/{split}.txt"],
        parse=_conll_parser(FULL_TYPES),
        hub_repo="masakhane/masakhaner2",
        hub_revision="refs/convert/parquet",
        read_hub=_hub_reader(FULL_TYPES),
    ),
)

SOURCES.add(
    "masakhaner2_transfer",
    Source(
        name="masakhaner2_transfer",
        title="MasakhaNER 2.0 transfer corpus (PER/ORG/LOC)",
        version="2.0",
        kind="ner",
        license="CC-BY-NC-4.0",
        url="https://github.com/masakhane-io/masakhane-ner",
        splits=SPLITS,
        files=lambda codes, split: [f"masakhaner2-transfer/{codes[0]}/{split}.txt"],
        parse=_conll_parser(TRANSFER_TYPES),
        hub_repo="masakhane/masakhaner2",
        hub_revision="refs/convert/parquet",
        read_hub=_hub_reader(TRANSFER_TYPES, english_repo="eriktks/conll2003"),
        notes="online: MasakhaNER 2.0 without DATE, English from CoNLL-03 without MISC",
    ),
)
