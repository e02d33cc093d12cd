"""Only the vocabulary a run uses: an encoder's word embedding cut to the rows its texts need.

me5_small's word embedding has 250,037 rows (96 M of its 118 M parameters); a run on one
language reads a few tens of thousands of distinct pieces, and on a CPU the optimizer update
of the unused rows is about a third of a training step. `compact` swaps the embedding for a
`CompactEmbedding` holding just the rows of the pieces in the run's encoded splits (train,
dev and test: their inputs, never their labels) plus the special tokens, behind a lookup
table from the tokenizer's ids. The tokenizer is unchanged and every id of every text the run
reads has its own row, so the model computes exactly what it computed before (a test checks
identical logits) and no text gains an ``<unk>``. Used where the backbone's spec says
``compact_vocab = true``.

Translation (`compact_seq2seq`) cuts both sides. The encoder's input embedding as above. The
decoder's output layer is the cost there: over all 250,037 rows it is 96 M multiply-adds per
target token, about 4.5x me5_small's whole encoder. Its vocabulary becomes the pieces the
training and dev *targets* use (never the test references) plus the special tokens: the
decoder works in that compact id space (its input embedding and tied output layer hold just
those rows, in tokenizer-id order), `Seq2Seq` maps targets into it and generated ids back out.
The logits over the kept rows are exactly the full model's logits at those rows (a test
checks); what changes is that the softmax no longer spends probability on pieces no target
of the run contains, and beam search cannot emit them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


class CompactEmbedding(torch.nn.Module):
    """An embedding over `keep` (sorted tokenizer ids): id -> its row, through a lookup."""

    def __init__(self, full: torch.nn.Embedding, keep: torch.Tensor) -> None:
        super().__init__()
        lookup = torch.full((full.num_embeddings,), -1, dtype=torch.long)
        lookup[keep] = torch.arange(len(keep))
        self.register_buffer("lookup", lookup, persistent=True)
        self.weight = torch.nn.Parameter(full.weight.detach()[keep].clone())
        self.num_embeddings, self.embedding_dim = full.num_embeddings, full.embedding_dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.embedding(self.lookup[ids], self.weight)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]} of {self.num_embeddings} rows, dim {self.embedding_dim}"


def used_ids(datasets: Iterable[Any], specials: Iterable[int]) -> torch.Tensor:
    """Sorted ids of every piece in the datasets' ``input_ids`` plus the special tokens."""
    seen: set[int] = set(specials)
    for dataset in datasets:
        for ids in dataset["input_ids"]:
            seen.update(ids)
    return torch.tensor(sorted(seen), dtype=torch.long)


def compact(module: torch.nn.Module, datasets: Iterable[Any], tokenizer: Any) -> dict[str, int]:
    """Cut the word embedding of the transformers model inside `module` to the ids
    `datasets` use; returns what it kept, for the run record."""
    from transformers import PreTrainedModel

    model = next(m for m in module.modules() if isinstance(m, PreTrainedModel))
    full = model.get_input_embeddings()
    keep = used_ids(datasets, tokenizer.all_special_ids)
    model.set_input_embeddings(CompactEmbedding(full, keep))
    return {"rows": len(keep), "of": full.num_embeddings}


def compact_seq2seq(
    module: torch.nn.Module,
    encoded: dict[str, Any],
    tokenizer: Any,
    encoder: bool = True,
    more: Iterable[Any] = (),
) -> dict[str, dict[str, int]]:
    """Cut a `bench.train.kinds.translation.Seq2Seq`'s encoder input embedding to the source ids
    of every split and its decoder vocabulary to the target ids of every split but the test
    ones (``test:*`` roles); returns what each side kept, for the run record. ``encoder=False``
    keeps the whole encoder embedding (a back-translation model reads texts no split holds);
    `more`: other encoder inputs (``input_ids`` of texts outside the splits) to keep."""
    model = module.model
    specials = tokenizer.all_special_ids
    kept: dict[str, dict[str, int]] = {}
    if encoder:
        source = used_ids([*encoded.values(), *more], specials)
        full_in = model.encoder.get_input_embeddings()
        model.encoder.set_input_embeddings(CompactEmbedding(full_in, source))
        kept["encoder"] = {"rows": len(source), "of": full_in.num_embeddings}
    seen: set[int] = set(specials)
    for role, dataset in encoded.items():
        if not role.startswith("test:"):
            for labels in dataset["labels"]:
                seen.update(labels)
    keep = torch.tensor(sorted(seen), dtype=torch.long)
    decoder = model.decoder
    emb, out = decoder.get_input_embeddings(), decoder.get_output_embeddings()
    small = torch.nn.Embedding(len(keep), emb.embedding_dim, padding_idx=None)
    small.weight = torch.nn.Parameter(emb.weight.detach()[keep].clone())
    head = torch.nn.Linear(emb.embedding_dim, len(keep), bias=True)
    head.weight = (
        small.weight
        if out.weight is emb.weight
        else torch.nn.Parameter(out.weight.detach()[keep].clone())
    )
    bias = out.bias if out.bias is not None else torch.zeros(emb.num_embeddings)
    head.bias = torch.nn.Parameter(bias.detach()[keep].clone())
    decoder.set_input_embeddings(small)
    decoder.set_output_embeddings(head)
    for m in decoder.modules():  # the LM head's own copy of the bias (BERT, XLM-R): the kept rows
        if getattr(m, "decoder", None) is head and isinstance(
            getattr(m, "bias", None), torch.Tensor
        ):
            m.bias = head.bias
    decoder.config.vocab_size = len(keep)
    module.use_target_ids(keep, emb.num_embeddings)
    return {**kept, "decoder": {"rows": len(keep), "of": emb.num_embeddings}}


def compact_run(
    module: torch.nn.Module, kind: str, encoded: dict[str, Any], tokenizer: Any
) -> dict:
    """What `bench run` does for a ``compact_vocab`` backbone: `compact_seq2seq` for a
    translation task, else `compact` over every split (``encoded``: role -> dataset). A
    method's wrapper around the task module (``.task``: adversarial, the alignment auxiliary)
    feeds the encoder texts of its own (``encoder_inputs()``): their pieces are kept too."""
    extra: list[list[int]] = []
    while hasattr(module, "task") and hasattr(module, "encoder_inputs"):
        extra += module.encoder_inputs()
        module = module.task
    more = [{"input_ids": extra}] if extra else []
    if kind == "translation":
        return compact_seq2seq(module, encoded, tokenizer, more=more)
    return compact(module, [*encoded.values(), *more], tokenizer)
