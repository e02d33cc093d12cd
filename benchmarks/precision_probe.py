"""Where a precision's training time goes: per-step wall time of the suite's trainer for each
precision variant on one task, then a profile (CPU and, on a GPU, CUDA time) of one variant.

Written for the open GPU question of the README's Speed section (on an H200, amp-bf16 trained
at 0.19-0.54x the `Trainer`'s amp-bf16 while fp32 ran at 1.3-6.4x): is it warm-up or every
step, and is it the row-sparse embedding update or the autocast path?

    python benchmarks/precision_probe.py --backbone tiny_xlmr --task xnli \
        --variants fp32,amp-bf16:cudnn,amp-bf16:cudnn,amp-bf16,bf16 --profile amp-bf16 --out probe.json

A variant is a precision, with ``:dense`` for the dense embedding update `Trainer` uses and
``:cudnn`` to let attention use cuDNN's kernels, as PyTorch does unless told otherwise (the
trainer switches them off); variants run in order in one process (a repeated one meets the
same batch shapes again).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from common import bench_config, train_rows

from bench.core.paths import cache_dir
from bench.data.source import data_root
from bench.train import trainer
from bench.train.backbone import resolve_backbone
from bench.train.build import materialize
from bench.train.kinds.common import shape_stable_attention
from bench.train.trainer import seed_everything, train


def setup(backbone: str, task_name: str, examples: int, max_length: int):
    """The backbone folder, the task's kind, its tokenizer, tokenised training rows and labels."""
    root = data_root()
    folder, _ = materialize(resolve_backbone(backbone)[0], root, cache_dir())
    case = train_rows(task_name, folder, root, examples, max_length)
    return folder, case["kind"], case["tokenizer"], case["encoded"], case["labels"]


def run_variant(variant: str, parts, steps: int, profile: bool) -> dict:
    """Train a fresh model for `steps` steps under the variant; the wall time of every step."""
    folder, kind, tokenizer, encoded, labels = parts
    precision, *flags = variant.split(":")
    sparse = "dense" not in flags
    # the trainer keeps attention off cuDNN (bench/train/kinds/common.py); `:cudnn` lets it back
    trainer.shape_stable_attention = (lambda: None) if "cudnn" in flags else shape_stable_attention
    torch.backends.cuda.enable_cudnn_sdp("cudnn" in flags)
    cfg = bench_config(precision, log_every=1, max_steps=steps)
    seed_everything(1)
    module = kind.build(folder, labels, tokenizer)
    marks: list[float] = []
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)

    def progress(step: int, total: int, loss: float) -> None:  # the loss is read back: a sync
        marks.append(time.perf_counter())

    acts = [torch.profiler.ProfilerActivity.CPU]
    if torch.cuda.is_available():
        acts.append(torch.profiler.ProfilerActivity.CUDA)
    profiler = torch.profiler.profile(activities=acts) if profile else contextlib.nullcontext()
    with tempfile.TemporaryDirectory() as tmp:
        sync()
        start = time.perf_counter()
        with profiler as prof:
            collate = kind.collate(tokenizer)
            train(module, encoded, collate, cfg, Path(tmp), progress=progress, row_sparse=sparse)
        sync()
        wall = time.perf_counter() - start
    step_ms = [1000 * (b - a) for a, b in zip([start, *marks[:-1]], marks, strict=True)]
    out = {
        "variant": variant,
        "wall_s": wall,
        "steps": len(marks),
        "first_step_ms": step_ms[0],
        "median_step_ms_after_5": statistics.median(step_ms[5:]) if len(step_ms) > 6 else None,
        "step_ms": [round(x, 2) for x in step_ms],
    }
    if profile:
        out["top"] = top_ops(prof)
    return out


def top_ops(prof, n: int = 20) -> dict[str, list]:
    """The operators with the most self CPU time and (on a GPU) self device time."""
    events = prof.key_averages()
    cpu = sorted(events, key=lambda e: -e.self_cpu_time_total)[:n]
    table = {"self_cpu": [(e.key, e.count, round(e.self_cpu_time_total / 1e3, 2)) for e in cpu]}
    if torch.cuda.is_available():
        dev = sorted(events, key=lambda e: -getattr(e, "self_device_time_total", 0))[:n]
        table["self_device"] = [
            (e.key, e.count, round(getattr(e, "self_device_time_total", 0) / 1e3, 2)) for e in dev
        ]
    return table


def python_profile(variant: str, parts, steps: int) -> None:
    """The Python functions a variant's steps spend their time in, blocking device calls
    included (``torch.profiler`` shows only operators)."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    r = run_variant(variant, parts, steps, profile=False)
    prof.disable()
    print(f"\n{variant}: cProfile of {r['steps']} steps ({r['wall_s']:.2f} s)")
    stats = pstats.Stats(prof).sort_stats("tottime")
    stats.print_stats(18)
    stats.sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backbone", default="tiny_xlmr")
    parser.add_argument("--task", default="xnli")
    parser.add_argument("--steps", type=int, default=48)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--variants", default="fp32,amp-bf16:cudnn,amp-bf16:cudnn,amp-bf16,bf16")
    parser.add_argument("--profile", default="amp-bf16", help="the variant to profile ('' none)")
    parser.add_argument("--cprofile", default="", help="variants to run under cProfile (Python)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    parts = setup(args.backbone, args.task, 32 * args.steps, args.max_length)
    report = {
        "backbone": args.backbone,
        "task": args.task,
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "runs": [],
    }
    for variant in [v for v in args.variants.split(",") if v]:
        r = run_variant(variant, parts, args.steps, profile=False)
        report["runs"].append(r)
        print(
            f"{variant:16s} wall {r['wall_s']:7.2f} s  first step {r['first_step_ms']:8.1f} ms"
            f"  median step (after 5) {r['median_step_ms_after_5'] or float('nan'):7.2f} ms",
            flush=True,
        )
    for variant in [v for v in args.cprofile.split(",") if v]:
        python_profile(variant, parts, min(args.steps, 24))
    if args.profile:
        r = run_variant(args.profile, parts, min(args.steps, 16), profile=True)
        report["profile"] = r
        for key, rows in r["top"].items():
            print(f"\n{args.profile}: top operators by {key} (name, calls, ms)")
            for name, count, ms in rows:
                print(f"  {ms:10.2f}  {count:6d}  {name[:90]}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
