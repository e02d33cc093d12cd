"""Helpers shared by the task kinds: padding, ordered evaluation batches, the precision and the
dev sample of evaluations."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

import torch


def pad(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    """Right-pad integer rows to the longest one (dynamic padding)."""
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def eval_batches(lengths: Sequence[int], size: int) -> Iterator[list[int]]:
    """Length-sorted batches of indices (no shuffling): minimal padding at evaluation."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    for i in range(0, len(order), size):
        yield order[i : i + size]


def encoder_inputs(batch: dict[str, Any]) -> dict[str, Any]:
    keys = ("input_ids", "attention_mask", "token_type_ids")
    return {k: batch[k] for k in keys if k in batch}


def accelerator() -> torch.device:
    """The device inference-only models (translators) are loaded onto."""
    shape_stable_attention()
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def shape_stable_attention() -> None:
    """Keep PyTorch's attention off cuDNN's kernels (a process-wide switch; no effect on CPUs).

    Under bf16 on a Hopper GPU, `scaled_dot_product_attention` picks cuDNN, which builds an
    execution plan for every new (batch, length) shape; the suite's batches are padded to their
    own longest sequence, so nearly every early step meets a new shape. Measured on an H200
    (`benchmarks/precision_probe.py`, tiny_xlmr xnli, 48 steps): 135 ms a step on new shapes with
    cuDNN, 19 ms once its plans were cached, 22 ms with it off (fp32: 13 ms, cuDNN unused).
    The flash and memory-efficient kernels take any shape at no planning cost.
    """
    torch.backends.cuda.enable_cudnn_sdp(False)


def device_of(module: torch.nn.Module) -> torch.device:
    """Where the module's weights live (the GPU after DeepSpeed placed it there)."""
    return next(module.parameters()).device


def on_device(batch: dict[str, Any], module: torch.nn.Module) -> dict[str, Any]:
    """The batch's tensors moved to the module's device (collation builds them on the CPU)."""
    device = device_of(module)
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def pad_encoder_inputs(items: Sequence[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    """input_ids, attention_mask (and token_type_ids, for BERT) padded to the batch's longest."""
    batch = {"input_ids": pad([x["input_ids"] for x in items], pad_id)}
    batch["attention_mask"] = (batch["input_ids"] != pad_id).long()
    if "token_type_ids" in items[0]:
        batch["token_type_ids"] = pad([x["token_type_ids"] for x in items], 0)
    return batch


def eval_precision(module: torch.nn.Module, precision: str | None) -> Any:
    """The context dev and test predictions run in: bf16 autocast for ``amp-bf16`` (about twice
    as fast on a CPU with BF16 instructions: 8.9 vs 17.4 s for 1,024 XNLI pairs on me5_small, 2
    threads), else full precision. Weights stay fp32 either way."""
    amp = precision == "amp-bf16"
    return torch.autocast(device_of(module).type, dtype=torch.bfloat16, enabled=amp)


def dev_sample(encoded: Any, dataset: Any, rows: int | None) -> tuple[Any, Any]:
    """A dev split cut to `rows` of its rows, the same fixed sample (seed 0) for every run, so
    that evaluations during training cost less; the whole split when `rows` is unset or larger.
    Encoded rows follow their dataset row (a translation pair encodes both directions)."""
    if not rows or rows >= len(dataset):
        return encoded, dataset
    keep = sorted(random.Random(0).sample(range(len(dataset)), rows))
    if "index" in encoded.column_names:
        wanted = set(keep)
        return encoded.filter(lambda r: r["index"] in wanted), dataset.select(keep)
    if len(encoded) != len(dataset):
        raise ValueError(f"{len(encoded)} encoded rows for {len(dataset)} dataset rows")
    return encoded.select(keep), dataset.select(keep)
