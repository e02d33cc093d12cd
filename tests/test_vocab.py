"""Vocabulary compaction (`bench.train.vocab`): the same logits with a fraction of the rows."""

from __future__ import annotations

import pytest
import torch

from bench.data.task import get_task
from bench.train.kinds import KINDS
from bench.train.vocab import CompactEmbedding, compact


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


@pytest.fixture
def translating(tiny_bert, data_root):
    """A warm-started encoder-decoder on the tiny BERT and real MAFAND slices (en-hau)."""
    from transformers import AutoTokenizer

    kind, task = KINDS["translation"], get_task("flores")
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    kind.add_tags(tokenizer, ["eng", "hau"])
    encoded = {}
    for role, split in (("train", "train"), ("target-dev:hau", "validation"), ("test:hau", "test")):
        rows = task.load("hau", split, "in-language", data_root).dataset.select(range(32))
        encoded[role] = kind.encode(rows, tokenizer, 48, ("eng", "hau"))
    torch.manual_seed(0)
    return kind, kind.build(tiny_bert, None, tokenizer).eval(), tokenizer, encoded


def test_translation_keeps_the_decoder_logits_of_the_target_pieces(translating, data_root):
    from bench.train.vocab import compact_seq2seq

    kind, module, tokenizer, encoded = translating
    batch = kind.collate(tokenizer)([encoded["train"][i] for i in range(16)])
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "decoder_attention_mask")}
    with torch.no_grad():
        full = module.model(**inputs, decoder_input_ids=batch["decoder_input_ids"]).logits
    kept = compact_seq2seq(module, encoded, tokenizer)
    assert kept["decoder"]["rows"] < kept["decoder"]["of"] == len(tokenizer)
    keep = module.target_ids
    targets = {i for r in ("train", "target-dev:hau") for ids in encoded[r]["labels"] for i in ids}
    assert targets | set(tokenizer.all_special_ids) == set(keep.tolist())  # no test reference
    with torch.no_grad():
        small = module.model(
            **inputs, decoder_input_ids=module.to_decoder(batch["decoder_input_ids"])
        )
    assert small.logits.shape[-1] == len(keep)
    assert torch.equal(small.logits, full[..., keep])  # the kept rows' logits, unchanged
    # beam search emits only kept pieces and comes back in tokenizer ids
    test = get_task("flores").load("hau", "test", "in-language", data_root).dataset
    out = kind.predict(module, encoded["test:hau"], test.select(range(32)), tokenizer)
    assert len(out["eng-hau"]) == 32 and all(out["eng-hau"])
    with torch.no_grad():
        gen = module.model.generate(**{k: batch[k] for k in ("input_ids", "attention_mask")})
    assert int(gen.max()) < len(keep)  # decoder ids: kept pieces only
    assert set(module.to_tokenizer(gen).flatten().tolist()) <= set(keep.tolist())


def test_translation_target_outside_the_kept_pieces_fails_loudly(translating):
    from bench.train.vocab import compact_seq2seq

    kind, module, tokenizer, encoded = translating
    compact_seq2seq(module, {"train": encoded["train"].select(range(2))}, tokenizer)
    batch = kind.collate(tokenizer)([encoded["test:hau"][i] for i in range(8)])
    with pytest.raises(IndexError):
        module(batch)


def test_a_methods_wrapper_keeps_the_pieces_of_its_own_texts(tagged, data_root):
    """+adversarial feeds the encoder unlabelled target text no split holds: on a compact
    vocabulary those pieces get rows too (before, the first training step hit an IndexError)."""
    from bench.train.vocab import compact_run
    from methods.adversarial import Adversarial, Config

    kind, module, tokenizer, sets = tagged
    lines = get_task("masakhaner").load("swa", "train", "in-language", data_root).dataset
    sentences = [" ".join(t) for t in lines.select(range(64))["tokens"]]
    text = tokenizer(sentences, truncation=True, max_length=48)["input_ids"]
    wrapped = Adversarial(module, {"swa": text}, "hau", tokenizer.pad_token_id, Config(), 0)
    kept = compact_run(wrapped, "token-classification", {"train": sets[0]}, tokenizer)
    lookup = module.model.get_input_embeddings().lookup
    assert all(int(lookup[i]) >= 0 for ids in text for i in ids)
    assert kept["rows"] > len({i for ids in sets[0]["input_ids"] for i in ids})
    wrapped.train()
    wrapped.begin(10)
    batch = kind.collate(tokenizer)([sets[0][i] for i in range(8)])
    loss, _ = wrapped(batch)  # the task batch and an unlabelled swa batch through the encoder
    assert torch.isfinite(loss)
