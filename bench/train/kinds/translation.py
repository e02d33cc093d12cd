"""Translation (flores): a sequence-to-sequence model warm-started from the encoder (Rothe et
al., 2020: encoder and decoder initialised from the backbone, cross-attention new), trained on
both directions at once with a target-language tag as the first source token; beam search.
Scored with sacreBLEU BLEU, chrF++ and spBLEU (``-tok flores200``), signatures stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from bench.core.progress import counter
from bench.train.batching import rows
from bench.train.kinds.common import device_of, eval_batches, on_device, pad

IGNORE = -100
BEAMS = 4


def tag(code: str) -> str:
    return f"<2{code}>"


class Seq2Seq(torch.nn.Module):
    """The encoder-decoder and its loss. Batches carry tokenizer ids; after
    `bench.train.vocab.compact_seq2seq` the decoder works in a compact id space, and this module maps
    targets into it (`to_decoder`) and generated ids back out (`to_tokenizer`)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("target_lookup", None)  # set by use_target_ids
        self.register_buffer("target_ids", None)

    def use_target_ids(self, keep: torch.Tensor, size: int) -> None:
        """Decoder id i is tokenizer id keep[i]; every other tokenizer id maps to -1 (a loud
        index error, never a silent <unk>)."""
        lookup = torch.full((size,), -1, dtype=torch.long)
        lookup[keep] = torch.arange(len(keep))
        self.target_lookup, self.target_ids = lookup, keep.clone()
        for config in (self.model.config, self.model.generation_config):
            for name in ("decoder_start_token_id", "eos_token_id", "pad_token_id"):
                setattr(config, name, int(lookup[getattr(config, name)]))

    def to_decoder(self, ids: torch.Tensor) -> torch.Tensor:
        if self.target_ids is None:
            return ids
        return torch.where(ids == IGNORE, ids, self.target_lookup[ids.clamp(min=0)])

    def to_tokenizer(self, ids: torch.Tensor) -> torch.Tensor:
        return ids if self.target_ids is None else self.target_ids[ids]

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | int]:
        logits = self.model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            decoder_input_ids=self.to_decoder(batch["decoder_input_ids"]),
            decoder_attention_mask=batch["decoder_attention_mask"],
        ).logits.float()
        labels = self.to_decoder(batch["labels"])
        loss = torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE, reduction="sum"
        )
        return loss, (labels != IGNORE).sum()  # a tensor: no host sync in the step


def build(
    folder: Path,
    labels: list[str] | None,
    tokenizer: Any,
    decoder_layers: int | None = None,
    beams: int | None = None,
) -> torch.nn.Module:
    """Encoder and decoder both from `folder`; with `decoder_layers`, the decoder keeps only
    the backbone's first N layers (a deep encoder and a shallow decoder, Kasai et al. 2021:
    most of the cost of training and of beam search is the decoder's); `beams`: the beam
    width of its translations (1: greedy; default `BEAMS`)."""
    from transformers import EncoderDecoderModel

    shallow = {"decoder_num_hidden_layers": decoder_layers} if decoder_layers else {}
    model = EncoderDecoderModel.from_encoder_decoder_pretrained(str(folder), str(folder), **shallow)
    model.encoder.resize_token_embeddings(len(tokenizer))
    model.decoder.resize_token_embeddings(len(tokenizer))
    model.config.decoder_start_token_id = tokenizer.cls_token_id
    model.config.eos_token_id = tokenizer.sep_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.vocab_size = len(tokenizer)
    model.generation_config.decoder_start_token_id = tokenizer.cls_token_id
    model.generation_config.eos_token_id = tokenizer.sep_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.num_beams = beams or BEAMS
    return Seq2Seq(model)


def add_tags(tokenizer: Any, codes: list[str]) -> None:
    """The direction tags are new special tokens (the model's embeddings are resized for them)."""
    tokenizer.add_special_tokens({"additional_special_tokens": [tag(c) for c in codes]})


def encode(
    dataset: Any,
    tokenizer: Any,
    max_length: int,
    codes: tuple[str, str],
    cache_file: str | None = None,
) -> Any:
    """Both directions of every pair: (tag(xx) + English -> xx) and (tag(en) + xx -> English);
    pairs marked ``synthetic`` (back-translation: synthetic English, real xx) only the first."""
    src_code, tgt_code = codes

    def fn(batch: dict[str, list]) -> dict[str, list]:
        out: dict[str, list] = {
            "input_ids": [],
            "labels": [],
            "direction": [],
            "index": [],
            "length": [],
            "n_targets": [],
        }
        synthetic = batch.get("synthetic") or [False] * len(batch["src"])
        for direction, sources, targets, code in (
            (f"{src_code}-{tgt_code}", batch["src"], batch["tgt"], tgt_code),
            (f"{tgt_code}-{src_code}", batch["tgt"], batch["src"], src_code),
        ):
            enc = tokenizer(
                [f"{tag(code)} {s}" for s in sources], truncation=True, max_length=max_length
            )
            dec = tokenizer(targets, truncation=True, max_length=max_length)
            for i, (ids, lab) in enumerate(zip(enc["input_ids"], dec["input_ids"], strict=True)):
                if synthetic[i] and direction != f"{src_code}-{tgt_code}":
                    continue  # back-translated pairs teach only the direction into the real text
                out["input_ids"].append(ids)
                out["labels"].append(lab[1:])  # the decoder starts from [CLS]/<s> itself
                out["direction"].append(direction)
                out["index"].append(batch["row"][i])
                out["length"].append(len(ids) + len(lab) - 1)
                out["n_targets"].append(len(lab) - 1)
        return out

    indexed = dataset.add_column("row", list(range(len(dataset))))
    return indexed.map(
        fn,
        batched=True,
        remove_columns=indexed.column_names,
        cache_file_name=cache_file,
        load_from_cache_file=cache_file is not None,
    )


def collate(tokenizer: Any):
    start, pad_id = tokenizer.cls_token_id, tokenizer.pad_token_id

    def fn(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        ids = pad([x["input_ids"] for x in items], pad_id)
        dec_in = pad([[start, *x["labels"][:-1]] for x in items], pad_id)
        return {
            "input_ids": ids,
            "attention_mask": (ids != pad_id).long(),
            "decoder_input_ids": dec_in,
            "decoder_attention_mask": (dec_in != pad_id).long(),
            "labels": pad([x["labels"] for x in items], IGNORE),
        }

    return fn


@torch.no_grad()
def predict(
    module: torch.nn.Module,
    encoded: Any,
    dataset: Any,
    tokenizer: Any,
    labels: Any = None,
    batch_size: int = 64,
) -> dict[str, list[str]]:
    """Beam-search (or greedy, with beams=1) translations per direction, in row order."""
    out: dict[str, list[str]] = {}
    limit = module.model.decoder.config.max_position_embeddings - 4  # XLM-R offsets positions by 2
    seq2seq = next(m for m in module.modules() if isinstance(m, Seq2Seq))  # wrapped or not
    every = rows(encoded)
    for direction in sorted({r["direction"] for r in every}):
        examples = [r for r in every if r["direction"] == direction]
        hyps = [""] * len(dataset)
        with counter(f"translating {direction}", len(examples), "sent") as advance:
            _decode(module, seq2seq, examples, tokenizer, batch_size, limit, hyps, advance)
        out[direction] = hyps
    return out


def _decode(
    module: torch.nn.Module,
    seq2seq: Seq2Seq,
    examples: list[dict[str, Any]],
    tokenizer: Any,
    batch_size: int,
    limit: int,
    hyps: list[str],
    advance: Any,
) -> None:
    """Beam search over `examples` (one direction), length-sorted batches, into `hyps`."""
    for ids in eval_batches([r["length"] for r in examples], batch_size):
        batch = [examples[i] for i in ids]
        src = pad([r["input_ids"] for r in batch], tokenizer.pad_token_id)
        src = src.to(device_of(module))
        gen = module.model.generate(
            input_ids=src,
            attention_mask=(src != tokenizer.pad_token_id).long(),
            num_beams=module.model.generation_config.num_beams,
            max_new_tokens=min(limit, int(src.shape[1] * 1.5) + 8),
            early_stopping=module.model.generation_config.num_beams > 1,
        )
        texts = tokenizer.batch_decode(seq2seq.to_tokenizer(gen), skip_special_tokens=True)
        for r, text in zip(batch, texts, strict=True):
            hyps[r["index"]] = text.strip()
        advance(len(batch))


def score(
    predictions: dict[str, list[str]], dataset: Any, codes: tuple[str, str]
) -> dict[str, Any]:
    """Scores per direction: English->target is scored against ``tgt``, the reverse ``src``."""
    from bench.train.metrics import translation_scores

    forward = f"{codes[0]}-{codes[1]}"
    return {
        d: translation_scores(hyps, dataset["tgt"] if d == forward else dataset["src"])
        for d, hyps in predictions.items()
    }


@torch.no_grad()
def selection_score(
    module: torch.nn.Module, encoded: Any, dataset: Any, tokenizer: Any, labels: Any = None
) -> float:
    """Negative teacher-forced dev loss per target token (cheap; no decoding during training)."""
    gather, total, count = collate(tokenizer), 0.0, 0
    examples = rows(encoded)
    for ids in eval_batches(encoded["length"], 64):
        loss, n = module(on_device(gather([examples[i] for i in ids]), module))
        total, count = total + float(loss), count + int(n)
    return -total / max(1, count)
