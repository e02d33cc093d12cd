"""Why does FLORES retrieval fall from 97.6% to 2.3% (swa) after +MLM's 100 steps? (`full`'s
alignment stage starts from the MLM stage's encoder: leaderboards/generated/me5-diagnostics.md.)

Either the sentence vectors lost what tells translations apart, or each language's vectors
moved by an offset of their own, which swamps cosine nearest neighbours across languages while
the information is still there. For each encoder folder this measures, on FLORES devtest
(English line -> its translation, both directions averaged, as the alignment stage measures
it): retrieval of the raw mean-pooled vectors; retrieval after removing each language's mean
vector (centring: an offset per language cannot survive it, lost information is not restored
by it); and the mean cosine between unrelated sentences (anisotropy, for context: a direction
shared by every vector raises it without hurting retrieval).

    python scripts/retrieval_check.py --stage mlm-me5_small-1d598ea6358b75ba \
        --out results/analysis/retrieval-check-mlm.json

(the stage name: a folder of the cache's `stages/`, which the grid built; its `stage.json` says
which recipe). Without --stage, only the backbone is measured.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from bench.core.paths import cache_dir
from bench.data.language import get_language
from bench.data.source import data_root
from bench.train.backbone import resolve_backbone
from bench.train.build import materialize
from bench.train.stages import parallel_text
from methods.alignment import embed


def scores(xx: torch.Tensor, en: torch.Tensor) -> dict[str, float]:
    """Retrieval (% of lines whose cosine nearest neighbour is their translation, both
    directions averaged) raw and centred, and the mean cosine between unrelated lines."""

    def retrieval(a: torch.Tensor, b: torch.Tensor) -> float:
        sim = torch.nn.functional.normalize(a, dim=-1) @ torch.nn.functional.normalize(b, dim=-1).T
        gold = torch.arange(len(a))
        both = (sim.argmax(1) == gold).float().mean() + (sim.argmax(0) == gold).float().mean()
        return round(float(both) / 2 * 100, 1)

    unit = torch.nn.functional.normalize(torch.cat([xx, en]), dim=-1)
    cos = unit @ unit.T
    off_diagonal = cos[~torch.eye(len(unit), dtype=torch.bool)]
    return {
        "retrieval_raw": retrieval(xx, en),
        "retrieval_centred": retrieval(xx - xx.mean(0), en - en.mean(0)),
        "mean_cosine_unrelated": round(float(off_diagonal.mean()), 3),
    }


def measure(folder: Path, langs: list[str], root: Path) -> dict[str, dict[str, float]]:
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, fix_mistral_regex=False)
    encoder = AutoModel.from_pretrained(folder, add_pooling_layer=False).eval()
    out = {}
    for code in langs:
        en, xx, _ = parallel_text(get_language(code), "test", root)
        out[code] = scores(embed(encoder, tokenizer, xx, 128), embed(encoder, tokenizer, en, 128))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backbone", default="me5_small")
    ap.add_argument("--stage", help="a folder name under the cache's stages/ (e.g. mlm-...)")
    ap.add_argument("--langs", default="swa,yor,hau")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root = data_root(None)
    backbone, _ = resolve_backbone(args.backbone)
    folders = {args.backbone: materialize(backbone, root, cache_dir())[0]}
    if args.stage:
        stage = cache_dir() / "stages" / args.stage
        folders[args.stage] = stage / "out" if (stage / "out").is_dir() else stage
    langs = args.langs.split(",")
    results = {name: measure(folder, langs, root) for name, folder in folders.items()}
    stage_json = cache_dir() / "stages" / str(args.stage) / "stage.json"
    if args.stage and stage_json.is_file():  # which recipe built the stage, and its key
        report = json.loads(stage_json.read_text())
        results["stage"] = {k: report.get(k) for k in ("stage", "key", "config", "steps")}
    text = json.dumps(
        {
            "command": "python scripts/retrieval_check.py",
            "args": vars(args) | {"out": str(args.out)},
            "results": results,
        },
        indent=1,
    )
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
