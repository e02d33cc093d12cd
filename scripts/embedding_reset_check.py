"""Is a zero-shot xnli model's loss on the target languages in its word embedding or in its
layers? Test accuracy on each target as trained, then with the embedding rows the English
training data never reads reset to the backbone's pretrained values (under +adversarial only the
reversed gradient reaches those rows), then with every row reset.

Keep a training's weights first (``bench run ... --keep-weights DIR``), then e.g.:

    BENCH_RESULTS=/tmp/check bench run --method adversarial --backbone me5_small:ablation \\
        --tasks xnli --langs sw,yo,ha --seeds 1 --selection source-dev \\
        --set adversarial.disc_lr_scale=10 --set adversarial.english=text \\
        --set adversarial.gamma=10 --set adversarial.weight=0.1 --keep-weights /tmp/kept
    python scripts/embedding_reset_check.py /tmp/kept/<run id>
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from bench.data.language import get_language
from bench.data.source import data_root
from bench.data.task import get_task
from bench.train.kinds import classification
from bench.train.kinds.common import eval_precision
from bench.train.vocab import CompactEmbedding

MODES = ("trained", "reset-untrained-rows", "reset-all-rows")


def reset_rows(
    weight: torch.Tensor, rows: torch.Tensor, pretrained: torch.Tensor, read: set[int], mode: str
) -> int:
    """Reset compact embedding rows to the full pretrained matrix's rows, in place: none
    ("trained"), those whose pieces the English task never reads ("reset-untrained-rows"), or
    all ("reset-all-rows"). Row i of ``weight`` is the vocabulary piece ``rows[i]``. Returns
    how many rows were reset."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: one of {', '.join(MODES)}")
    count = 0
    for row, piece in enumerate(rows.tolist()):
        if mode == "reset-all-rows" or (mode == "reset-untrained-rows" and piece not in read):
            weight[row] = pretrained[piece]
            count += 1
    return count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kept", type=Path, help="a folder --keep-weights wrote (DIR/<run id>)")
    ap.add_argument("--weights", default="best-source-dev.pt")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    about = json.loads((args.kept / "training.json").read_text())
    config, backbone = about["config"], Path(about["backbone_folder"])
    if config["task"] != "xnli" or config["setting"] != "zero-shot":
        raise SystemExit("error: this check reads an xnli zero-shot training")
    from transformers import AutoTokenizer

    root, task = data_root(), get_task("xnli")
    labels = task.labels(task.setting("zero-shot"))
    tok = AutoTokenizer.from_pretrained(args.kept / "tokenizer")
    state = torch.load(args.kept / args.weights, weights_only=True)
    saved = next((k for k in state if k.endswith("word_embeddings.lookup")), None)
    if saved is None:
        raise SystemExit("error: the training kept its whole vocabulary (compact_vocab unset)")
    rows = (state[saved] >= 0).nonzero().squeeze(1)  # the compacted vocabulary's pieces
    english = task.load(get_language("eng"), "train", "zero-shot", root).dataset
    pairs = tok(list(english["premise"]), list(english["hypothesis"]))["input_ids"]
    read = {piece for ids in pairs for piece in ids}  # the rows the English task trains
    targets = [role.partition(":")[2] for role in config["data"] if role.startswith("test:")]
    tests = {c: task.load(get_language(c), "test", "zero-shot", root).dataset for c in targets}
    length = config["max_length"]
    encoded = {c: classification.encode(d, tok, length, labels) for c, d in tests.items()}
    print(f"{'weights':22} " + " ".join(f"{c:>6}" for c in targets) + "    mean")
    for mode in MODES:
        module = classification.build(backbone, labels, tok)
        model = module.model
        pretrained = model.get_input_embeddings().weight.detach().clone()
        model.set_input_embeddings(CompactEmbedding(model.get_input_embeddings(), rows))
        mine = next(k for k in model.state_dict() if k.endswith("word_embeddings.lookup"))
        prefix = saved.removesuffix(mine)  # "model." or "task.model." (+adversarial's wrapper)
        model.load_state_dict(
            {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        )
        reset_rows(model.get_input_embeddings().weight.data, rows, pretrained, read, mode)
        module.eval()
        accuracy = {}
        with eval_precision(module, config.get("model", {}).get("eval_precision")):
            for c in targets:
                preds = classification.predict(module, encoded[c], tests[c], tok, labels)
                accuracy[c] = 100 * classification.score(preds, tests[c])["accuracy"]
        mean = sum(accuracy.values()) / len(accuracy)
        print(f"{mode:22} " + " ".join(f"{accuracy[c]:6.2f}" for c in targets) + f"  {mean:6.2f}")


if __name__ == "__main__":
    main()
