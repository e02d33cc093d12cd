"""Which CPU kernels decide a stage build's floats? (Why me5_small's MLM stage rebuilt on an AMD
EPYC is not the Intel Xeon build the committed records used: `bench/runs/stagecheck.py`.)

MKL, torch's fp32 BLAS, takes a generic code path on a CPU it does not take for Intel's. For
each variant, in a process of its own, this measures the MKL path taken
(`mkl_serv_cpu_detect`, 0 = generic), one fp32 matmul's time, and the held-out masked-LM
perplexity that the MLM stage measures before it trains (fp32, no autocast): the number a
committed record holds, so agreement to the last digit pins a difference on kernels rather
than on data or code. Variants: `default`, and `mkl-intel-path`, which LD_PRELOADs a two-line
shim (built with the system C compiler) making MKL take its Intel path on any x86 CPU.

    python scripts/cpu_numerics.py \
        --record results/runs/xnli/swa/me5_small/mlm/zero-shot/source-dev-seed2-c628f6eb87.json \
        --out results/analysis/cpu-numerics-amd.json

The stage's bf16 autocast training runs oneDNN kernels chosen by instruction set instead
(`ONEDNN_MAX_CPU_ISA` moves its losses); no shim reaches those, so a bf16 stage is rebuilt
only on a CPU with the same instruction sets (`environment.hardware.isa` in every record).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHIM = "int mkl_serv_intel_cpu_true(void) { return 1; }\n"


def build_shim(folder: Path) -> Path | None:
    """The shim library, or None without a C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    (folder / "shim.c").write_text(SHIM)
    lib = folder / "libmkl_intel_path.so"
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", lib, folder / "shim.c"], check=True)
    return lib


def mkl_path() -> int:
    """MKL's detected CPU type in this process (0: the generic path)."""
    import ctypes

    import torch

    lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
    return int(lib.mkl_serv_cpu_detect())


def matmul_ms(repeats: int = 20) -> float:
    """Median time of a 512x384 @ 384x1536 fp32 matmul (a me5_small feed-forward's shape)."""
    import torch

    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(512, 384, generator=gen), torch.randn(384, 1536, generator=gen)
    times = []
    for _ in range(repeats + 3):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return round(sorted(times[3:])[repeats // 2] * 1000, 2)


def perplexity_before(record: dict, lang: str) -> float:
    """The MLM stage's held-out perplexity before training, for `lang`, as the stage computes
    it (its backbone, seed-0 head, first `heldout` lines, guard languages from the record)."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from bench.core.paths import cache_dir
    from bench.data.language import get_language
    from bench.data.source import data_root
    from bench.train.backbone import resolve_backbone
    from bench.train.build import materialize
    from bench.train.stages import monolingual_text, usable_length
    from bench.train.trainer import seed_everything
    from methods.mlm import masked_perplexity

    config = record["method_reports"]["mlm"]["config"]
    root = data_root(None)
    folder = materialize(resolve_backbone(record["config"]["backbone"])[0], root, cache_dir())[0]
    guards = [get_language(c) for c in record["config"]["adapted_to"]]
    lines, _ = monolingual_text(get_language(lang), root, guard_langs=guards)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    seed_everything(config["seed"])
    model = AutoModelForMaskedLM.from_pretrained(folder)
    length = usable_length(model, config["max_length"])
    return masked_perplexity(model, tokenizer, lines[: config["heldout"]], length)


def child(record_path: Path, lang: str) -> None:
    record = json.loads(record_path.read_text())
    print(
        json.dumps(
            {
                "mkl_cpu_detect": mkl_path(),
                "matmul_ms": matmul_ms(),
                "perplexity_before": perplexity_before(record, lang),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--record", type=Path, required=True, help="a committed +MLM record")
    ap.add_argument("--lang", default="yor")
    ap.add_argument("--out", type=Path, help="also write the results as JSON here")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.record, args.lang)
    from bench.runs.records import cpu_isa, cpu_name

    record = json.loads(args.record.read_text())
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        shim = build_shim(Path(tmp))
        variants = {"default": None} | ({"mkl-intel-path": shim} if shim else {})
        for name, preload in variants.items():
            env = dict(os.environ) | ({"LD_PRELOAD": str(preload)} if preload else {})
            cmd = [sys.executable, __file__, "--child", "--record", str(args.record)]
            out = subprocess.run(
                [*cmd, "--lang", args.lang], env=env, capture_output=True, text=True, check=True
            )
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    hardware = record["environment"]["hardware"]
    text = json.dumps(
        {
            "command": "python scripts/cpu_numerics.py",
            "args": {"record": str(args.record), "lang": args.lang, "out": str(args.out)},
            "machine": {"cpu": cpu_name(), "isa": cpu_isa()},
            "record": {
                "cpu": hardware.get("cpu"),
                "isa": hardware.get("isa"),
                "perplexity_before": record["method_reports"]["mlm"]["heldout_perplexity"][
                    "before"
                ][args.lang],
            },
            "results": results,
        },
        indent=1,
    )
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
