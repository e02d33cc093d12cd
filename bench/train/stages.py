"""What the method plug-ins share: decontaminated monolingual text, parallel text, temperature
sampling over languages, and adaptation stages cached on disk.

A stage (an adapted backbone, a synthetic data set, a translation model) is cached under a
key made of everything it depends on: its inputs' keys, the method config and the data
checksums; it is built in a work folder and moved into place whole, so an interrupted build
leaves nothing that looks finished, and the seeds and tasks that need it share one build.
Exercise: ``bench run --method mlm --tasks xnli --langs sw --seeds 1``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import shutil
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from bench.data.contamination import Guard, evaluation_sentences
from bench.data.language import Language, get_language
from bench.data.source import SOURCES, content_sha256, load

MIN_CHARS = 20


@cache
def _guard(codes: tuple[str, ...], root: Path | None) -> Guard:
    return Guard(evaluation_sentences([get_language(c) for c in codes], root))


def monolingual_text(
    lang: Language, root: Path | None, guard_langs: Sequence[Language] = ()
) -> tuple[list[str], dict[str, Any]]:
    """The language's raw text (every `[monolingual]` source of its language file), one line
    per sentence-ish unit, deduplicated, with every line holding a validation or test sentence
    of any task of `lang`, English or `guard_langs` removed. Returns (lines, report)."""
    codes = tuple(sorted({"eng", lang.code, *(g.code for g in guard_langs)}))
    lines, report = _monolingual(lang.code, codes, root)
    return list(lines), json.loads(report)


@cache
def _monolingual(
    code: str, codes: tuple[str, ...], root: Path | None
) -> tuple[tuple[str, ...], str]:
    """Once per process: reading and decontaminating a language's raw text takes seconds."""
    lang = get_language(code)
    guard = _guard(codes, root)
    report: dict[str, Any] = {"sources": {}}
    sources = dict(lang.monolingual)
    kept_all: list[str] = []
    for name, code in sources.items():
        loaded = load(SOURCES.get(name), (code,), "train", root)
        lines = [
            s.strip()
            for t in loaded.dataset["text"]
            for s in t.split("\n")
            if len(s.strip()) >= MIN_CHARS
        ]
        kept, rep = guard.clean(f"{name}/{code}", lines)
        report["sources"][name] = {
            "lines": len(lines),
            "removed": rep.removed,
            "kept": len(kept),
            "sha256": loaded.provenance["sha256"],
        }
        kept_all += kept
    kept_all = sorted(set(kept_all))
    random.Random(0).shuffle(kept_all)
    report["lines"] = len(kept_all)
    report["removed"] = sum(v["removed"] for v in report["sources"].values())
    report["sha256"] = content_sha256({"text": kept_all})
    report["guarded_against"] = list(codes)
    return tuple(kept_all), json.dumps(report)


def parallel_text(
    lang: Language, split: str, root: Path | None
) -> tuple[list[str], list[str], dict[str, Any]]:
    """(English, target, provenance) sentence pairs of the flores task's split (MAFAND train,
    FLORES devtest as test)."""
    from bench.data.task import get_task

    loaded = get_task("flores").load(lang, split, root=root)
    return list(loaded.dataset["src"]), list(loaded.dataset["tgt"]), loaded.provenance


def temperature_probs(sizes: dict[str, int], alpha: float) -> dict[str, float]:
    """Language sampling probabilities p_i ∝ n_i^α (Conneau & Lample 2019; XLM-R: α = 0.3):
    α = 1 keeps the natural proportions, α → 0 approaches uniform."""
    weights = {k: (n**alpha if n > 0 else 0.0) for k, n in sizes.items()}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def temperature_sample(
    corpora: dict[str, list[str]], alpha: float, n: int, seed: int
) -> list[tuple[str, str]]:
    """`n` (language, line) draws: the language by `temperature_probs`, the line uniformly
    without replacement until a language's lines are used up (then a new pass)."""
    rng = random.Random(seed)
    probs = temperature_probs({k: len(v) for k, v in corpora.items()}, alpha)
    langs = [k for k in probs if probs[k] > 0]
    picks = rng.choices(langs, weights=[probs[k] for k in langs], k=n)
    queues: dict[str, list[str]] = {k: [] for k in langs}
    out = []
    for lang in picks:
        if not queues[lang]:
            queues[lang] = rng.sample(corpora[lang], len(corpora[lang]))
        out.append((lang, queues[lang].pop()))
    return out


def stage_key(**parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def cached_stage(
    cache_dir: Path, name: str, key: str, build: Callable[[Path], dict[str, Any]]
) -> tuple[Path, dict[str, Any]]:
    """The folder of stage `name`/`key`, built by ``build(work_folder) -> report`` if absent.

    The report lands in ``stage.json`` inside the folder; the folder appears whole or not at
    all (built under a work name, then renamed). A build that was interrupted starts again
    in the same work folder, so a stage that checkpoints there resumes.
    """
    final = cache_dir / "stages" / f"{name}-{key}"
    if (final / "stage.json").is_file():
        return final, _with_weights(final, json.loads((final / "stage.json").read_text()))
    lock_path = cache_dir / "stages" / f".{name}-{key}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:  # one builder at a time; the others wait, then reuse
        fcntl.flock(lock, fcntl.LOCK_EX)  # released by the kernel if the builder dies
        if (final / "stage.json").is_file():
            return final, _with_weights(final, json.loads((final / "stage.json").read_text()))
        work = cache_dir / "stages" / f".{name}-{key}.work"
        out = work / "out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        report = build(work)
        report = {"stage": name, "key": key, **report}
        (out / "stage.json").write_text(json.dumps(report, indent=1))
        os.replace(out, final)
        shutil.rmtree(work, ignore_errors=True)
    return final, _with_weights(final, report)


def _with_weights(folder: Path, report: dict[str, Any]) -> dict[str, Any]:
    """The report plus one checksum over the stage's weight files: a stage rebuilt on another
    machine has other weights under the same key, and records say which they used."""
    files = sorted(folder.rglob("*.safetensors"))
    if not files or "weights_sha256" in report:
        return report
    from bench.data.source import sha256_file

    digest = hashlib.sha256("".join(sha256_file(f) for f in files).encode()).hexdigest()
    return {**report, "weights_sha256": digest}


def usable_length(model: Any, wanted: int) -> int:
    """`wanted`, capped by the model's position embeddings (XLM-R reserves two positions)."""
    config = getattr(model, "config", model)
    offset = 2 if config.model_type in ("xlm-roberta", "roberta") else 0
    return min(wanted, config.max_position_embeddings - offset)
