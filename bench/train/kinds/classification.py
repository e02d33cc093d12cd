"""Sequence-pair classification (xnli): [CLS] premise [SEP] hypothesis -> label; accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from bench.train.batching import rows
from bench.train.kinds.common import encoder_inputs, eval_batches, on_device, pad_encoder_inputs


class Classifier(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        logits = self.model(**encoder_inputs(batch)).logits.float()
        return torch.nn.functional.cross_entropy(logits, batch["labels"], reduction="sum"), len(
            batch["labels"]
        )


def build(folder: Path, labels: list[str], tokenizer: Any) -> torch.nn.Module:
    from transformers import AutoModelForSequenceClassification

    return Classifier(
        AutoModelForSequenceClassification.from_pretrained(folder, num_labels=len(labels))
    )


def encode(
    dataset: Any, tokenizer: Any, max_length: int, labels: list[str], cache_file: str | None = None
) -> Any:
    def fn(batch: dict[str, list]) -> dict[str, list]:
        enc = tokenizer(
            batch["premise"], batch["hypothesis"], truncation=True, max_length=max_length
        )
        enc["labels"] = [labels.index(label) for label in batch["label"]]
        enc["length"] = [len(ids) for ids in enc["input_ids"]]
        enc["n_targets"] = [1] * len(enc["input_ids"])
        return dict(enc)

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
        batch["labels"] = torch.tensor([x["labels"] for x in items], dtype=torch.long)
        return batch

    return fn


@torch.no_grad()
def predict(
    module: torch.nn.Module,
    encoded: Any,
    dataset: Any,
    tokenizer: Any,
    labels: list[str],
    batch_size: int = 128,
) -> list[str]:
    out: list[str] = [""] * len(encoded)
    gather, examples = collate(tokenizer), rows(encoded)
    for ids in eval_batches(encoded["length"], batch_size):
        batch = on_device(encoder_inputs(gather([examples[i] for i in ids])), module)
        logits = module.model(**batch).logits
        for i, k in zip(ids, logits.argmax(-1).tolist(), strict=True):
            out[i] = labels[k]
    return out


def score(predictions: list[str], dataset: Any, labels: Any = None) -> dict[str, Any]:
    gold = dataset["label"]
    return {"accuracy": sum(p == g for p, g in zip(predictions, gold, strict=True)) / len(gold)}


def selection_score(
    module: torch.nn.Module, encoded: Any, dataset: Any, tokenizer: Any, labels: list[str]
) -> float:
    return score(predict(module, encoded, dataset, tokenizer, labels), dataset)["accuracy"]
