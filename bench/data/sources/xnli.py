"""XNLI 1.0 (Conneau et al., 2018), AfriXNLI (Adelani et al., 2024) and the offline MT stand-in.

Local: ``xnli/xnli.{dev,test}.tsv`` and ``xnli-mt/xnli.{dev,test}.tsv`` (XNLI 1.0 TSV layout,
rows filtered by the ``language`` column). Hub: ``facebook/xnli`` (whose English ``train`` is
MNLI) and ``masakhane/afrixnli``. ``xnli_mt`` is machine translated: every result on it is
flagged as such.
"""

from __future__ import annotations

from pathlib import Path

from bench.core.errors import BenchError
from bench.core.formats import read_tsv
from bench.data.source import SOURCES, Columns, Source, load_hub_split

LABELS = ("entailment", "neutral", "contradiction")  # XNLI / MNLI label order
COLUMNS = ("language", "gold_label", "sentence1", "sentence2", "promptID", "pairID")


def _files(folder: str):
    def files(codes: tuple[str, ...], split: str) -> list[str]:
        if split == "train":
            raise BenchError(
                "XNLI has no train split in a local mirror (online it is MNLI, 393k pairs)",
                hint="the xnli task trains on part of the English dev split offline",
            )
        return [f"{folder}/xnli.{split}.tsv"]

    return files


def parse_xnli_tsv(paths: list[Path], codes: tuple[str, ...]) -> Columns:
    rows = read_tsv(paths[0], COLUMNS)
    cols: Columns = {"premise": [], "hypothesis": [], "label": [], "pair_id": [], "prompt_id": []}
    for lineno, row in enumerate(rows, start=2):
        if row["language"] != codes[0]:
            continue
        if row["gold_label"] not in LABELS:
            raise BenchError(
                f"{paths[0]}:{lineno}: unknown gold_label {row['gold_label']!r}",
                hint=f"allowed labels: {', '.join(LABELS)}",
            )
        cols["premise"].append(row["sentence1"])
        cols["hypothesis"].append(row["sentence2"])
        cols["label"].append(row["gold_label"])
        cols["pair_id"].append(row["pairID"])
        cols["prompt_id"].append(row["promptID"])
    return cols


def read_hub_nli(repo: str, revision: str, codes: tuple[str, ...], split: str) -> Columns:
    ds = load_hub_split(repo, codes[0], split, revision)
    names = ds.features["label"].names
    n = len(ds)
    return {
        "premise": ds["premise"],
        "hypothesis": ds["hypothesis"],
        "label": [names[i] for i in ds["label"]],
        "pair_id": [str(i) for i in range(n)],
        "prompt_id": [str(i) for i in range(n)],  # the hub copy drops promptID
    }


COMMON = dict(kind="nli", license="CC-BY-NC-4.0", version="1.0")
SOURCES.add(
    "xnli",
    Source(
        name="xnli",
        title="XNLI 1.0",
        url="https://github.com/facebookresearch/XNLI",
        splits={"train": "train", "validation": "dev", "test": "test"},
        files=_files("xnli"),
        parse=parse_xnli_tsv,
        hub_repo="facebook/xnli",
        hub_revision="main",
        read_hub=read_hub_nli,
        **COMMON,
    ),
)
SOURCES.add(
    "afrixnli",
    Source(
        name="afrixnli",
        title="AfriXNLI",
        url="https://huggingface.co/datasets/masakhane/afrixnli",
        splits={"validation": "validation", "test": "test"},
        hub_repo="masakhane/afrixnli",
        hub_revision="main",
        read_hub=read_hub_nli,
        **COMMON,
    ),
)
SOURCES.add(
    "xnli_mt",
    Source(
        name="xnli_mt",
        title="XNLI machine-translated (offline AfriXNLI stand-in)",
        url="../shared/data/xnli-mt (README)",
        splits={"validation": "dev", "test": "test"},
        files=_files("xnli-mt"),
        parse=parse_xnli_tsv,
        machine_translated=True,
        notes="labels carried over from English; not validated by language experts",
        **COMMON,
    ),
)
