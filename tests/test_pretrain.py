"""Building an offline backbone end to end, at toy size (integration tier: ~1 minute)."""

from __future__ import annotations

import json

import pytest
from transformers import AutoModelForMaskedLM, AutoTokenizer

from bench.train.backbone import Backbone
from bench.train.pretrain import build

TOY = dict(
    tokenizer="wordpiece",
    vocab_size=600,
    hidden_size=32,
    num_layers=2,
    num_heads=2,
    intermediate_size=64,
    max_length=32,
    target_langs=["hau"],
    steps=6,
    batch_size=16,
    lr=1e-3,
    mask_prob=0.15,
    seed=0,
)


@pytest.mark.integration
def test_build_is_decontaminated_cached_and_loadable(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    spec = Backbone("toy_bert", "toy", "bert", build=TOY)
    folder, prov = build(spec, data_root, tmp_path / "cache")
    assert prov["corpus"]["lacuna/hau"]["removed"] > 2000  # MasakhaNER sentences taken out
    assert 0.5 < prov["corpus"]["english_share"] < 1
    record = json.loads((folder / "build.json").read_text())
    assert [p["step"] for p in record["loss_curve"]] == [6]
    # published with the records: weights, tokenizer and build record, checksummed
    assert folder == tmp_path / "results" / "backbones" / folder.name
    assert (folder / "model.safetensors").is_file() and len(prov["weights_sha256"]) == 64
    assert (tmp_path / "cache" / "backbones" / folder.name / "build.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForMaskedLM.from_pretrained(folder)
    assert model.config.vocab_size == len(tokenizer) <= 600
    assert tokenizer("Sannu da zuwa")["input_ids"][0] == tokenizer.cls_token_id
    again, prov2 = build(spec, data_root, tmp_path / "cache")  # a cache hit: nothing rebuilt
    assert again == folder and prov2 == prov
