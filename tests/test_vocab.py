"""Vocabulary compaction (`bench.vocab`): the same logits with a fraction of the rows."""

from __future__ import annotations

import pytest
import torch

from bench.kinds import KINDS
from bench.task import get_task
from bench.vocab import CompactEmbedding, compact


@pytest.fixture
def tagged(tiny_backbone, data_root):
    """A tagger on the tiny backbone and two encoded slices of real MasakhaNER 2.0 text."""
    from transformers import AutoTokenizer

    kind = KINDS["token-classification"]
    task = get_task("masakhaner")
    labels = task.labels(task.setting("in-language"))
    tokenizer = AutoTokenizer.from_pretrained(tiny_backbone)
    sets = []
    for lang, split in (("hau", "train"), ("hau", "test")):
        rows = task.load(lang, split, "in-language", data_root).dataset.select(range(64))
        sets.append(kind.encode(rows, tokenizer, 64, labels))
    torch.manual_seed(0)
    return kind, kind.build(tiny_backbone, labels, tokenizer).eval(), tokenizer, sets


def logits(kind, module, tokenizer, encoded):
    batch = kind.collate(tokenizer)([encoded[i] for i in range(len(encoded))])
    with torch.no_grad():
        return module.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])


def test_compaction_keeps_the_logits_and_only_the_used_rows(tagged):
    kind, module, tokenizer, sets = tagged
    before = [logits(kind, module, tokenizer, s).logits for s in sets]
    kept = compact(module, sets, tokenizer)
    embedding = module.model.get_input_embeddings()
    assert isinstance(embedding, CompactEmbedding)
    assert kept["of"] == len(tokenizer) and kept["rows"] < kept["of"]
    assert embedding.weight.shape[0] == kept["rows"]
    for encoded, expected in zip(sets, before, strict=True):
        assert torch.equal(logits(kind, module, tokenizer, encoded).logits, expected)
    used = {i for s in sets for ids in s["input_ids"] for i in ids}
    assert all(int(embedding.lookup[i]) >= 0 for i in used)  # every id has its own row


def test_a_text_outside_the_run_fails_loudly_rather_than_becoming_unk(tagged):
    _, module, tokenizer, sets = tagged
    compact(module, [sets[0].select(range(2))], tokenizer)  # two sentences' pieces only
    lookup = module.model.get_input_embeddings().lookup
    missing = sorted({i for ids in sets[1]["input_ids"] for i in ids if lookup[i] < 0})
    assert missing  # the test slice uses pieces those two sentences lack
    with pytest.raises(IndexError):
        module.model.get_input_embeddings()(torch.tensor([[missing[0]]]))


def test_gradients_reach_the_compact_rows(tagged):
    kind, module, tokenizer, sets = tagged
    compact(module, sets, tokenizer)
    module.train()
    batch = kind.collate(tokenizer)([sets[0][i] for i in range(8)])
    loss, _ = module(batch)
    loss.backward()
    grad = module.model.get_input_embeddings().weight.grad
    assert grad is not None and grad.abs().sum() > 0
