"""The masked-LM objective, shared by the offline pre-training (`bench.train.pretrain`) and
the +MLM method (continued pre-training on target-language text): masking, collation, the
model wrapper and its training run. Exercise: ``bench run --method mlm --dry-run``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch

from bench.core.progress import bar
from bench.train.trainer import TrainConfig, train


class MaskedLM(torch.nn.Module):
    """MLM loss computed only at the masked positions (the vocabulary projection is the most
    expensive layer of a small model; 85% of positions need no logits)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.head = model.lm_head if hasattr(model, "lm_head") else model.cls

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        hidden = self.model.base_model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        )[0]
        picked = hidden[batch["mlm_rows"], batch["mlm_positions"]]
        logits = self.head(picked).float()
        loss = torch.nn.functional.cross_entropy(logits, batch["mlm_labels"], reduction="sum")
        return loss, int(batch["mlm_labels"].numel())


def mask_examples(tokenizer: Any, lines: list[str], build: dict[str, Any]) -> Any:
    """Tokenise and mask once with a fixed seed (static masking; 80/10/10 as in BERT)."""
    from datasets import Dataset

    rng = random.Random(build["seed"])
    enc = tokenizer(lines, truncation=True, max_length=build["max_length"])
    special = set(tokenizer.all_special_ids)
    vocab = len(tokenizer)  # slow to compute in transformers: once, not per token
    rows: dict[str, list] = {
        "input_ids": [],
        "mlm_positions": [],
        "mlm_labels": [],
        "length": [],
        "n_targets": [],
    }
    for ids in enc["input_ids"]:
        candidates = [i for i, t in enumerate(ids) if t not in special]
        k = max(1, round(build["mask_prob"] * len(candidates)))
        positions = sorted(rng.sample(candidates, min(k, len(candidates)))) if candidates else []
        masked = list(ids)
        for p in positions:
            roll = rng.random()
            masked[p] = (
                tokenizer.mask_token_id
                if roll < 0.8
                else (rng.randrange(vocab) if roll < 0.9 else ids[p])
            )
        rows["input_ids"].append(masked)
        rows["mlm_positions"].append(positions)
        rows["mlm_labels"].append([ids[p] for p in positions])
        rows["length"].append(len(ids))
        rows["n_targets"].append(len(positions))
    return Dataset.from_dict(rows).with_format(None)


def collate_mlm(pad_id: int):
    def collate(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(x["input_ids"]) for x in items)
        ids = torch.full((len(items), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        rows, positions, labels = [], [], []
        for r, x in enumerate(items):
            ids[r, : len(x["input_ids"])] = torch.tensor(x["input_ids"])
            mask[r, : len(x["input_ids"])] = 1
            rows += [r] * len(x["mlm_positions"])
            positions += x["mlm_positions"]
            labels += x["mlm_labels"]
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "mlm_rows": torch.tensor(rows, dtype=torch.long),
            "mlm_positions": torch.tensor(positions, dtype=torch.long),
            "mlm_labels": torch.tensor(labels, dtype=torch.long),
        }

    return collate


def train_masked_lm(
    model: Any,
    tokenizer: Any,
    data: Any,
    work: Path,
    label: str,
    *,
    lr: float,
    batch_size: int,
    steps: int,
    seed: int,
    epochs: int,
    precision: str = "fp32",
) -> Any:
    """Masked-LM training of ``model`` on masked ``data`` (pre-training a backbone, or the
    +MLM method's continued training) through the suite's DeepSpeed trainer; resumable from
    ``work/train``."""
    cfg = TrainConfig(
        lr=lr,
        batch_size=batch_size,
        epochs=epochs,
        max_steps=steps,
        warmup_ratio=0.06,
        seed=seed,
        evals=0,
        checkpoint_every=250,
        log_every=25,
        precision=precision,
    )
    with bar(label, total=steps) as tick:
        return train(
            MaskedLM(model),
            data,
            collate_mlm(tokenizer.pad_token_id),
            cfg,
            work / "train",
            progress=tick,
        )
