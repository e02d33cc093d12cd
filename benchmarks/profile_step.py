"""Where a training step's time goes: a few steps of the suite's trainer under
`torch.profiler`, the top operators by self CPU time, and the share of the optimizer update.

Run on a quiet machine before choosing what to speed up (issue #16):

    python benchmarks/profile_step.py --backbone me5_small --task masakhaner --steps 12
    python benchmarks/profile_step.py --backbone me5_small --task masakhaner --compact-vocab
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from common import bench_config, train_rows

from bench.core.paths import cache_dir
from bench.data.source import data_root
from bench.train.backbone import resolve_backbone
from bench.train.build import materialize
from bench.train.trainer import seed_everything, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backbone", default="me5_small")
    parser.add_argument("--task", default="masakhaner")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--compact-vocab", action="store_true", help="as bench run trains it")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    root = data_root()
    backbone = resolve_backbone(args.backbone)[0]
    folder, _ = materialize(backbone, root, cache_dir())
    case = train_rows(args.task, folder, root, 32 * args.steps, args.max_length)
    task, kind, tokenizer, labels, encoded = (
        case[k] for k in ("task", "kind", "tokenizer", "labels", "encoded")
    )
    seed_everything(1)
    module = kind.build(folder, labels, tokenizer)
    if args.compact_vocab:
        from bench.train.vocab import compact_run

        compact_run(module, task.kind, {"train": encoded}, tokenizer)
    cfg = bench_config(args.precision)
    with tempfile.TemporaryDirectory() as tmp:
        warm = encoded.select(range(64))
        train(module, warm, kind.collate(tokenizer), cfg, Path(tmp) / "warm")  # untimed
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            train(module, encoded, kind.collate(tokenizer), cfg, Path(tmp) / "run")
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    print(
        f"{args.task} {args.precision} compact={args.compact_vocab}: {total / 1e6:.1f} s self CPU"
    )
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.top]:
        print(f"  {e.self_cpu_time_total / total:6.1%}  {e.count:6d}  {e.key}")
    adam = sum(e.self_cpu_time_total for e in events if "adam" in e.key.lower())
    print(f"  optimizer (adam kernels): {adam / total:.1%}")


if __name__ == "__main__":
    main()
