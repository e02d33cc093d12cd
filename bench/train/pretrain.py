"""Build an offline backbone: train a tokenizer on the mirror's text, then pre-train a small
encoder with masked-LM on an English-heavy mix, through the suite's DeepSpeed trainer.

The corpus is English (MAFAND English sides, MasakhaNEWS English) plus a little target text
(LACUNA, MasakhaNEWS), every line checked against every evaluation set of English and the
targets first. A build is cached under its key (spec + corpus checksum + code version) with
its loss curve and provenance in ``build.json``. Exercise: ``bench backbone build tiny_xlmr``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
from functools import cache
from pathlib import Path
from typing import Any

import torch

from bench.core.errors import BenchError
from bench.data.contamination import Guard, evaluation_sentences
from bench.data.language import LANGUAGE_DIR, get_language
from bench.data.source import SOURCES, content_sha256, load
from bench.data.task import get_task
from bench.train.backbone import BASELINE_DIR, Backbone
from bench.train.masked_lm import mask_examples, train_masked_lm
from bench.train.trainer import seed_everything

# XLM-R's special tokens (the tiny_xlmr vocabulary, and me5_small's upstream one)
XLMR_SPECIALS = dict(
    bos_token="<s>",
    eos_token="</s>",
    sep_token="</s>",
    cls_token="<s>",
    unk_token="<unk>",
    pad_token="<pad>",
    mask_token="<mask>",
)
BUILD_VERSION = 1  # bump when the build procedure changes: it is part of the cache key
MIN_CHARS = 20


def _lines(text: list[str]) -> list[str]:
    return [s.strip() for t in text for s in t.split("\n") if len(s.strip()) >= MIN_CHARS]


def pretraining_corpus(spec: Backbone, root: Path | None) -> tuple[list[str], dict[str, Any]]:
    """English-heavy, decontaminated pre-training lines, and a report of what went in."""
    targets = [get_language(code) for code in spec.build["target_langs"]]
    english = get_language("eng")
    guard = Guard(evaluation_sentences([english, *targets], root))
    parts: dict[str, list[str]] = {}
    for lang in targets:
        parts[f"mafand/{lang.code}:eng"] = (
            get_task("flores").load(lang, "train", root=root).dataset["src"]
        )
    parts["masakhanews/eng"] = load(SOURCES.get("masakhanews"), ("eng",), "train", root).dataset[
        "text"
    ]
    for lang in targets:
        for name, code in lang.monolingual.items():
            parts[f"{name}/{lang.code}"] = load(SOURCES.get(name), (code,), "train", root).dataset[
                "text"
            ]
    report: dict[str, Any] = {}
    corpus: list[str] = []
    for name, text in parts.items():
        kept, rep = guard.clean(name, _lines(text))
        report[name] = {"lines": rep.corpus_size, "removed": rep.removed, "kept": len(kept)}
        corpus += kept
    corpus = sorted(set(corpus))  # deterministic and without duplicates
    random.Random(0).shuffle(corpus)
    eng = sum(v["kept"] for k, v in report.items() if "eng" in k)
    report["english_share"] = round(
        eng / max(1, sum(v["kept"] for v in report.values() if isinstance(v, dict))), 3
    )
    return corpus, report


def train_tokenizer(kind: str, lines: list[str], vocab_size: int, architecture: str) -> Any:
    from tokenizers import SentencePieceUnigramTokenizer
    from tokenizers.implementations import BertWordPieceTokenizer
    from tokenizers.processors import TemplateProcessing
    from transformers import BertTokenizerFast, XLMRobertaTokenizerFast

    if kind == "unigram":
        specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        tok = SentencePieceUnigramTokenizer()
        tok.train_from_iterator(
            lines,
            vocab_size=vocab_size,
            special_tokens=specials,
            unk_token="<unk>",
            show_progress=False,
        )
        cls, sep = "<s>", "</s>"
    elif kind == "wordpiece":
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tok = BertWordPieceTokenizer(clean_text=True, strip_accents=False, lowercase=False)
        tok.train_from_iterator(
            lines, vocab_size=vocab_size, special_tokens=specials, show_progress=False
        )
        cls, sep = "[CLS]", "[SEP]"
    else:
        raise BenchError(f"unknown tokenizer kind '{kind}'", hint="use unigram or wordpiece")
    inner = tok._tokenizer
    ids = {t: inner.token_to_id(t) for t in (cls, sep)}
    pair = (
        f"{cls} $A {sep} {sep} $B:1 {sep}:1"
        if architecture == "xlm-roberta"
        else f"{cls} $A {sep} $B:1 {sep}:1"
    )
    inner.post_processor = TemplateProcessing(
        single=f"{cls} $A {sep}", pair=pair, special_tokens=list(ids.items())
    )
    if architecture == "xlm-roberta":
        return XLMRobertaTokenizerFast(tokenizer_object=inner, **XLMR_SPECIALS)
    return BertTokenizerFast(
        tokenizer_object=inner,
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
        do_lower_case=False,
    )


def new_model(architecture: str, build: dict[str, Any], tokenizer: Any) -> torch.nn.Module:
    from transformers import BertConfig, BertForMaskedLM, XLMRobertaConfig, XLMRobertaForMaskedLM

    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=build["hidden_size"],
        num_hidden_layers=build["num_layers"],
        num_attention_heads=build["num_heads"],
        intermediate_size=build["intermediate_size"],
        pad_token_id=tokenizer.pad_token_id,
    )
    if architecture == "xlm-roberta":
        cfg = XLMRobertaConfig(
            **common,
            max_position_embeddings=build["max_length"] + 2,
            type_vocab_size=1,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
        )
        return XLMRobertaForMaskedLM(cfg)
    return BertForMaskedLM(BertConfig(**common, max_position_embeddings=build["max_length"]))


def build_key(spec: Backbone, root: Path | None) -> tuple[str, tuple[str, ...], str]:
    """(cache key, corpus lines, corpus report JSON) of an offline backbone, without building it."""
    return _build_key(
        spec.name, spec.architecture, json.dumps(dict(spec.build), sort_keys=True), root
    )


@cache
def _build_key(
    name: str, architecture: str, build_json: str, root: Path | None
) -> tuple[str, tuple[str, ...], str]:
    spec = Backbone(name, name, architecture, build=json.loads(build_json))
    corpus, report = pretraining_corpus(spec, root)
    corpus_sha = content_sha256({"text": corpus})
    key = _key(spec.build, spec.architecture, corpus_sha)
    return key, tuple(corpus), json.dumps({"corpus_sha256": corpus_sha, **report})


def _key(build: Any, architecture: str, corpus_sha: str) -> str:
    """A build's key: its spec, architecture, corpus checksum and the build code's version."""
    key_src = {"spec": dict(build), "arch": architecture, "corpus": corpus_sha, "v": BUILD_VERSION}
    return hashlib.sha256(json.dumps(key_src, sort_keys=True).encode()).hexdigest()[:12]


def committed_build(spec: Backbone) -> tuple[str, Path | None] | None:
    """The build of `spec` committed in ``results/backbones/`` as (key, folder with its weights,
    or None where only its build record ``NAME-KEY.json`` is committed), or None if there is
    none. A committed build fixes the backbone: its key is read from its record (the record's
    spec must equal today's and its key must follow from the spec and the corpus checksum it
    records), never from what the data root holds, so adding a language, or any file, to the
    data root changes no backbone key and no run id."""
    from bench.core.paths import results_dir

    found: dict[str, Path | None] = {}
    folder = results_dir() / "backbones"
    records = [*folder.glob(f"{spec.name}-*/build.json"), *folder.glob(f"{spec.name}-*.json")]
    for path in sorted(records):
        provenance = json.loads(path.read_text())["provenance"]
        corpus = provenance.get("corpus", {}).get("corpus_sha256", provenance.get("corpus_sha256"))
        key = provenance["key"]
        if (
            provenance["build"] != dict(spec.build)
            or _key(spec.build, spec.architecture, str(corpus)) != key
        ):
            continue  # an older spec, or a build of another procedure version
        weights = path.parent if path.name == "build.json" else None
        found[key] = found.get(key) or weights
    if len(found) > 1:
        raise BenchError(
            f"results/backbones/ holds {len(found)} builds of {spec.name} with today's spec "
            f"({', '.join(sorted(found))}): the backbone is ambiguous",
            hint="keep the one the committed run records name (their config's backbone_id)",
        )
    return next(iter(found.items()), None)


def cached_build_key(spec: Backbone, root: Path | None) -> str:
    """The build key: the committed build's, else derived from the corpus on `root` and
    remembered on disk per data-root fingerprint (deriving it means reading and
    decontaminating the whole corpus, ~10 s, too slow for a rerun that skips)."""
    from bench.core.paths import cache_dir

    committed = committed_build(spec)
    if committed is not None:
        return committed[0]
    fingerprint = _root_fingerprint(root)
    memo = cache_dir() / "keys" / f"{spec.name}-{fingerprint}.json"
    if memo.is_file():
        return json.loads(memo.read_text())["key"]
    key = build_key(spec, root)[0]
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(json.dumps({"key": key}))
    return key


def _root_fingerprint(root: Path | None) -> str:
    """Paths, sizes and modification times of every file under the data root, plus the spec
    and the code version (a changed file or spec gives a new fingerprint)."""
    parts = [f"v{BUILD_VERSION}", str(root)]
    if root is not None:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            st = path.stat()
            parts.append(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}")
    for path in sorted(BASELINE_DIR.glob("*.toml")) + sorted(LANGUAGE_DIR.glob("*.toml")):
        parts.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def build(spec: Backbone, root: Path | None, cache_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Return the cached build of `spec`, building it first if needed (resumable)."""
    from bench.core.paths import results_dir

    committed = committed_build(spec)
    if committed is not None and committed[1] is not None:
        return committed[1], _provenance(committed[1])  # the same weights on every machine
    key, corpus_lines, report_json = build_key(spec, root)
    if committed is not None and committed[0] != key:
        raise BenchError(
            f"{spec.name}: the committed build record results/backbones/{spec.name}-"
            f"{committed[0]}.json names a pre-training corpus the data root {root} does not "
            f"give (its corpus makes key {key}); not building other weights under this name",
            hint="use the data root that build was made from (its record lists the corpus "
            "parts), or give the new build a new name in baselines/",
        )
    published = results_dir() / "backbones" / f"{spec.name}-{key}"
    if (published / "build.json").is_file():
        return published, _provenance(published)
    final = cache_dir / "backbones" / f"{spec.name}-{key}"
    if not (final / "build.json").is_file():
        _pretrain(spec, key, list(corpus_lines), report_json, final)
    return _publish(final), _provenance(final)


def _pretrain(spec: Backbone, key: str, corpus: list[str], report_json: str, final: Path) -> None:
    """Train the tokenizer and the masked LM, then write the build to `final` whole (the
    training resumes from its checkpoints if interrupted)."""
    build_cfg = dict(spec.build)
    work = final.parent / f".{spec.name}-{key}.work"
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    seed_everything(build_cfg["seed"])
    tokenizer = train_tokenizer(
        build_cfg["tokenizer"], corpus, build_cfg["vocab_size"], spec.architecture
    )
    model = new_model(spec.architecture, build_cfg, tokenizer)
    data = mask_examples(tokenizer, corpus, build_cfg)
    result = train_masked_lm(
        model,
        tokenizer,
        data,
        work,
        f"pre-training {spec.name}",
        lr=build_cfg["lr"],
        batch_size=build_cfg["batch_size"],
        steps=build_cfg["steps"],
        seed=build_cfg["seed"],
        epochs=10**6,
    )
    staging = work / "out"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    provenance = {
        "source": "offline build",
        "name": spec.name,
        "key": key,
        "build": build_cfg,
        "corpus_lines": len(corpus),
        "corpus": json.loads(report_json),
        "parameters": sum(p.numel() for p in model.parameters()),
        "vocab_size": len(tokenizer),
        "wall_s": round(time.perf_counter() - started, 1),
        "tokens_per_s": round(result.tokens / max(1e-9, result.wall_s), 1),
    }
    (staging / "build.json").write_text(
        json.dumps({"provenance": provenance, "loss_curve": result.curve}, indent=1)
    )
    os.replace(staging, final)  # whole or not at all
    shutil.rmtree(work, ignore_errors=True)


def _provenance(folder: Path) -> dict[str, Any]:
    """The build's provenance plus the checksum of its weights (two builds of one key on
    different CPUs differ in the last bits: records say which weights they were trained from)."""
    from bench.data.source import sha256_file

    provenance = json.loads((folder / "build.json").read_text())["provenance"]
    return {**provenance, "weights_sha256": sha256_file(folder / "model.safetensors")}


def _publish(final: Path) -> Path:
    """Copy a build (weights, tokenizer, build record: a few MB) into results/backbones/, where
    it is committed with the run records, so that every machine and session fine-tunes the same
    weights rather than rebuilding its own (CPU pre-training is not bitwise reproducible)."""
    from bench.core.paths import results_dir

    target = results_dir() / "backbones" / final.name
    if not (target / "build.json").is_file():
        staging = target.with_name(f".{target.name}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(final, staging)
        os.replace(staging, target)  # whole or not at all
    return target
