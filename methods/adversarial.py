"""+adversarial: language-invariant representations through a gradient-reversal layer.

During task fine-tuning, unlabelled target-language text is fed alongside the task batches
(zero-shot with ``english = "text"``: beside unlabelled English text of the same sources
instead, so that language, not domain or format, is what tells them apart); a
language discriminator on the encoder's representation (sentence-pooled, and per token as in
Keung et al. 2019) learns to tell the languages apart, while the gradient-reversal layer
(Ganin & Lempitsky 2015) sends the encoder the negated gradient scaled by
λ(p) = 2 / (1 + e^(−γp)) − 1, γ = 10, p = training progress. The discriminator's accuracy over
training is logged in the run's curve. Exercise:
``bench run --method adversarial --tasks xnli --langs sw --seeds 1``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import torch

from bench.train.method import ADDED_LATER, Context, Method, choices


class GradReverse(torch.autograd.Function):
    """Identity forward; the gradient times −λ backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, lam: float) -> torch.Tensor:
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.lam * grad, None


def grad_reverse(x: torch.Tensor, lam: float) -> torch.Tensor:
    return GradReverse.apply(x, lam)


def grl_lambda(progress: float, gamma: float = 10.0) -> float:
    """Ganin & Lempitsky (2015): 0 at the start, approaching 1 by the end of training."""
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0


@dataclass(frozen=True)
class Config:
    weight: float = 1.0  # discriminator loss weight (relative to the task loss per target)
    gamma: float = 10.0  # λ schedule steepness (Ganin & Lempitsky 2015)
    token_level: bool = True  # also a per-token discriminator (Keung et al. 2019)
    unlabelled_batch: int = 16  # target sentences per step
    max_lines: int = 20000  # unlabelled lines kept per language
    hidden: int = 128  # discriminator hidden size
    # The discriminators' learning rate as a multiple of the model's: they start from random
    # init, and at a fine-tuning lr (5e-5) may never beat a constant guess within a short run,
    # leaving the reversed gradient noise (the run's disc_accuracy vs disc_majority shows it).
    disc_lr_scale: float = field(default=1.0, metadata=ADDED_LATER)
    # Zero-shot, what stands for English beside the targets' unlabelled text: "task" = the
    # English task batches (Keung et al. 2019), or "text" = unlabelled English lines from the
    # same sources as the targets' (news), English and one target language each step, so the
    # discriminator cannot tell the languages apart by domain or by the task's sentence-pair
    # format instead of by language.
    english: str = field(default="task", metadata=ADDED_LATER | choices("task", "text"))


def encoder_of(model: torch.nn.Module) -> torch.nn.Module:
    """The encoder whose representation is made language-invariant."""
    if hasattr(model, "decoder") and hasattr(model, "encoder"):  # EncoderDecoderModel
        return model.encoder
    return model.base_model


class Discriminator(torch.nn.Module):
    def __init__(self, width: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(width, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Adversarial(torch.nn.Module):
    """The task module plus a language discriminator behind gradient reversal.

    ``forward`` in training: the task loss, plus ``weight`` × the discriminator's mean
    cross-entropy scaled to the batch's number of targets (so the trainer's normalisation by
    targets leaves it a mean). In evaluation: the task module alone. Unlabelled batches are
    drawn from (seed, step, rank), so a resumed run draws the same ones.
    """

    def __init__(
        self,
        task: torch.nn.Module,
        text: dict[str, list[list[int]]],  # language -> tokenised lines
        task_language: str | None,  # the language of the task batches, if one
        pad_id: int,
        config: Config,
        seed: int,
        anchor: str | None = None,  # with no task language: a language drawn every step
    ) -> None:
        super().__init__()
        self.task = task
        self.config = config
        self.langs = sorted({*text, *([task_language] if task_language else [])})
        self.text = text
        self.task_language = task_language
        self.anchor = anchor
        self.pad_id = pad_id
        self.seed = seed
        self.rank = int(__import__("os").environ.get("RANK", "0"))
        width = encoder_of(task.model).config.hidden_size
        self.sentence = Discriminator(width, config.hidden, len(self.langs))
        self.token = Discriminator(width, config.hidden, len(self.langs))
        if config.disc_lr_scale != 1.0:  # the trainer's optimizer reads the mark
            for p in [*self.sentence.parameters(), *self.token.parameters()]:
                p.lr_scale = config.disc_lr_scale  # type: ignore[attr-defined]
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.register_buffer("stats", torch.zeros(4))  # correct, seen, loss sum, steps (sentence)
        self.total = 1
        self._step = 0
        # most frequent language's count, sentences: logging only, so not checkpointed
        self.register_buffer("majority", torch.zeros(2, dtype=torch.long), persistent=False)

    @property
    def model(self) -> torch.nn.Module:  # the kinds' predict() reaches the model through this
        return self.task.model

    def encoder_inputs(self) -> list[list[int]]:
        """The unlabelled lines it feeds the encoder (a compact vocabulary keeps their pieces)."""
        return [ids for lines in self.text.values() for ids in lines]

    def begin(self, total_steps: int) -> None:
        """Called by the trainer once, after resuming: the λ schedule needs the horizon."""
        self.total = max(1, total_steps)
        self._step = int(self.step)
        if hasattr(self.task, "begin"):  # a wrapped auxiliary objective of another method
            self.task.begin(total_steps)

    def _unlabelled(self, lang: str, device: torch.device) -> dict[str, torch.Tensor]:
        rng = random.Random(f"{self.seed}/{self._step}/{self.rank}/{lang}")
        lines = self.text[lang]
        rows = [lines[rng.randrange(len(lines))] for _ in range(self.config.unlabelled_batch)]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
        return {
            "input_ids": ids.to(device),
            "attention_mask": (ids != self.pad_id).long().to(device),
        }

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Any]:
        if not self.training:
            return self.task(batch)
        encoder = encoder_of(self.task.model)
        captured: list[torch.Tensor] = []
        hook = encoder.register_forward_hook(lambda _m, _i, out: captured.append(out[0]))
        try:
            loss, n = self.task(batch)
        finally:
            hook.remove()
        device = batch["input_ids"].device
        reps, masks, labels = [], [], []
        if self.task_language is not None:  # the task batch is in one known language
            reps.append(captured[0])
            masks.append(batch["attention_mask"])
            labels.append(self.langs.index(self.task_language))
        others = [lang for lang in self.langs if lang != self.task_language]
        rng = random.Random(f"{self.seed}/{self._step}/{self.rank}/pick")
        if self.task_language is not None:  # the task batch and one other language
            picked = [rng.choice(others)]
        elif self.anchor is not None:  # English text and one target language
            picked = [self.anchor, rng.choice([x for x in others if x != self.anchor])]
        else:  # translation: both languages of the batches
            picked = others
        for lang in picked:
            inputs = self._unlabelled(lang, device)
            reps.append(encoder(**inputs)[0])
            masks.append(inputs["attention_mask"])
            labels.append(self.langs.index(lang))
        lam = grl_lambda(self._step / self.total, self.config.gamma)
        aux = self._discriminate(reps, masks, labels, lam)
        self.step += 1
        self._step += 1
        return loss + self.config.weight * aux * n, n

    def _discriminate(
        self, reps: list[torch.Tensor], masks: list[torch.Tensor], labels: list[int], lam: float
    ) -> torch.Tensor:
        pooled, sent_y, tokens, tok_y = [], [], [], []
        for h, m, y in zip(reps, masks, labels, strict=True):
            m = m.to(h.dtype).unsqueeze(-1)
            pooled.append((h * m).sum(1) / m.sum(1).clamp(min=1))
            sent_y.append(torch.full((h.shape[0],), y, dtype=torch.long, device=h.device))
            keep = m.squeeze(-1).bool()
            tokens.append(h[keep])
            tok_y.append(torch.full((int(keep.sum()),), y, dtype=torch.long, device=h.device))
        pooled_t, sent_t = torch.cat(pooled), torch.cat(sent_y)
        logits = self.sentence(grad_reverse(pooled_t, lam)).float()
        loss = torch.nn.functional.cross_entropy(logits, sent_t)
        counts = torch.bincount(sent_t, minlength=len(self.langs))  # no host sync here
        self.majority += torch.stack([counts.max(), counts.sum()]).to(self.majority.device)
        with torch.no_grad():
            self.stats += torch.stack(
                [
                    (logits.argmax(-1) == sent_t).sum().float(),
                    torch.tensor(float(len(sent_t)), device=logits.device),
                    loss.detach().float(),
                    torch.ones((), device=logits.device),
                ]
            ).to(self.stats.device)
        if self.config.token_level:
            tok_logits = self.token(grad_reverse(torch.cat(tokens), lam)).float()
            loss = loss + torch.nn.functional.cross_entropy(tok_logits, torch.cat(tok_y))
        return loss

    def log_metrics(self) -> dict[str, float]:
        """Discriminator accuracy and loss since the last call (the trainer logs them)."""
        correct, seen, loss, steps = (float(v) for v in self.stats)
        steps = max(1.0, steps)
        self.stats.zero_()
        most, counted = (int(v) for v in self.majority)
        self.majority.zero_()
        inner = self.task.log_metrics() if hasattr(self.task, "log_metrics") else {}
        return inner | {
            "disc_accuracy": round(correct / max(1.0, seen), 4),
            "disc_majority": round(most / max(1, counted), 4),  # accuracy of a constant guess
            "disc_loss": round(loss / steps, 4),
            "grl_lambda": round(grl_lambda(self._step / self.total, self.config.gamma), 4),
        }


def tokenised_text(ctx: Context, lang: Any, limit: int) -> tuple[list[list[int]], dict[str, Any]]:
    from bench.train.stages import monolingual_text

    lines, report = monolingual_text(lang, ctx.root, guard_langs=ctx.targets)
    lines = lines[:limit]
    ids = ctx.tokenizer(lines, truncation=True, max_length=ctx.max_length)["input_ids"]
    return ids, {**report, "used": len(ids)}


class AdversarialMethod(Method):
    name = "adversarial"
    summary = "language discriminator behind gradient reversal during fine-tuning (λ schedule)"
    paper = "Ganin & Lempitsky 2015; Keung et al. 2019"
    order = 40
    Config = Config

    def wrap(self, module: torch.nn.Module, ctx: Context) -> torch.nn.Module:
        from bench.data.language import get_language

        text, reports = {}, {}
        eng = get_language("eng")
        one_language = ctx.task.kind != "translation"  # translation batches mix two languages
        english_text = one_language and self.config.english == "text"
        if one_language and ctx.train_lang.code == eng.code:  # zero-shot: English vs the targets
            langs = [lang for lang in ctx.targets if lang.code != eng.code]
            langs = [eng, *langs] if english_text else langs
        elif one_language:  # in-language: the target's own batches vs English
            langs = [eng]
        else:
            langs = [eng, ctx.train_lang]  # the two source languages of the batches
        for lang in langs:
            text[lang.code], reports[lang.code] = tokenised_text(ctx, lang, self.config.max_lines)
        anchored = english_text and ctx.train_lang.code == eng.code
        ctx.reports[self.name] = {
            "unlabelled": {
                k: {kk: v[kk] for kk in ("used", "removed", "sha256")} for k, v in reports.items()
            },
            "languages": sorted({*text, *([ctx.train_lang.code] if one_language else [])}),
            **({"english": "unlabelled text"} if anchored else {}),
        }
        return Adversarial(
            module,
            text,
            ctx.train_lang.code if one_language and not anchored else None,
            ctx.tokenizer.pad_token_id,
            self.config,
            ctx.seed,
            anchor=eng.code if anchored else None,
        )
