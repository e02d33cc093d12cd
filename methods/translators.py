"""The translation models back-translation uses: the suite's own en<->xx flores model,
fine-tuned from the backbone with its flores recipe as a cached stage (`suite_translator`, with
its dev BLEU / chrF++), or a hub MT model (NLLB-style FLORES-200 codes). Exercise:
``bench run --method backtranslation --tasks flores --langs ha``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from bench.core.progress import counter
from bench.train.method import Context
from bench.train.stages import cached_stage, stage_key

TARGET_IDS = "target_ids.json"  # beside a compact-decoder translator's weights


def compact_vocab(backbone: Any) -> bool:
    """Whether the backbone's runs cut the vocabulary (its spec's ``compact_vocab``)."""
    return bool(backbone.package.get("compact_vocab"))


class SuiteTranslator:
    """The flores task's own en↔xx model (tags ``<2xx>``/``<2eng>`` on the source), decoding
    under the ``eval_precision`` of the recipe it was trained with (bf16 autocast or fp32)."""

    def __init__(self, folder: Path, precision: str | None = None) -> None:
        from transformers import AutoTokenizer, EncoderDecoderModel

        from bench.train.kinds.common import accelerator

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = EncoderDecoderModel.from_pretrained(folder).eval().to(accelerator())
        self.target_ids = None  # a compact decoder: its id i is tokenizer id target_ids[i]
        self.precision = precision
        if (folder / TARGET_IDS).is_file():
            self.target_ids = torch.tensor(json.loads((folder / TARGET_IDS).read_text()))

    @torch.no_grad()
    def __call__(
        self, texts: list[str], src: str, tgt: str, sample: bool, beams: int, batch: int, seed: int
    ) -> list[str]:
        from bench.train.kinds.common import eval_precision
        from bench.train.kinds.translation import tag

        tok = self.tokenizer
        limit = self.model.decoder.config.max_position_embeddings - 4
        ids = tok([f"{tag(tgt)} {t}" for t in texts], truncation=True, max_length=limit)[
            "input_ids"
        ]
        out = [""] * len(texts)
        torch.manual_seed(seed)
        with (
            counter(f"translating {src}->{tgt}", len(texts), "sent") as advance,
            eval_precision(self.model, self.precision),
        ):
            self._generate(ids, batch, sample, beams, limit, out, advance)
        return out

    def _generate(
        self,
        ids: list[list[int]],
        batch: int,
        sample: bool,
        beams: int,
        limit: int,
        out: list[str],
        advance: Any,
    ) -> None:
        from bench.train.kinds.common import device_of, eval_batches, pad

        tok = self.tokenizer
        for chunk in eval_batches([len(x) for x in ids], batch):
            x = pad([ids[i] for i in chunk], tok.pad_token_id).to(device_of(self.model))
            gen = self.model.generate(
                input_ids=x,
                attention_mask=(x != tok.pad_token_id).long(),
                do_sample=sample,
                top_k=0 if sample else None,
                num_beams=1 if sample else beams,
                max_new_tokens=min(limit, int(x.shape[1] * 1.5) + 8),
            )
            if self.target_ids is not None:
                gen = self.target_ids.to(gen.device)[gen]
            for i, text in zip(chunk, tok.batch_decode(gen, skip_special_tokens=True), strict=True):
                out[i] = text.strip()
            advance(len(chunk))


class HubTranslator:
    """A hub sequence-to-sequence MT model with FLORES-200 language codes (NLLB)."""

    def __init__(self, model_id: str) -> None:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        from bench.train.kinds.common import accelerator

        self.tokenizer = AutoTokenizer.from_pretrained(model_id)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(model_id).eval().to(accelerator())

    @torch.no_grad()
    def __call__(
        self, texts: list[str], src: str, tgt: str, sample: bool, beams: int, batch: int, seed: int
    ) -> list[str]:
        from bench.data.language import get_language

        src_code = get_language(src).datasets["flores200"]
        tgt_code = get_language(tgt).datasets["flores200"]
        self.tokenizer.src_lang = src_code
        forced = self.tokenizer.convert_tokens_to_ids(tgt_code)
        torch.manual_seed(seed)
        out = []
        for i in range(0, len(texts), batch):
            enc = self.tokenizer(
                texts[i : i + batch], return_tensors="pt", padding=True, truncation=True
            ).to(self.model.device)
            gen = self.model.generate(
                **enc,
                forced_bos_token_id=forced,
                do_sample=sample,
                top_k=0 if sample else None,
                num_beams=1 if sample else beams,
                max_new_tokens=256,
            )
            out += [t.strip() for t in self.tokenizer.batch_decode(gen, skip_special_tokens=True)]
        return out


DEV_LINES = 200  # per direction: the translator's own quality, a diagnostic (beam 4)


def translator_dev_scores(
    translate: Any, task: Any, lang: Any, root: Any, seed: int
) -> dict[str, Any]:
    """BLEU and chrF++ of a translator on the first `DEV_LINES` pairs of the flores task's dev
    split (MAFAND dev; FLORES-200 dev where the mirror has it), each direction by beam search:
    how good the model that makes the synthetic data is."""
    from bench.train.metrics import translation_scores

    split = task.load(lang, "validation", root=root)
    rows = split.dataset.select(range(min(DEV_LINES, len(split.dataset))))
    english, target = list(rows["src"]), list(rows["tgt"])
    out: dict[str, Any] = {
        "lines": len(rows),
        "split": f"{split.provenance['source']} {split.provenance['split']}",
        "split_sha256": split.provenance["sha256"],
    }
    for src, tgt, texts, refs in (
        ("eng", lang.code, english, target),
        (lang.code, "eng", target, english),
    ):
        hyps = translate(texts, src, tgt, sample=False, beams=4, batch=32, seed=seed)
        scores = translation_scores(hyps, refs)
        out[f"{src}-{tgt}"] = {k: scores[k] for k in ("bleu", "chrf++")}
    return out


def save(module: Any, tokenizer: Any, out: Path) -> None:
    """The translator's weights and tokenizer, and a compact decoder's tokenizer ids."""
    module.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if module.target_ids is not None:
        (out / TARGET_IDS).write_text(json.dumps(module.target_ids.tolist()))


def suite_translator(
    ctx: Context, lang: Any, seed: int, max_steps: int = 0
) -> tuple[Path, dict[str, Any]]:
    """The flores model for `lang`, fine-tuned from the (unadapted) backbone with its flores
    recipe: a cached stage shared by every method, task and seed that back-translates."""
    from bench.data.task import get_task
    from bench.train.build import materialize
    from bench.train.kinds import KINDS
    from bench.train.recipe import model_options, model_shape, train_config

    task = get_task("flores")
    overrides = {"max_steps": str(max_steps)} if max_steps else {}
    cfg, max_length = train_config(ctx.backbone, task, seed, overrides)
    model = model_options(ctx.backbone, task, overrides)
    train_split = task.load(lang, "train", root=ctx.root)
    key = stage_key(
        method="translator",
        input=ctx.backbone_key,
        train=asdict(cfg),
        max_length=max_length,
        data=train_split.provenance["sha256"],
        **({"model": model} if model else {}),  # keys of recipes without one stay as they were
        **({"vocab": "compact decoder"} if compact_vocab(ctx.backbone) else {}),
    )

    def build(work: Path) -> dict[str, Any]:
        from transformers import AutoTokenizer

        from bench.core.progress import bar
        from bench.train.trainer import seed_everything, train

        started = time.perf_counter()
        kind = KINDS["translation"]
        folder, _ = materialize(ctx.backbone, ctx.root, ctx.cache)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        codes = ("eng", lang.code)
        kind.add_tags(tokenizer, list(codes))
        encoded = kind.encode(train_split.dataset, tokenizer, max_length, codes)
        seed_everything(seed)
        module = kind.build(folder, None, tokenizer, **model_shape(model))
        vocab = None
        if compact_vocab(ctx.backbone):  # the decoder's softmax over the targets' pieces only
            from bench.train.vocab import compact_seq2seq

            vocab = compact_seq2seq(module, {"train": encoded}, tokenizer, encoder=False)
        with bar(f"back-translation model eng<->{lang.code}", total=cfg.max_steps) as tick:
            result = train(
                module, encoded, kind.collate(tokenizer), cfg, work / "train", progress=tick
            )
        save(module, tokenizer, work / "out")
        translate = SuiteTranslator(work / "out", (model or {}).get("eval_precision"))
        dev = translator_dev_scores(translate, task, lang, ctx.root, seed)
        return {
            "dev": dev,
            "language": lang.code,
            "train": asdict(cfg),
            "model": model,
            "vocab": vocab,
            "data": train_split.provenance["sha256"],
            "steps": result.steps,
            "loss_curve": result.curve,
            "wall_s": round(time.perf_counter() - started, 1),
        }

    return cached_stage(ctx.cache, f"translator-{ctx.backbone.name}-{lang.code}", key, build)
