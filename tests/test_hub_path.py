"""The hub path, run for real through `datasets.load_dataset` on hub-layout repositories.

The hub is unreachable here, so each test writes a small dataset repository in the hub's own
layout (parquet files + a README declaring the configs, ClassLabel features kept in the
parquet metadata) and hands its folder to the source's hub reader as the repo id: everything
but the network runs, including the label-name mapping and the column normalisation.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, Features, Sequence, Value

from bench.errors import BenchError
from bench.source import load
from bench.sources import SOURCES


def _repo(root: Path, configs: dict[str, dict[str, Dataset]]) -> str:
    lines = ["---", "configs:"]
    for config, splits in configs.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        for split, ds in splits.items():
            rel = f"{config}/{split}.parquet"
            (root / config).mkdir(parents=True, exist_ok=True)
            ds.to_parquet(str(root / rel))
            lines += [f"  - split: {split}", f"    path: {rel}"]
    (root / "README.md").write_text("\n".join([*lines, "---", ""]), encoding="utf-8")
    return str(root)


NER_NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-DATE", "I-DATE"]


def _ner() -> Dataset:
    features = Features(
        {"tokens": Sequence(Value("string")), "ner_tags": Sequence(ClassLabel(names=NER_NAMES))}
    )
    return Dataset.from_dict(
        {
            "tokens": [["Kano", "ranar", "Litinin"], ["Aisha", "Buhari"]],
            "ner_tags": [[5, 0, 7], [1, 2]],
        },
        features=features,
    )


def test_masakhaner_hub_reader_maps_label_ids_to_names(tmp_path):
    repo = _repo(tmp_path, {"hau": {"test": _ner()}})
    source = SOURCES.get("masakhaner2")
    cols = source.read_hub(repo, "main", ("hau",), "test")
    assert cols == {
        "tokens": [["Kano", "ranar", "Litinin"], ["Aisha", "Buhari"]],
        "tags": [["B-LOC", "O", "B-DATE"], ["B-PER", "I-PER"]],
    }
    # The transfer corpus is rebuilt online from the same data with DATE dropped.
    transfer = SOURCES.get("masakhaner2_transfer").read_hub(repo, "main", ("hau",), "test")
    assert transfer["tags"] == [["B-LOC", "O", "O"], ["B-PER", "I-PER"]]


def test_xnli_hub_reader(tmp_path):
    features = Features(
        {
            "premise": Value("string"),
            "hypothesis": Value("string"),
            "label": ClassLabel(names=["entailment", "neutral", "contradiction"]),
        }
    )
    ds = Dataset.from_dict(
        {"premise": ["a", "b"], "hypothesis": ["c", "d"], "label": [2, 0]}, features=features
    )
    repo = _repo(tmp_path, {"hau": {"test": ds}})
    cols = SOURCES.get("afrixnli").read_hub(repo, "main", ("hau",), "test")
    assert cols["label"] == ["contradiction", "entailment"]
    assert cols["premise"] == ["a", "b"]


def test_flores_plus_reader_aligns_by_id(tmp_path):
    eng = Dataset.from_dict({"id": [2, 1, 3], "text": ["two", "one", "three"]})
    hau = Dataset.from_dict({"id": [1, 2, 3], "text": ["daya", "biyu", "uku"]})
    repo = _repo(tmp_path, {"eng_Latn": {"devtest": eng}, "hau_Latn": {"devtest": hau}})
    cols = SOURCES.get("flores200").read_hub(repo, "main", ("eng_Latn", "hau_Latn"), "test")
    assert cols == {"src": ["one", "two", "three"], "tgt": ["daya", "biyu", "uku"]}


def test_mafand_hub_reader(tmp_path):
    ds = Dataset.from_dict({"translation": [{"en": "Hello", "hau": "Sannu"}]})
    repo = _repo(tmp_path, {"en-hau": {"train": ds}})
    cols = SOURCES.get("mafand").read_hub(repo, "main", ("en", "hau"), "train")
    assert cols == {"src": ["Hello"], "tgt": ["Sannu"]}


def test_unreachable_hub_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("datasets.config.HF_HUB_OFFLINE", True)
    with pytest.raises(BenchError) as err:
        load(SOURCES.get("masakhaner2"), ("hau",), "test", root=None)
    assert "could not load masakhane/masakhaner2 (hau, test) from the hub" in err.value.message
    assert "--data-root" in err.value.hint


def test_hub_only_and_local_only_sources_say_so(data_root):
    with pytest.raises(BenchError, match="AfriXNLI is only available from the hub"):
        load(SOURCES.get("afrixnli"), ("hau",), "test", data_root)
    with pytest.raises(BenchError, match="has no hub copy"):
        load(SOURCES.get("xnli_mt"), ("ha",), "test", None)
