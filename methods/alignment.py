"""+alignment: pull the contextual representations of translations together, before fine-tuning.

On parallel sentences (MAFAND train, English paired with each target), two objectives:

* sentence level: InfoNCE over in-batch negatives between mean-pooled English and target
  sentences, temperature 0.1, both directions (Wu & Dredze 2020 study this family; note they
  found such objectives do not robustly help once several seeds are averaged: measure it);
* word level (Cao et al. 2020): tokens aligned by the *original* model's own similarity
  (mutual argmax, as SimAlign's ArgMax) are pulled together (squared L2), and English
  representations are kept close to the original model's (the regulariser of Cao et al.).

Alignment is measured directly too: FLORES devtest bitext retrieval accuracy (xsim-style
nearest neighbour by cosine of mean-pooled states, both directions) before and after, in the
stage report and every run record. Exercise:
``bench run --method alignment --tasks xnli --langs sw --seeds 1``.
"""

from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from bench.train.method import ADDED_LATER, Context, Method, choices, recorded
from bench.train.stages import cached_stage, parallel_text, stage_key, usable_length
from bench.train.trainer import PRECISIONS


@dataclass(frozen=True)
class Config:
    steps: int = 1000
    batch_size: int = 32  # pairs per step (in-batch negatives)
    lr: float = 5e-5
    temperature: float = 0.1  # InfoNCE
    sentence: bool = True
    word: bool = True
    word_weight: float = 1.0  # squared distance per dimension between aligned tokens
    anchor_weight: float = 1.0  # keep English close to the original model (Cao et al. 2020)
    max_length: int = 128
    seed: int = 0  # of the stage
    auxiliary_weight: float = 0.0  # > 0: also the sentence objective during fine-tuning
    auxiliary_batch: int = 16  # parallel pairs per fine-tuning step
    # amp-bf16: the stage under bf16 autocast (as the fine-tuning recipes), fp32 weights
    precision: str = field(default="fp32", metadata=ADDED_LATER | choices(*PRECISIONS))


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1)


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE: row i of `a` should be nearest to row i of `b` among the batch."""
    sim = torch.nn.functional.normalize(a, dim=-1) @ torch.nn.functional.normalize(b, dim=-1).T
    target = torch.arange(len(a), device=a.device)
    sim = sim.float() / temperature
    return (
        torch.nn.functional.cross_entropy(sim, target)
        + torch.nn.functional.cross_entropy(sim.T, target)
    ) / 2


def mutual_argmax(
    src: torch.Tensor, tgt: torch.Tensor, src_mask: torch.Tensor, tgt_mask: torch.Tensor
):
    """Token alignments of a batch of pairs by mutual best cosine similarity (SimAlign ArgMax).

    Returns (batch index, source position, target position) tensors.
    """
    s = torch.nn.functional.normalize(src, dim=-1)
    t = torch.nn.functional.normalize(tgt, dim=-1)
    sim = s @ t.transpose(1, 2)  # B x S x T
    sim = sim.masked_fill(~src_mask.bool().unsqueeze(2), -2).masked_fill(
        ~tgt_mask.bool().unsqueeze(1), -2
    )
    fwd = sim.argmax(2)  # B x S: best target for each source token
    bwd = sim.argmax(1)  # B x T: best source for each target token
    back = torch.gather(bwd, 1, fwd)  # B x S
    pos = torch.arange(sim.shape[1], device=sim.device).expand_as(fwd)
    keep = (back == pos) & src_mask.bool()
    b, i = keep.nonzero(as_tuple=True)
    return b, i, fwd[b, i]


def content_mask(ids: torch.Tensor, special: torch.Tensor) -> torch.Tensor:
    """1 at real, non-special tokens (special tokens are never aligned)."""
    return (~torch.isin(ids, special)).long()


class AlignmentLoss(torch.nn.Module):
    """forward(batch of pairs) -> (loss × pairs, pairs), for the suite's trainer."""

    def __init__(self, model: torch.nn.Module, config: Config, special: list[int]) -> None:
        super().__init__()
        self.model = model  # a *ForMaskedLM: the whole model is saved afterwards
        self.encoder = model.base_model
        self.original = copy.deepcopy(self.encoder).eval().requires_grad_(False)
        self.config = config
        self.register_buffer("special", torch.tensor(sorted(special)), persistent=False)

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        c = self.config
        en = self.encoder(input_ids=batch["en_ids"], attention_mask=batch["en_mask"])[0]
        xx = self.encoder(input_ids=batch["xx_ids"], attention_mask=batch["xx_mask"])[0]
        loss = en.new_zeros(())
        if c.sentence:
            loss = loss + info_nce(
                mean_pool(xx, batch["xx_mask"]), mean_pool(en, batch["en_mask"]), c.temperature
            )
        if c.word:
            en_c = content_mask(batch["en_ids"], self.special) * batch["en_mask"]
            xx_c = content_mask(batch["xx_ids"], self.special) * batch["xx_mask"]
            with torch.no_grad():
                self.original.train(False)
                en0 = self.original(input_ids=batch["en_ids"], attention_mask=batch["en_mask"])[0]
                xx0 = self.original(input_ids=batch["xx_ids"], attention_mask=batch["xx_mask"])[0]
                b, i, j = mutual_argmax(xx0, en0, xx_c, en_c)
            if len(b):
                loss = loss + c.word_weight * ((xx[b, i] - en[b, j]) ** 2).mean()
            keep = en_c.bool()
            loss = loss + c.anchor_weight * ((en[keep] - en0[keep]) ** 2).mean()
        n = batch["en_ids"].shape[0]
        return loss * n, n


def collate_pairs(pad_id: int):
    from bench.train.kinds.common import pad

    def fn(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        en = pad([x["en_ids"] for x in items], pad_id)
        xx = pad([x["xx_ids"] for x in items], pad_id)
        return {
            "en_ids": en,
            "en_mask": (en != pad_id).long(),
            "xx_ids": xx,
            "xx_mask": (xx != pad_id).long(),
        }

    return fn


@torch.no_grad()
def embed(
    encoder: torch.nn.Module, tokenizer: Any, lines: list[str], max_length: int
) -> torch.Tensor:
    from bench.train.kinds.common import device_of, eval_batches, pad

    ids = tokenizer(lines, truncation=True, max_length=max_length)["input_ids"]
    out = torch.zeros(len(lines), encoder.config.hidden_size)
    encoder.eval()
    for batch in eval_batches([len(x) for x in ids], 128):
        x = pad([ids[i] for i in batch], tokenizer.pad_token_id).to(device_of(encoder))
        mask = (x != tokenizer.pad_token_id).long()
        out[batch] = mean_pool(encoder(input_ids=x, attention_mask=mask)[0], mask).float().cpu()
    return out


def retrieval_accuracy(
    encoder: torch.nn.Module, tokenizer: Any, en: list[str], xx: list[str], max_length: int
) -> dict[str, float]:
    """Bitext retrieval (xsim-style): the share of sentences whose cosine nearest neighbour
    in the other language is their translation, each direction, and the mean."""
    a = torch.nn.functional.normalize(embed(encoder, tokenizer, xx, max_length), dim=-1)
    b = torch.nn.functional.normalize(embed(encoder, tokenizer, en, max_length), dim=-1)
    sim = a @ b.T
    gold = torch.arange(len(en))
    xx_en = float((sim.argmax(1) == gold).float().mean())
    en_xx = float((sim.argmax(0) == gold).float().mean())
    return {
        "xx->en": round(xx_en, 4),
        "en->xx": round(en_xx, 4),
        "mean": round((xx_en + en_xx) / 2, 4),
    }


class AlignmentAuxiliary(torch.nn.Module):
    """The task module plus the sentence-level InfoNCE on a batch of parallel pairs at every
    training step (weight × mean loss, scaled to the batch's targets like the task loss).
    Pairs are drawn from (seed, step, rank), so a resumed run draws the same ones."""

    def __init__(
        self,
        task: torch.nn.Module,
        pairs: list[tuple[list[int], list[int]]],
        pad_id: int,
        config: Config,
        seed: int,
    ) -> None:
        super().__init__()
        self.task, self.pairs, self.pad_id, self.config, self.seed = (
            task,
            pairs,
            pad_id,
            config,
            seed,
        )
        self.rank = int(__import__("os").environ.get("RANK", "0"))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.register_buffer("stats", torch.zeros(2))  # loss sum, steps
        self._step = 0

    @property
    def model(self) -> torch.nn.Module:
        return self.task.model

    def encoder_inputs(self) -> list[list[int]]:
        """Both sides of its parallel pairs (a compact vocabulary keeps their pieces)."""
        return [ids for pair in self.pairs for ids in pair]

    def begin(self, total_steps: int) -> None:
        self._step = int(self.step)
        if hasattr(self.task, "begin"):
            self.task.begin(total_steps)

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Any]:
        loss, n = self.task(batch)
        if not self.training:
            return loss, n
        from methods.adversarial import encoder_of

        rng = random.Random(f"{self.seed}/{self._step}/{self.rank}/align")
        picked = [
            self.pairs[rng.randrange(len(self.pairs))] for _ in range(self.config.auxiliary_batch)
        ]
        collated = collate_pairs(self.pad_id)([{"en_ids": e, "xx_ids": x} for e, x in picked])
        device = batch["input_ids"].device
        collated = {k: v.to(device) for k, v in collated.items()}
        encoder = encoder_of(self.task.model)
        en = encoder(input_ids=collated["en_ids"], attention_mask=collated["en_mask"])[0]
        xx = encoder(input_ids=collated["xx_ids"], attention_mask=collated["xx_mask"])[0]
        aux = info_nce(
            mean_pool(xx, collated["xx_mask"]),
            mean_pool(en, collated["en_mask"]),
            self.config.temperature,
        )
        with torch.no_grad():
            self.stats += torch.stack([aux.detach().float(), torch.ones((), device=aux.device)]).to(
                self.stats.device
            )
        self.step += 1
        self._step += 1
        return loss + self.config.auxiliary_weight * aux * n, n

    def log_metrics(self) -> dict[str, float]:
        total, steps = (float(v) for v in self.stats)
        self.stats.zero_()
        inner = self.task.log_metrics() if hasattr(self.task, "log_metrics") else {}
        return inner | {"align_loss": round(total / max(1.0, steps), 4)}


class Alignment(Method):
    name = "alignment"
    summary = "align translations on MAFAND: sentence InfoNCE (τ=0.1) + word-level (Cao et al.)"
    paper = "Wu & Dredze 2020; Cao et al. 2020; SimAlign (Jalili Sabet et al. 2020)"
    order = 20
    Config = Config

    def adapt(self, folder: Path, ctx: Context) -> tuple[Path, dict[str, Any]]:
        c = self.config
        pairs, heldout, provenance = [], {}, {}
        for lang in ctx.targets:
            en, xx, prov = parallel_text(lang, "train", ctx.root)
            pairs += [(lang.code, e, x) for e, x in zip(en, xx, strict=True)]
            provenance[lang.code] = prov["sha256"]
            ten, txx, _ = parallel_text(lang, "test", ctx.root)
            heldout[lang.code] = (ten, txx)
        key = stage_key(method=self.name, input=ctx.input_key, config=recorded(c), data=provenance)

        def build(work: Path) -> dict[str, Any]:
            return self._build(folder, work, pairs, heldout, provenance)

        return cached_stage(ctx.cache, f"alignment-{ctx.backbone.name}", key, build)

    def wrap(self, module: torch.nn.Module, ctx: Context) -> torch.nn.Module:
        c = self.config
        if c.auxiliary_weight <= 0:
            return module
        pairs = []
        for lang in ctx.targets:
            en, xx, _ = parallel_text(lang, "train", ctx.root)
            en_ids = ctx.tokenizer(en, truncation=True, max_length=ctx.max_length)["input_ids"]
            xx_ids = ctx.tokenizer(xx, truncation=True, max_length=ctx.max_length)["input_ids"]
            pairs += list(zip(en_ids, xx_ids, strict=True))
        return AlignmentAuxiliary(module, pairs, ctx.tokenizer.pad_token_id, c, ctx.seed)

    def _build(self, folder: Path, work: Path, pairs, heldout, provenance) -> dict[str, Any]:
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        from bench.core.progress import bar
        from bench.train.trainer import TrainConfig, seed_everything, train

        c = self.config
        started = time.perf_counter()
        tokenizer = AutoTokenizer.from_pretrained(folder)
        seed_everything(c.seed)
        model = AutoModelForMaskedLM.from_pretrained(folder)
        length = usable_length(model, c.max_length)
        before = _retrieval(model, tokenizer, heldout, length)
        random.Random(c.seed).shuffle(pairs)
        data = _encode_pairs(tokenizer, pairs, length)
        cfg = TrainConfig(
            lr=c.lr,
            batch_size=c.batch_size,
            epochs=10**6,
            max_steps=c.steps,
            warmup_ratio=0.06,
            seed=c.seed,
            evals=0,
            checkpoint_every=250,
            log_every=25,
            precision=c.precision,
        )
        objective = AlignmentLoss(model, c, tokenizer.all_special_ids)
        with bar("adapting: aligning translations", total=c.steps) as tick:
            result = train(
                objective,
                data,
                collate_pairs(tokenizer.pad_token_id),
                cfg,
                work / "train",
                progress=tick,
            )
        after = _retrieval(model, tokenizer, heldout, length)
        model.save_pretrained(work / "out")
        tokenizer.save_pretrained(work / "out")
        return {
            "config": recorded(c),
            "pairs": len(pairs),
            "data": provenance,
            "retrieval": {"before": before, "after": after, "test_set": "flores200 devtest"},
            "steps": result.steps,
            "tokens": result.tokens,
            "loss_curve": result.curve,
            "wall_s": round(time.perf_counter() - started, 1),
        }


def _retrieval(model: Any, tokenizer: Any, heldout: dict, length: int) -> dict[str, float]:
    """FLORES retrieval accuracy per language pair (English line -> its translation)."""
    return {
        k: retrieval_accuracy(model.base_model, tokenizer, en, xx, length)
        for k, (en, xx) in heldout.items()
    }


def _encode_pairs(tokenizer: Any, pairs: list, length: int) -> Any:
    """(lang, English, translation) pairs as token ids, with the lengths batching sorts by."""
    from datasets import Dataset

    en_ids = tokenizer([p[1] for p in pairs], truncation=True, max_length=length)["input_ids"]
    xx_ids = tokenizer([p[2] for p in pairs], truncation=True, max_length=length)["input_ids"]
    return Dataset.from_dict(
        {
            "en_ids": en_ids,
            "xx_ids": xx_ids,
            "length": [max(len(a), len(b)) for a, b in zip(en_ids, xx_ids, strict=True)],
            "n_targets": [1] * len(pairs),
        }
    )
