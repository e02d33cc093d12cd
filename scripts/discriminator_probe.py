"""Can +adversarial's language discriminator learn at all, within a run's steps, from a frozen
encoder's features? The method's own `Discriminator` (sentence level: mean-pooled final hidden
states) trained on unlabelled lines as the method feeds it (each step 16 English lines and 16 of
one target language drawn at random), at the recipe's lr times each scale, AdamW as the trainer
builds it; scored on held-out lines of each language, balanced (4 classes: chance 25%).

If it cannot learn even with the encoder frozen, then during +adversarial fine-tuning the
reversed gradient is computed against a near-random classifier, and the encoder is pushed
wherever that classifier's boundary happens to lie. Deterministic (seeded); needs the backbone
built (`bench backbone build me5_small`) and the data root.

    python scripts/discriminator_probe.py --backbone me5_small --scales 1,10,100 --steps 252
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch

from bench.core.paths import cache_dir
from bench.data.language import get_language
from bench.data.source import data_root
from bench.train.backbone import resolve_backbone
from bench.train.build import materialize
from bench.train.stages import monolingual_text
from methods.adversarial import Discriminator

LANGS = ["eng", "hau", "swa", "yor"]  # the method's label order (sorted codes)


@torch.no_grad()
def features(folder: Path, lines: list[str], batch: int = 64) -> torch.Tensor:
    """Mean-pooled final hidden states of the frozen encoder (what the sentence discriminator
    reads), in fp32."""
    from transformers import AutoModel, AutoTokenizer

    # fix_mistral_regex=False: see benchmarks/throughput.py (a false warning, silenced)
    tok = AutoTokenizer.from_pretrained(folder, fix_mistral_regex=False)
    enc = AutoModel.from_pretrained(folder, add_pooling_layer=False).eval()  # no pooler: mean
    out = []
    for i in range(0, len(lines), batch):
        b = tok(
            lines[i : i + batch], padding=True, truncation=True, max_length=128, return_tensors="pt"
        )
        h, m = enc(**b)[0], b["attention_mask"].unsqueeze(-1).float()
        out.append((h * m).sum(1) / m.sum(1))
    return torch.cat(out)


def probe(
    train: dict[int, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    lr: float,
    steps: int,
    report: list[int],
    seed: int = 0,
) -> dict[int, float]:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    disc = Discriminator(train[0].shape[1], 128, len(LANGS))
    opt = torch.optim.AdamW(disc.parameters(), lr=lr, weight_decay=0.01)
    scores = {}
    for step in range(1, steps + 1):
        picked = [0, rng.randrange(1, len(LANGS))]  # English and one target language
        x = torch.cat(
            [
                train[c][torch.tensor([rng.randrange(len(train[c])) for _ in range(16)])]
                for c in picked
            ]
        )
        y = torch.tensor([c for c in picked for _ in range(16)])
        loss = torch.nn.functional.cross_entropy(disc(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step in report:
            with torch.no_grad():
                scores[step] = (disc(test[0]).argmax(-1) == test[1]).float().mean().item()
    return scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backbone", default="me5_small")
    ap.add_argument("--lr", type=float, default=5e-5, help="the recipe's lr (me5_small xnli: 5e-5)")
    ap.add_argument("--scales", default="1,10,100", help="discriminator lr multiples to try")
    ap.add_argument("--steps", type=int, default=252, help="a run's steps (xnli ablation: 252)")
    ap.add_argument("--lines", type=int, default=800, help="training lines per language")
    ap.add_argument("--held-out", type=int, default=200, help="test lines per language")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root = data_root()
    backbone, _ = resolve_backbone(args.backbone)
    folder, _ = materialize(backbone, root, cache_dir())
    t0 = time.perf_counter()
    train, xs, ys = {}, [], []
    for i, code in enumerate(LANGS):
        lines = monolingual_text(get_language(code), root)[0]
        picked = random.Random(code).sample(lines, args.lines + args.held_out)
        feats = features(folder, picked)
        train[i] = feats[: args.lines]
        xs.append(feats[args.lines :])
        ys += [i] * args.held_out
    test = (torch.cat(xs), torch.tensor(ys))
    print(
        f"features of {len(LANGS)} x {args.lines + args.held_out} lines: "
        f"{time.perf_counter() - t0:.0f} s"
    )
    report = sorted({s for s in (25, 50, 100, args.steps) if s <= args.steps})
    print("held-out accuracy, 4 languages balanced (chance 25%), after N steps")
    print(f"{'lr':>10} {'scale':>6} " + " ".join(f"{s:>7}" for s in report))
    for scale in (float(s) for s in args.scales.split(",")):
        scores = probe(train, test, args.lr * scale, args.steps, report)
        print(
            f"{args.lr * scale:>10.1e} {scale:>6g} "
            + " ".join(f"{100 * scores[s]:>6.1f}%" for s in report)
        )


if __name__ == "__main__":
    main()
