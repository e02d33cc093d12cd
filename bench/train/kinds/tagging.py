"""Token classification (masakhaner): the first sub-token of each word carries its BIO tag;
scored with seqeval entity-level micro F1 (and per type) over words. Words cut off by
`max_length` are predicted ``O`` and counted in the record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from bench.train.batching import rows
from bench.train.kinds.common import (
    encoder_inputs,
    eval_batches,
    on_device,
    pad,
    pad_encoder_inputs,
)

IGNORE = -100


class Tagger(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | int]:
        logits = self.model(**encoder_inputs(batch)).logits.float()
        labels = batch["labels"]
        loss = torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE, reduction="sum"
        )
        return loss, (labels != IGNORE).sum()  # a tensor: no host sync in the step


def build(folder: Path, labels: list[str], tokenizer: Any) -> torch.nn.Module:
    from transformers import AutoModelForTokenClassification

    return Tagger(AutoModelForTokenClassification.from_pretrained(folder, num_labels=len(labels)))


def encode(
    dataset: Any, tokenizer: Any, max_length: int, labels: list[str], cache_file: str | None = None
) -> Any:
    index = {label: i for i, label in enumerate(labels)}

    def fn(batch: dict[str, list]) -> dict[str, list]:
        enc = tokenizer(
            batch["tokens"], is_split_into_words=True, truncation=True, max_length=max_length
        )
        out: dict[str, list] = {
            "input_ids": enc["input_ids"],
            "labels": [],
            "first": [],
            "length": [],
            "n_targets": [],
        }
        for row, tags in enumerate(batch["tags"]):
            seen: set[int] = set()
            row_labels, first = [], []
            for pos, word in enumerate(enc.word_ids(row)):
                if word is None or word in seen:
                    row_labels.append(IGNORE)
                    continue
                seen.add(word)
                first.append(pos)
                row_labels.append(index[tags[word]])
            out["labels"].append(row_labels)
            out["first"].append(first)
            out["length"].append(len(enc["input_ids"][row]))
            out["n_targets"].append(len(first))
        if "token_type_ids" in enc:
            out["token_type_ids"] = enc["token_type_ids"]
        return out

    return dataset.map(
        fn,
        batched=True,
        remove_columns=dataset.column_names,
        cache_file_name=cache_file,
        load_from_cache_file=cache_file is not None,
    )


def collate(tokenizer: Any):
    def fn(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = pad_encoder_inputs(items, tokenizer.pad_token_id)
        batch["labels"] = pad([x["labels"] for x in items], IGNORE)
        return batch

    return fn


@torch.no_grad()
def predict(
    module: torch.nn.Module,
    encoded: Any,
    dataset: Any,
    tokenizer: Any,
    labels: list[str],
    batch_size: int = 64,
) -> list[list[str]]:
    """Tags per word; words without a sub-token inside `max_length` get ``O``."""
    words = [len(t) for t in dataset["tokens"]]
    out = [["O"] * n for n in words]
    gather, examples = collate(tokenizer), rows(encoded)
    for ids in eval_batches(encoded["length"], batch_size):
        items = [examples[i] for i in ids]
        batch = on_device(encoder_inputs(gather(items)), module)
        best = module.model(**batch).logits.argmax(-1).cpu()
        for row, (i, item) in enumerate(zip(ids, items, strict=True)):
            for w, pos in enumerate(item["first"]):
                out[i][w] = labels[int(best[row, pos])]
    return out


def score(predictions: list[list[str]], dataset: Any, labels: Any = None) -> dict[str, Any]:
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    gold = dataset["tags"]
    report = classification_report(gold, predictions, output_dict=True, zero_division=0)
    per_type = {
        k: {m: round(float(v[m]), 6) for m in ("precision", "recall", "f1-score", "support")}
        for k, v in report.items()
        if not k.endswith("avg")
    }
    return {
        "f1": f1_score(gold, predictions, zero_division=0),
        "precision": precision_score(gold, predictions, zero_division=0),
        "recall": recall_score(gold, predictions, zero_division=0),
        "per_type": per_type,
    }


def selection_score(
    module: torch.nn.Module, encoded: Any, dataset: Any, tokenizer: Any, labels: list[str]
) -> float:
    return score(predict(module, encoded, dataset, tokenizer, labels), dataset)["f1"]
