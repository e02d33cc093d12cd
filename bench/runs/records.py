"""Run records: one JSON file per (method, backbone, task, language, setting, selection, seed),
written whole or not at all, plus a gzipped file of per-example predictions.

The run id is the SHA-256 of the fully resolved config (data checksums, ZeRO stage, precision
and world size included): a record whose id exists is skipped unless forced.
Exercise: ``bench run --dry-run``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench.core.paths import REPO

PACKAGES = (
    "lowres-bench",
    "torch",
    "transformers",
    "datasets",
    "sacrebleu",
    "unbabel-comet",
    "seqeval",
    "pandas",
    "tabulate",
    "typer",
    "deepspeed",
    "tokenizers",
    "numpy",
)


def run_id(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def labelled(config: dict[str, Any]) -> dict[str, Any]:
    """A record's config with its recipe profile in the backbone's name (``me5_small:ablation``):
    runs of one backbone under different recipes are different rows, never one cell."""
    if config.get("profile"):
        return {**config, "backbone": f"{config['backbone']}:{config['profile']}"}
    return config


def record_path(results: Path, config: dict[str, Any]) -> Path:
    c = config
    name = f"{c['selection']}-seed{c['seed']}-{run_id(config)[:10]}.json"
    return (
        results / "runs" / c["task"] / c["lang"] / c["backbone"] / c["method"] / c["setting"] / name
    )


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_record(path: Path, record: dict[str, Any], predictions: Any) -> None:
    """Predictions first (their hash goes in the record), the record last: a record that
    exists is always complete, and points at predictions that exist."""
    blob = gzip.compress(json.dumps(predictions, ensure_ascii=False).encode("utf-8"), mtime=0)
    pred_path = path.with_suffix(".predictions.json.gz")
    write_atomic(pred_path, blob)
    record = {
        **record,
        "predictions": {"file": pred_path.name, "sha256": hashlib.sha256(blob).hexdigest()},
    }
    write_atomic(path, (json.dumps(record, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))


def read_predictions(record_file: Path) -> Any:
    record = json.loads(record_file.read_text())
    return json.loads(
        gzip.decompress((record_file.parent / record["predictions"]["file"]).read_bytes())
    )


def environment() -> dict[str, Any]:
    """Package versions, git commit and dirty flag, hardware: for every record."""
    import torch

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "packages": versions,
        "git": _git(),
        "hardware": {
            "platform": platform.platform(),
            "cpu": cpu_name(),
            "isa": cpu_isa(),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
    }


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# Instruction sets that pick the CPU kernels, and so the floats: bf16 autocast matmuls run
# oneDNN kernels chosen by ISA (AMX tiles, AVX512-BF16, or an AVX512 emulation), fp32 ones MKL
# kernels chosen by vendor (MKL takes a generic path on a non-Intel CPU).
ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def cpu_isa() -> dict[str, Any]:
    """The CPU's vendor, torch's kernel capability and which of `ISA_FLAGS` it has."""
    import torch

    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
            if "flags" in fields and "vendor_id" in fields:
                break
    except OSError:
        pass
    flags = set(fields.get("flags", "").split())
    return {
        "vendor": fields.get("vendor_id"),
        "torch_capability": torch.backends.cpu.get_cpu_capability(),
        "flags": [f for f in ISA_FLAGS if f in flags],
    }


def summary_line(path: Path) -> str:
    rec = json.loads(path.read_text())
    c, m = rec["config"], rec["metrics"]
    if "accuracy" in m:
        score = f"accuracy {m['accuracy']:.4f}"
    elif "f1" in m:
        score = f"F1 {m['f1']:.4f}"
    else:
        score = "  ".join(
            f"{d} BLEU {v['bleu']:.2f} chrF++ {v['chrf++']:.2f}" for d, v in m.items()
        )
    flag = " [MT test]" if rec["machine_translated_test"] else ""
    return f"{c['task']:<10} {c['lang']} {c['setting']:<11} {c['selection']:<10} seed {c['seed']}: {score}{flag}"


def peak_memory() -> dict[str, int]:
    """The process's peak resident memory so far (MB: training and testing, the data and the
    model included) and, on a GPU, the peak of allocated device memory."""
    import resource

    import torch

    out = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if torch.cuda.is_available():
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    return out


def keep_weights(
    checkpoints: Path, folder: Path, about: dict[str, Any], records: list[Path], tokenizer: Any
) -> Path:
    """Move a training's weights (``best-<selection split>.pt`` per selection, ``last.pt``) from
    its checkpoint folder to ``folder/<run id>/``, beside the tokenizer they go with and
    ``training.json`` (`about`: its config, backbone folder, the step each selection chose; and
    its records). The state dicts are of the suite's module (task head, method wrapper,
    compacted vocabulary: bench/train/vocab.py)."""
    out = folder / run_id(about["config"])[:16]
    out.mkdir(parents=True, exist_ok=True)
    for weights in checkpoints.glob("*.pt"):
        shutil.move(weights, out / weights.name)
    tokenizer.save_pretrained(out / "tokenizer")
    about = {**about, "records": [str(path) for path in records]}
    write_atomic(out / "training.json", (json.dumps(about, indent=1) + "\n").encode())
    return out


def stage_builds_of(rec: dict[str, Any]) -> tuple:
    """(stage key, build) of every stage a record used. The build is the stage's weights
    checksum; back-translation's translators name none in the report, so theirs is the CPU of
    the machine that ran the record, where they were built (the stage cache does not travel
    between machines, and a rebuild on another kind of CPU has other weights)."""
    out = set()
    for report in rec.get("method_reports", {}).values():
        if not isinstance(report, dict):
            continue
        if report.get("key") and report.get("weights_sha256"):
            out.add((report["key"], report["weights_sha256"]))
        langs = report.get("languages")
        for one in langs.values() if isinstance(langs, dict) else ():
            if isinstance(one, dict) and one.get("translator"):
                out.add((one["translator"], machine_build(rec)))
    return tuple(sorted(out))


def machine_build(rec: dict[str, Any]) -> str:
    """The build of a stage whose report names no weights checksum: the machine (CPU) that ran
    the record, where the stage was built (the stage cache does not travel between machines)."""
    return f"built on {rec.get('environment', {}).get('hardware', {}).get('cpu', '?')}"
