"""+back-translation: synthetic target-language training data from translation models.

* flores: target-language raw text (decontaminated) is translated into English by sampling
  (Edunov et al. 2018 found sampling better than beam for back-translation), giving synthetic
  (English, real target) pairs for the en→xx direction only, marked ``synthetic`` (Sennrich et
  al. 2016).
* xnli: the English training pairs are translated into each target (translate-train).
* masakhaner: English training sentences are translated with markers around the entity spans
  and the labels projected onto the marked spans of the output (EasyProject, Chen et al.
  2023); outputs whose markers do not pair up with the source's spans are dropped (counted).

The translation models are the suite's own (``model = "suite"``: the flores task's en↔xx model
fine-tuned from the backbone with its flores recipe, one per language, cached), or any hub
MT model named by the user when online (``--set backtranslation.model=facebook/nllb-200-
distilled-600M``; FLORES-200 language codes). Synthetic data is cached with its provenance;
its size and a sample are kept in every record. Exercise:
``bench run --method backtranslation --tasks xnli --langs sw --seeds 1``.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.train.method import Context, Method
from bench.train.stages import cached_stage, monolingual_text, stage_key
from methods.translators import HubTranslator, SuiteTranslator, suite_translator

OPEN, CLOSE = "[", "]"  # EasyProject's markers


@dataclass(frozen=True)
class Config:
    sentences: int = 2000  # per language: raw lines (flores) or training examples translated
    sampling: bool = True  # flores: unrestricted sampling (Edunov et al. 2018); else beam
    beams: int = 4  # translate-train (xnli, masakhaner)
    model: str = "suite"  # or a hub MT model id (NLLB-style, FLORES-200 codes)
    batch_size: int = 64  # sentences per decoding batch
    translator_steps: int = 0  # suite translator: 0 = the backbone's flores recipe, else a cap
    seed: int = 0  # of the stages (translator fine-tuning, sampling)


# --- EasyProject label projection -------------------------------------------------------------


def entity_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """(start, end exclusive, type) of the BIO spans."""
    spans, start, kind = [], None, None
    for i, tag in enumerate([*tags, "O"]):
        inside = tag.startswith("I-") and kind == tag[2:]
        if start is not None and not inside:
            spans.append((start, i, kind))
            start, kind = None, None
        if tag.startswith("B-") or (tag.startswith("I-") and start is None):
            start, kind = i, tag[2:]
    return spans


def mark(tokens: list[str], tags: list[str]) -> tuple[str, list[str]]:
    """The sentence with ``[ ... ]`` around every entity, and the entity types in order."""
    spans = entity_spans(tags)
    starts = {s: e for s, e, _ in spans}
    ends = {e for _, e, _ in spans}
    out = []
    for i, tok in enumerate(tokens):
        if i in ends:
            out.append(CLOSE)
        if i in starts:
            out.append(OPEN)
        out.append(tok)
    if len(tokens) in ends:
        out.append(CLOSE)
    return " ".join(out), [k for _, _, k in spans]


def project(translation: str, types: list[str]) -> tuple[list[str], list[str]] | None:
    """Words and BIO tags of a marked translation: the i-th marked span gets the i-th type.
    None when the markers are unbalanced, nested, empty or not as many as the types."""
    words, tags, inside, spans, current = [], [], False, 0, 0
    for piece in re.findall(r"\[|\]|[^\s\[\]]+", translation):
        if piece == OPEN:
            if inside:
                return None
            inside, current = True, 0
        elif piece == CLOSE:
            if not inside or current == 0:
                return None
            inside, spans = False, spans + 1
        else:
            if inside and spans >= len(types):
                return None
            words.append(piece)
            tags.append(("B-" if current == 0 else "I-") + types[spans] if inside else "O")
            current += inside
    if inside or spans != len(types) or not words:
        return None
    return words, tags


# --- the method --------------------------------------------------------------------------------


class BackTranslation(Method):
    name = "backtranslation"
    summary = (
        "synthetic target data: BT by sampling (flores), translate-train (xnli, NER + EasyProject)"
    )
    paper = "Sennrich et al. 2016; Edunov et al. 2018; Chen et al. 2023 (EasyProject)"
    order = 30
    Config = Config

    def augment(self, ctx: Context) -> tuple[Any, dict[str, Any]] | None:
        from datasets import Dataset, concatenate_datasets

        from bench.data.source import LoadedSplit, content_sha256

        targets = [lang for lang in ctx.targets if lang.code != "eng"]
        if ctx.task.kind == "translation":
            targets = [ctx.train_lang]
        parts, reports = [], {}
        for lang in targets:
            rows, report = self._synthetic(ctx, lang)
            parts.append(Dataset.from_list(rows) if rows else None)
            reports[lang.code] = report
        report = {"languages": reports, "rows": sum(r["rows"] for r in reports.values())}
        if not report["rows"]:
            ctx.reports[self.name] = report  # nothing usable came out: train without it, say so
            return None
        data = concatenate_datasets([p for p in parts if p is not None])
        columns = data.to_dict()
        provenance = {
            "source": "back-translation",
            "rows": len(data),
            "sha256": content_sha256(columns),
            "synthetic": True,
            "machine_translated": True,
        }
        return LoadedSplit(data, provenance), report

    def _synthetic(self, ctx: Context, lang: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        c = self.config
        task = ctx.task
        if c.model == "suite":
            translator_dir, translator_report = suite_translator(
                ctx, lang, c.seed, c.translator_steps
            )
            translator_id = translator_report["key"]
        else:
            translator_dir, translator_id, translator_report = None, c.model, {"model": c.model}
        if task.kind == "translation":
            source, source_report = monolingual_text(lang, ctx.root, guard_langs=ctx.targets)
            source_sha = source_report["sha256"]
        else:
            split = task.load("eng", "train", "zero-shot", ctx.root)  # the English training data
            source, source_sha = split.dataset, split.provenance["sha256"]
        key = stage_key(
            method=self.name,
            task=task.name,
            lang=lang.code,
            translator=translator_id,
            config=asdict(c),
            data=source_sha,
        )

        def build(work: Path) -> dict[str, Any]:
            precision = (translator_report.get("model") or {}).get("eval_precision")
            translate = (
                SuiteTranslator(translator_dir, precision)
                if translator_dir
                else HubTranslator(c.model)
            )
            started = time.perf_counter()
            rows, extra = self._translate(task.kind, source, lang.code, translate)
            with (work / "out" / "rows.jsonl").open("w", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
            return {
                "language": lang.code,
                "task": task.name,
                "translator": translator_report,
                "config": asdict(c),
                "source_sha256": source_sha,
                "rows": len(rows),
                "sample": rows[:5],
                "wall_s": round(time.perf_counter() - started, 1),
                **extra,
            }

        folder, report = cached_stage(ctx.cache, f"bt-{task.name}-{lang.code}", key, build)
        rows = [json.loads(line) for line in (folder / "rows.jsonl").open(encoding="utf-8")]
        return rows, {k: v for k, v in report.items() if k != "translator"} | {
            "translator": translator_id,  # its training time, for the cost of a grid:
            "translator_wall_s": report["translator"].get("wall_s"),
            "translator_dev": report["translator"].get("dev"),  # its BLEU / chrF++ on dev
        }

    def _translate(self, kind: str, source: Any, code: str, translate: Any):
        c = self.config
        if kind == "translation":  # back-translation proper: real target -> synthetic English
            lines = list(source[: c.sentences])
            english = translate(lines, code, "eng", c.sampling, c.beams, c.batch_size, c.seed)
            rows = [
                {"src": e, "tgt": t, "synthetic": True}
                for e, t in zip(english, lines, strict=True)
                if e
            ]
            return rows, {"decoding": "sampling" if c.sampling else f"beam {c.beams}"}
        picked = source.select(range(min(c.sentences, len(source))))
        if kind == "sequence-pair-classification":  # translate-train
            premise = translate(
                list(picked["premise"]), "eng", code, False, c.beams, c.batch_size, c.seed
            )
            hypothesis = translate(
                list(picked["hypothesis"]), "eng", code, False, c.beams, c.batch_size, c.seed
            )
            rows = [
                {"premise": p, "hypothesis": h, "label": y}
                for p, h, y in zip(premise, hypothesis, picked["label"], strict=True)
                if p and h
            ]
            return rows, {"decoding": f"beam {c.beams}"}
        marked = [mark(t, g) for t, g in zip(picked["tokens"], picked["tags"], strict=True)]
        outputs = translate(
            [m for m, _ in marked], "eng", code, False, c.beams, c.batch_size, c.seed
        )
        rows, dropped = [], 0
        for (_, types), out in zip(marked, outputs, strict=True):
            projected = project(out, types)
            if projected is None:
                dropped += 1
                continue
            rows.append({"tokens": projected[0], "tags": projected[1]})
        return rows, {
            "decoding": f"beam {c.beams}",
            "projection": {"kept": len(rows), "dropped_marker_mismatch": dropped},
        }
