"""Training throughput of the suite's trainer against `transformers.Trainer`, per task head.

Same model, same examples (one epoch over the same subset), same global batch, max length,
optimizer (AdamW, linear schedule) and precision, one after the other in one process:

* ``suite``: bench.train.trainer (DeepSpeed engine, length-grouped batches, dynamic padding);
* ``hf-example``: Trainer configured as the Hugging Face example scripts do (run_xnli.py pads
  to max_length; run_ner.py / run_translation.py pad dynamically, no length grouping);
* ``hf-tuned``: Trainer as a knowledgeable user would set it (dynamic padding, group_by_length).

Reports real (non-padding) tokens/s, the ratio to each Trainer configuration, the padding
efficiency of each batching, and model FLOPs utilisation against a matmul peak measured in the
same run. Writes JSON to results/perf/. Usage:

    python benchmarks/throughput.py --backbone tiny_xlmr --examples 1024 --tasks xnli,masakhaner,flores
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from common import bench_config, train_rows

from bench.core.paths import cache_dir, results_dir
from bench.data.source import data_root
from bench.data.task import get_task
from bench.runs.records import environment, write_atomic
from bench.train.backbone import resolve_backbone
from bench.train.batching import length_grouped_batches, padding_efficiency
from bench.train.build import materialize
from bench.train.trainer import seed_everything, train


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    """Measured fp32 FLOP/s of a large matmul on this machine's training device (the MFU
    denominator): the GPU when there is one, else the CPU."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync()
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def flops_per_token(module: torch.nn.Module) -> float:
    """~6 x parameters touched per token (forward + backward), embeddings excluded."""
    params = sum(p.numel() for n, p in module.named_parameters() if "embeddings" not in n)
    return 6.0 * params


def hf_batches(lengths: list[int], batch: int, grouped: bool, seed: int) -> list[list[int]]:
    """The batches a Trainer forms: random, or length-grouped (its LengthGroupedSampler)."""
    if grouped:
        from transformers.trainer_pt_utils import get_length_grouped_indices

        generator = torch.Generator().manual_seed(seed)
        order = get_length_grouped_indices(lengths, batch, generator=generator)
    else:
        order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(seed)).tolist()
    return [order[i : i + batch] for i in range(0, len(order), batch)]


def run_suite(kind, folder, labels, tokenizer, encoded, cfg, work, compact_vocab=None):
    """The suite's trainer on the model as built or, with `compact_vocab` (the task's kind),
    as `bench run` trains a backbone whose spec says ``compact_vocab`` (bench/train/vocab.py: the
    same logits, only the embedding rows the examples use; translation: the decoder's too)."""
    seed_everything(cfg.seed)
    module = kind.build(folder, labels, tokenizer)
    if compact_vocab:
        from bench.train.vocab import compact_run

        compact_run(module, compact_vocab, {"train": encoded}, tokenizer)
    start = time.perf_counter()
    train(module, encoded, kind.collate(tokenizer), cfg, work)
    return time.perf_counter() - start, module


def run_hf(task_kind, module, tokenizer, encoded, cfg, pad_to_max: int | None, grouped: bool, work):
    from transformers import (
        DataCollatorForSeq2Seq,
        DataCollatorForTokenClassification,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    model = module.model
    columns = {"input_ids", "attention_mask", "labels", "token_type_ids"}
    data = encoded.remove_columns([c for c in encoded.column_names if c not in columns])
    if task_kind == "token-classification":
        collator = DataCollatorForTokenClassification(
            tokenizer, padding="max_length" if pad_to_max else True, max_length=pad_to_max
        )
    elif task_kind == "translation":
        collator = DataCollatorForSeq2Seq(
            tokenizer,
            model=model,
            padding="max_length" if pad_to_max else True,
            max_length=pad_to_max,
        )
    else:
        collator = DataCollatorWithPadding(
            tokenizer, padding="max_length" if pad_to_max else True, max_length=pad_to_max
        )
    args = TrainingArguments(
        output_dir=str(work),
        per_device_train_batch_size=cfg.batch_size,
        num_train_epochs=1,
        learning_rate=cfg.lr,
        warmup_ratio=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.grad_clip,
        seed=cfg.seed,
        logging_steps=cfg.log_every,
        save_strategy="no",
        report_to=[],
        group_by_length=grouped,
        length_column_name="length",
        dataloader_num_workers=0,
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=True,
        bf16=cfg.precision != "fp32",  # torch.autocast bf16, as the suite's amp-bf16
    )
    if grouped:
        data = data.add_column("length", encoded["length"])
    trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=collator)
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start


def bench_task(
    name: str,
    folder: Path,
    n: int,
    root: Path,
    peak: float,
    max_length: int,
    precisions: list[str],
    compact_vocab: bool = False,
    repeats: int = 1,
) -> dict:
    task = get_task(name)
    case = train_rows(name, folder, root, n if task.kind != "translation" else n // 2, max_length)
    kind, tokenizer, labels, encoded = (case[k] for k in ("kind", "tokenizer", "labels", "encoded"))
    lengths = list(encoded["length"])
    real_tokens = sum(lengths)
    out: dict = {
        "task": name,
        "examples": len(encoded),
        "real_tokens": real_tokens,
        "batch_size": 32,
        "max_length": max_length,
    }
    for precision in precisions:
        cfg = bench_config(precision, log_every=20)
        out[precision] = median_of(
            [
                compare(
                    task,
                    kind,
                    folder,
                    labels,
                    tokenizer,
                    encoded,
                    cfg,
                    max_length,
                    peak,
                    compact_vocab,
                )
                for _ in range(repeats)
            ]
        )
    return out


def median_of(runs: list[dict]) -> dict:
    """Several repeats of one comparison as one: per trainer the median wall time (and the
    tokens/s it gives), every repeat's tokens/s kept; ratios from the medians."""
    if len(runs) == 1:
        return runs[0]
    out: dict = {}
    for label in [k for k, v in runs[0].items() if isinstance(v, dict)]:
        wall = statistics.median([r[label]["wall_s"] for r in runs])
        first = runs[0][label]
        out[label] = {
            **first,
            "wall_s": wall,
            "tokens_per_s": first["tokens_per_s"] * first["wall_s"] / wall,
            "mfu": first["mfu"] * first["wall_s"] / wall,
            "repeats_tokens_per_s": [r[label]["tokens_per_s"] for r in runs],
        }
    for label in ("hf-example", "hf-tuned"):
        out[f"speedup_vs_{label}"] = out["suite"]["tokens_per_s"] / out[label]["tokens_per_s"]
    if "suite-defaults" in out:
        tuned = out["hf-tuned"]["tokens_per_s"]
        out["defaults_speedup_vs_hf-tuned"] = out["suite-defaults"]["tokens_per_s"] / tuned
    return out


def compare(
    task, kind, folder, labels, tokenizer, encoded, cfg, max_length, peak, compact_vocab=False
) -> dict:
    """suite vs the two Trainer configurations at one precision, one after the other; with
    `compact_vocab`, also the suite as `bench run` trains that backbone (``suite-defaults``)."""
    lengths = list(encoded["length"])
    real_tokens = sum(lengths)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Untimed warm-up of both trainers (first-call costs: imports, allocator, DeepSpeed
        # and accelerate initialisation), so that neither pays them inside its timing.
        short = encoded.select(range(min(len(encoded), cfg.batch_size * 4)))
        run_suite(kind, folder, labels, tokenizer, short, cfg, Path(tmp) / "warm-suite")
        run_hf(
            task.kind,
            kind.build(folder, labels, tokenizer),
            tokenizer,
            short,
            cfg,
            None,
            True,
            Path(tmp) / "warm-hf",
        )
        wall, module = run_suite(kind, folder, labels, tokenizer, encoded, cfg, Path(tmp) / "suite")
        out["suite"] = {
            "threads": torch.get_num_threads(),
            "wall_s": wall,
            "tokens_per_s": real_tokens / wall,
            "padding_efficiency": padding_efficiency(
                lengths, length_grouped_batches(lengths, cfg.batch_size, 1000)
            ),
        }
        per_token = flops_per_token(module)
        if compact_vocab:
            wall, _ = run_suite(
                kind, folder, labels, tokenizer, encoded, cfg, Path(tmp) / "defaults", task.kind
            )
            out["suite-defaults"] = {
                **out["suite"],
                "wall_s": wall,
                "tokens_per_s": real_tokens / wall,
            }
        example_pad = (
            max_length if task.kind == "sequence-pair-classification" else None
        )  # run_xnli.py pads to max_seq_length; run_ner.py / run_translation.py pad dynamically
        for label, pad, grouped in (("hf-example", example_pad, False), ("hf-tuned", None, True)):
            seed_everything(cfg.seed)
            fresh = kind.build(folder, labels, tokenizer)
            wall = run_hf(
                task.kind, fresh, tokenizer, encoded, cfg, pad, grouped, Path(tmp) / label
            )
            batches = hf_batches(lengths, cfg.batch_size, grouped, cfg.seed)
            eff = (
                padding_efficiency(lengths, batches)
                if pad is None
                else real_tokens / (len(lengths) * max_length)
            )
            out[label] = {
                "threads": torch.get_num_threads(),
                "wall_s": wall,
                "tokens_per_s": real_tokens / wall,
                "padding_efficiency": eff,
            }
    for label in ("hf-example", "hf-tuned"):
        out[f"speedup_vs_{label}"] = out["suite"]["tokens_per_s"] / out[label]["tokens_per_s"]
    if compact_vocab:
        tuned = out["hf-tuned"]["tokens_per_s"]
        out["defaults_speedup_vs_hf-tuned"] = out["suite-defaults"]["tokens_per_s"] / tuned
    for label in [x for x in ("suite", "suite-defaults", "hf-example", "hf-tuned") if x in out]:
        processed = out[label]["tokens_per_s"] / out[label]["padding_efficiency"]
        out[label]["mfu"] = processed * per_token / peak
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backbone", default="tiny_xlmr")
    parser.add_argument("--tasks", default="xnli,masakhaner,flores")
    parser.add_argument("--examples", type=int, default=1024)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--precisions", default="fp32,amp-bf16")
    parser.add_argument(
        "--repeats", type=int, default=1, help="repeat each comparison; report medians"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.threads:
        # accelerate (inside Trainer) resets torch's threads to the core count when
        # OMP_NUM_THREADS is unset and torch.distributed is initialised (as the suite's is)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
        torch.set_num_threads(args.threads)
    root = data_root()
    backbone = resolve_backbone(args.backbone)[0]
    folder, prov = materialize(backbone, root, cache_dir())
    compact_vocab = bool(backbone.package.get("compact_vocab"))
    peak = matmul_peak()
    report = {
        "backbone": args.backbone,
        "backbone_id": prov.get("key"),
        "machine": platform.node(),
        "peak_flops": peak,
        "threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "environment": environment(),
        "tasks": [],
    }
    for name in args.tasks.split(","):
        precisions = args.precisions.split(",")
        result = bench_task(
            name,
            folder,
            args.examples,
            root,
            peak,
            args.max_length,
            precisions,
            compact_vocab,
            args.repeats,
        )
        report["tasks"].append(result)
        for p in precisions:
            r = result[p]
            print(
                f"{name:<11} {p:<8} suite {r['suite']['tokens_per_s']:8.0f} tok/s | "
                f"x{r['speedup_vs_hf-example']:.2f} vs example Trainer "
                f"({r['hf-example']['tokens_per_s']:.0f}) | x{r['speedup_vs_hf-tuned']:.2f} vs tuned "
                f"({r['hf-tuned']['tokens_per_s']:.0f}) | padding "
                f"{r['suite']['padding_efficiency']:.1%} (example {r['hf-example']['padding_efficiency']:.1%}, "
                f"tuned {r['hf-tuned']['padding_efficiency']:.1%}) | MFU {r['suite']['mfu']:.2%}",
                flush=True,
            )
            if "suite-defaults" in r:
                print(
                    f"{'':<11} {p:<8} suite with its defaults (compact vocabulary) "
                    f"{r['suite-defaults']['tokens_per_s']:8.0f} tok/s | "
                    f"x{r['defaults_speedup_vs_hf-tuned']:.2f} vs tuned Trainer",
                    flush=True,
                )
    out = (
        args.out
        or results_dir()
        / "perf"
        / f"throughput-{args.backbone}-t{torch.get_num_threads()}-{math.floor(time.time())}.json"
    )
    write_atomic(out, json.dumps(report, indent=1).encode())
    print(f"written: {out}")


if __name__ == "__main__":
    main()
