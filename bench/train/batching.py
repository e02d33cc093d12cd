"""Length-grouped batches: examples of similar length share a batch, so dynamic padding wastes
little, while the batch order stays random (as `transformers`' ``group_by_length``).

Exercise: ``python -c "from bench.train.batching import padding_efficiency"`` via the perf script.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

MEGA = 50  # batches per sorting window: larger packs tighter but is less random


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffle, sort by length inside windows of `MEGA` batches, cut, shuffle the batches."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * MEGA
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i], reverse=True)
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def padding_efficiency(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """Real tokens / processed tokens when each batch is padded to its longest example."""
    real = sum(lengths[i] for b in batches for i in b)
    processed = sum(max(lengths[i] for i in b) * len(b) for b in batches if b)
    return real / max(1, processed)


def rows(dataset: Any) -> list[dict[str, Any]]:
    """The examples as plain dicts, converted once (an Arrow `datasets.Dataset` indexed row by
    row costs ~0.1 ms a row, which adds up in a training loop)."""
    return dataset.to_list() if hasattr(dataset, "to_list") else list(dataset)
