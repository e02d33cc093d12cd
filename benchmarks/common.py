"""What the benchmark scripts share: each task's benchmark case and its tokenised training rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.data.task import get_task
from bench.train.kinds import KINDS
from bench.train.trainer import TrainConfig

# (language, setting) each task is measured on: English training rows for the zero-shot
# tasks, Hausa-English pairs for flores
CASES = {
    "xnli": ("en", "zero-shot"),
    "masakhaner": ("en", "zero-shot"),
    "flores": ("ha", "in-language"),
}


def train_rows(
    name: str, folder: Path, root: Path | None, n: int, max_length: int
) -> dict[str, Any]:
    """The first `n` training rows of the task's case, tokenised for the backbone in `folder`:
    ``task``, ``kind``, ``tokenizer``, ``labels`` and ``encoded``."""
    from transformers import AutoTokenizer

    task = get_task(name)
    kind = KINDS[task.kind]
    lang, setting = CASES[name]
    # fix_mistral_regex=False: transformers 4.57.3-4.x takes every local folder whose config.json it
    # wrote for a Mistral tokenizer with a bad regex and warns; the flag (off) silences that false
    # warning and changes no tokenization
    tokenizer = AutoTokenizer.from_pretrained(folder, fix_mistral_regex=False)
    labels = task.labels(task.setting(setting)) if task.labels else None
    extra = labels if labels is not None else ("eng", "hau")
    if task.kind == "translation":
        kind.add_tags(tokenizer, list(extra))
    rows = task.load(lang, "train", setting, root).dataset
    rows = rows.select(range(min(n, len(rows))))
    encoded = kind.encode(rows, tokenizer, max_length, extra)
    return {
        "task": task,
        "kind": kind,
        "tokenizer": tokenizer,
        "labels": labels,
        "encoded": encoded,
    }


def bench_config(precision: str, **overrides: Any) -> TrainConfig:
    """The one-epoch recipe every benchmark trains with: lr 1e-4, batches of 32, seed 1, no
    evaluations or checkpoints (`overrides` change any of it)."""
    base = {"lr": 1e-4, "batch_size": 32, "epochs": 1, "seed": 1, "evals": 0}
    return TrainConfig(**(base | {"checkpoint_every": 10**9, "precision": precision} | overrides))
