"""+MLM: language-adaptive pre-training before task fine-tuning.

Continue masked-LM training of the backbone on target-language raw text (Chau et al. 2020;
multilingually, for all targets at once, as MAFT/AfroXLMR, Alabi et al. 2022), mixing in
English to limit forgetting. Languages are balanced by temperature sampling, p ∝ n^α with
α = 0.3 (XLM-R, Conneau et al. 2020). The text is decontaminated against every evaluation set
of English and the targets first (the mirror's LACUNA corpus holds most MasakhaNER test
sentences verbatim); the report says how many lines went. Held-out lines of each language
measure the masked-LM perplexity before and after. Exercise:
``bench run --method mlm --tasks xnli --langs sw --seeds 1``.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from bench.train.method import ADDED_LATER, Context, Method, choices, recorded
from bench.train.stages import (
    cached_stage,
    monolingual_text,
    stage_key,
    temperature_probs,
    usable_length,
)
from bench.train.trainer import PRECISIONS


@dataclass(frozen=True)
class Config:
    steps: int = 2000  # optimiser steps of continued pre-training
    batch_size: int = 32
    lr: float = 5e-5
    alpha: float = 0.3  # temperature sampling exponent (XLM-R)
    english: bool = (
        True  # keep English in the mix (limits forgetting; MAFT keeps high-resource languages)
    )
    mask_prob: float = 0.15  # BERT: 15%, 80/10/10
    heldout: int = 200  # lines per language kept out of training, for perplexity
    max_length: int = 128
    seed: int = 0  # of the stage (shared by every run seed that uses it)
    # amp-bf16: bf16 autocast (as the fine-tuning recipes), fp32 weights and optimizer
    precision: str = field(default="fp32", metadata=ADDED_LATER | choices(*PRECISIONS))


@torch.no_grad()
def masked_perplexity(model: Any, tokenizer: Any, lines: list[str], max_length: int) -> float:
    """exp(mean cross-entropy at masked positions) with a fixed masking (seed 0)."""
    from bench.train.kinds.common import eval_batches, on_device
    from bench.train.masked_lm import MaskedLM, collate_mlm, mask_examples

    data = mask_examples(
        tokenizer, lines, {"seed": 0, "mask_prob": 0.15, "max_length": max_length}
    ).to_list()
    mlm, collate = MaskedLM(model).eval(), collate_mlm(tokenizer.pad_token_id)
    total, count = 0.0, 0
    for ids in eval_batches([len(x["input_ids"]) for x in data], 64):
        loss, n = mlm(on_device(collate([data[i] for i in ids]), mlm))
        total, count = total + float(loss), count + int(n)
    return math.exp(total / max(1, count))


class MLM(Method):
    name = "mlm"
    summary = "continued masked-LM on decontaminated target text, temperature-sampled (α=0.3)"
    paper = "Chau et al. 2020; Alabi et al. 2022 (MAFT); Conneau et al. 2020 (α)"
    order = 10
    Config = Config

    def adapt(self, folder: Path, ctx: Context) -> tuple[Path, dict[str, Any]]:
        c = self.config
        langs = list(ctx.targets)
        if c.english:
            from bench.data.language import get_language

            langs = [get_language("eng"), *langs]
        train_text, heldout, data_reports = {}, {}, {}
        for lang in langs:
            lines, rep = monolingual_text(lang, ctx.root, guard_langs=ctx.targets)
            heldout[lang.code], train_text[lang.code] = lines[: c.heldout], lines[c.heldout :]
            data_reports[lang.code] = rep
        key = stage_key(
            method=self.name,
            input=ctx.input_key,
            config=recorded(c),
            data={k: v["sha256"] for k, v in data_reports.items()},
        )

        def build(work: Path) -> dict[str, Any]:
            return self._build(folder, work, train_text, heldout, data_reports)

        return cached_stage(ctx.cache, f"mlm-{ctx.backbone.name}", key, build)

    def _build(
        self,
        folder: Path,
        work: Path,
        train_text: dict[str, list[str]],
        heldout: dict[str, list[str]],
        data_reports: dict[str, Any],
    ) -> dict[str, Any]:
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        from bench.train.masked_lm import mask_examples, train_masked_lm
        from bench.train.stages import temperature_sample
        from bench.train.trainer import seed_everything

        c = self.config
        started = time.perf_counter()
        tokenizer = AutoTokenizer.from_pretrained(folder)
        seed_everything(c.seed)
        model = AutoModelForMaskedLM.from_pretrained(folder)
        length = usable_length(model, c.max_length)
        before = {k: masked_perplexity(model, tokenizer, v, length) for k, v in heldout.items()}
        sample = temperature_sample(train_text, c.alpha, c.steps * c.batch_size, c.seed)
        drawn = Counter(lang for lang, _ in sample)
        data = mask_examples(
            tokenizer,
            [line for _, line in sample],
            {"seed": c.seed, "mask_prob": c.mask_prob, "max_length": length},
        )
        result = train_masked_lm(
            model,
            tokenizer,
            data,
            work,
            "adapting: masked-LM on target text",
            lr=c.lr,
            batch_size=c.batch_size,
            steps=c.steps,
            seed=c.seed,
            epochs=1,
            precision=c.precision,
        )
        model.eval()
        after = {k: masked_perplexity(model, tokenizer, v, length) for k, v in heldout.items()}
        model.save_pretrained(work / "out")
        tokenizer.save_pretrained(work / "out")
        sizes = {k: len(v) for k, v in train_text.items()}
        return {
            "config": recorded(c),
            "data": data_reports,
            "decontamination_removed": {k: v["removed"] for k, v in data_reports.items()},
            "lines": sizes,
            "sampling_probs": {
                k: round(p, 4) for k, p in temperature_probs(sizes, c.alpha).items()
            },
            "sampled_share": {k: round(drawn[k] / len(sample), 4) for k in sizes},
            "heldout_perplexity": {"before": before, "after": after},
            "steps": result.steps,
            "tokens": result.tokens,
            "loss_curve": result.curve,
            "wall_s": round(time.perf_counter() - started, 1),
        }
