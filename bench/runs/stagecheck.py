"""Refuse to train from a stage build that the committed records of the same cells did not use.

An adaptation stage (continued MLM, alignment, a translator) is cached under a key of all its
inputs, but its weights depend on the machine too: the same key rebuilt on another CPU model
gives other floats, and 100 MLM steps amplify them into another model. Measured (me5_small's
MLM stage, Intel Xeon build vs AMD EPYC rebuild): the fp32 held-out perplexity before it
agrees bit for bit once MKL takes its Intel code path on the AMD CPU
(`scripts/cpu_numerics.py`), but the bf16 autocast training does not, and its losses move
with oneDNN's instruction-set cap (oneDNN picks bf16 kernels by instruction set: AMX,
AVX512-BF16 or an emulation), so the records name the CPU's instruction sets
(`environment.hardware.isa`) and this check quotes them. The seeds of one method on one task
and setting must share one build (a mean over seeds is over fine-tuning seeds from one
adapted model; the leaderboard refuses a mix), so a training from a different build would be
wasted; this check stops it before the training, naming the records and the build they used.
Another task or setting of the method may use another build (the leaderboard marks it).
Exercise: ``bench run --method mlm --tasks xnli --langs sw --seeds 1`` after another machine's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.runs.records import cpu_isa, cpu_name, stage_builds_of


def _machine(hardware: dict[str, Any]) -> str:
    """'Intel Xeon (GenuineIntel; avx2 avx512f amx_bf16)': the CPU and what picks its kernels."""
    isa = hardware.get("isa")
    if not isa:  # records made before the instruction sets were recorded
        return hardware.get("cpu", "?")
    return f"{hardware.get('cpu', '?')} ({isa.get('vendor')}; {' '.join(isa.get('flags', []))})"


SCOPE = ("backbone", "method", "task", "setting")  # the runs that must share a stage build


def _builds(runs: Path, cell: dict[str, Any]) -> dict[str, tuple[str, Path, str]]:
    """Stage key -> (build, one record that used it, that record's CPU), over the records
    under `runs` of `cell`'s method, task and setting (read once per training: well under a
    second for this repository). A build is the stage's weights checksum, or a translator's
    machine (`stage_builds_of`)."""
    builds: dict[str, tuple[str, Path, str]] = {}
    for path in sorted(runs.rglob("*.json")):
        rec = json.loads(path.read_text())
        if any(rec.get("config", {}).get(k) != cell.get(k) for k in SCOPE):
            continue
        cpu = _machine(rec.get("environment", {}).get("hardware", {}))
        for key, build in stage_builds_of(rec):
            builds.setdefault(key, (build, path, cpu))
    return builds


def _short(build: str) -> str:
    return build if build.startswith("built on") else f"weights {build[:12]}"


def check_stage_builds(reports: dict[str, Any], results: Path, cell: dict[str, Any]) -> None:
    """Every stage in `reports` (a run's method reports) is the build that the records in
    `results` of the same cells (`cell`: a run's config; its backbone, method, task, setting)
    used for the same key, or none of them used that key yet."""
    runs = results / "runs"
    if not runs.is_dir():
        return
    builds = _builds(runs, cell)
    here = {"method_reports": reports, "environment": {"hardware": {"cpu": cpu_name()}}}
    for key, build in stage_builds_of(here):
        if key not in builds or builds[key][0] == build:
            continue
        old, path, cpu = builds[key]
        machine = _machine({"cpu": cpu_name(), "isa": cpu_isa()})
        raise BenchError(
            f"the stage {key} built here ({_short(build)}) is not the build the records in "
            f"{results} used ({_short(old)}, e.g. {path}, trained on {cpu}; this machine: "
            f"{machine}): a stage rebuilt on another kind of CPU has other weights, and the "
            f"seeds of {cell.get('method')} on {cell.get('task')} ({cell.get('setting')}) "
            "must share one",
            hint="run these cells where that build is cached or reproduced (the same CPU "
            "vendor and instruction sets), or move the records of the other build out of "
            "results/ and rerun them from this one",
        )
