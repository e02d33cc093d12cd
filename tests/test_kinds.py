"""A DeepSpeed training step per task head, on real data slices and a tiny backbone."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer

from bench.data.task import get_task
from bench.train.kinds import KINDS
from bench.train.trainer import TrainConfig, train

CASES = [  # task, language whose split trains, setting, label source
    ("xnli", "en", "zero-shot"),
    ("masakhaner", "ha", "in-language"),
    ("flores", "ha", "in-language"),
]


def _slice(task, lang, setting, split, data_root, n):
    return task.load(lang, split, setting, data_root).dataset.select(range(n))


@pytest.mark.parametrize(("task_name", "lang", "setting"), CASES)
def test_train_predict_score(task_name, lang, setting, tiny_backbone, data_root, tmp_path):
    task = get_task(task_name)
    kind = KINDS[task.kind]
    tokenizer = AutoTokenizer.from_pretrained(tiny_backbone)
    labels = task.labels(task.setting(setting)) if task.labels else None
    extra = labels if labels is not None else ("eng", "hau")
    if task.kind == "translation":
        kind.add_tags(tokenizer, list(extra))
    train_rows = _slice(task, lang, setting, "train", data_root, 48)
    test_rows = _slice(task, "ha" if task_name != "xnli" else "sw", setting, "test", data_root, 16)
    encoded = kind.encode(train_rows, tokenizer, 48, extra)
    module = kind.build(tiny_backbone, labels, tokenizer)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    cfg = TrainConfig(lr=1e-3, batch_size=16, epochs=1, seed=1, evals=1, log_every=1)
    test_enc = kind.encode(test_rows, tokenizer, 48, extra)

    def evaluate(m):
        return {"dev": kind.selection_score(m, test_enc, test_rows, tokenizer, extra)}

    result = train(module, encoded, kind.collate(tokenizer), cfg, tmp_path / "run", evaluate)
    assert result.steps == -(-len(encoded) // 16)  # one epoch of global batches of 16
    assert all(torch.isfinite(torch.tensor(p["loss"])) for p in result.curve if "loss" in p)
    assert any(not torch.equal(before[k], v) for k, v in module.state_dict().items()), (
        "no parameter moved"
    )
    assert (tmp_path / "run" / "best-dev.pt").is_file() and (tmp_path / "run" / "last.pt").is_file()
    preds = kind.predict(module, test_enc, test_rows, tokenizer, extra)
    metrics = kind.score(preds, test_rows, extra)
    if task_name == "xnli":
        assert len(preds) == 16 and set(preds) <= set(labels)
        assert 0 <= metrics["accuracy"] <= 1
    elif task_name == "masakhaner":
        assert [len(p) for p in preds] == [len(t) for t in test_rows["tokens"]]
        assert 0 <= metrics["f1"] <= 1 and "per_type" in metrics
    else:
        assert set(preds) == {"eng-hau", "hau-eng"} and all(len(v) == 16 for v in preds.values())
        assert metrics["eng-hau"]["chrf++_signature"].startswith("nrefs:1")
        assert metrics["eng-hau"]["spbleu"] is None or metrics["eng-hau"]["spbleu"] >= 0


def test_tagging_labels_first_subtoken_only(tiny_backbone, data_root):
    task = get_task("masakhaner")
    kind = KINDS[task.kind]
    tokenizer = AutoTokenizer.from_pretrained(tiny_backbone)
    labels = task.labels(task.setting("in-language"))
    rows = _slice(task, "ha", "in-language", "test", data_root, 20)
    enc = kind.encode(rows, tokenizer, 512, labels)
    for item, tags in zip(enc, rows["tags"], strict=True):
        labelled = [lab for lab in item["labels"] if lab != -100]
        assert [labels[i] for i in labelled] == tags  # one label per word, in order
        assert item["n_targets"] == len(tags) == len(item["first"])


def test_encoding_is_cached_per_content(tiny_backbone, data_root, tmp_path):
    """The second tokenisation of a split is read back from the cache file, equal to the
    first; another max length or other content gets another file."""
    from bench.data.source import LoadedSplit
    from bench.runs.runner import encoded

    task = get_task("masakhaner")
    kind = KINDS[task.kind]
    tokenizer = AutoTokenizer.from_pretrained(tiny_backbone)
    labels = task.labels(task.setting("in-language"))
    split = task.load("ha", "train", "in-language", data_root)
    small = LoadedSplit(split.dataset.select(range(64)), {**split.provenance, "sha256": "a" * 64})
    first = encoded(kind, small, tokenizer, 48, labels, tmp_path)
    files = sorted((tmp_path / "encoded").glob("*.arrow"))
    assert len(files) == 1
    again = encoded(kind, small, tokenizer, 48, labels, tmp_path)
    assert again.to_list() == first.to_list()
    assert again.cache_files[0]["filename"] == str(files[0])
    encoded(kind, small, tokenizer, 32, labels, tmp_path)
    other = LoadedSplit(
        split.dataset.select(range(64, 96)), {**small.provenance, "sha256": "b" * 64}
    )
    encoded(kind, other, tokenizer, 48, labels, tmp_path)
    assert len(list((tmp_path / "encoded").glob("*.arrow"))) == 3


def test_a_shallow_decoder_keeps_the_backbones_first_layers(tiny_bert):
    """``decoder_layers = N`` (a translation recipe key): the decoder is the backbone's first N
    layers, weights and all, with new cross-attention; the encoder stays whole."""
    from transformers import AutoModel

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    backbone = AutoModel.from_pretrained(tiny_bert)
    depth = backbone.config.num_hidden_layers
    assert depth > 1
    model = KINDS["translation"].build(tiny_bert, None, tokenizer, decoder_layers=1).model
    assert len(model.encoder.encoder.layer) == depth
    assert len(model.decoder.bert.encoder.layer) == model.decoder.config.num_hidden_layers == 1
    kept = model.decoder.bert.encoder.layer[0].attention.self.query.weight
    assert torch.equal(kept, backbone.encoder.layer[0].attention.self.query.weight)
    full = KINDS["translation"].build(tiny_bert, None, tokenizer).model
    assert len(full.decoder.bert.encoder.layer) == depth
    assert full.generation_config.num_beams == 4  # the default test decoding: beam 4
    greedy = KINDS["translation"].build(tiny_bert, None, tokenizer, beams=1).model
    assert greedy.generation_config.num_beams == 1  # ``beams = 1``: greedy


def test_model_options_are_checked_and_kept_out_of_the_optimiser_settings():
    from bench.core.errors import BenchError
    from bench.train.backbone import backbones
    from bench.train.recipe import model_options, train_config

    me5, flores, ner = backbones().get("me5_small"), get_task("flores"), get_task("masakhaner")
    train_config(me5, flores, 1, {"decoder_layers": "2"})  # not a TrainConfig field: no error
    assert model_options(me5, flores, {"decoder_layers": "2"})["decoder_layers"] == 2
    assert model_options(me5, ner, {}) == {}
    assert model_options(me5, flores, {"beams": "1"})["beams"] == 1
    with pytest.raises(BenchError, match="does not apply to task masakhaner"):
        model_options(me5, ner, {"beams": "1"})
    with pytest.raises(BenchError, match="does not apply to task masakhaner"):
        model_options(me5, ner, {"decoder_layers": "2"})
    with pytest.raises(BenchError, match="expected a positive number"):
        model_options(me5, flores, {"decoder_layers": "0"})
    with pytest.raises(BenchError, match="expected a int"):
        model_options(me5, flores, {"decoder_layers": "two"})
    # evaluation options apply to every task kind
    assert model_options(me5, ner, {"eval_precision": "amp-bf16", "dev_rows": "50"}) == {
        "eval_precision": "amp-bf16",
        "dev_rows": 50,
    }
    with pytest.raises(BenchError, match="expected one of fp32, amp-bf16"):
        model_options(me5, ner, {"eval_precision": "bf16"})
    with pytest.raises(BenchError, match="expected a positive number"):
        model_options(me5, ner, {"dev_rows": "0"})


def test_dev_sample_is_fixed_and_keeps_both_directions_of_a_pair(tiny_bert, data_root):
    """``dev_rows = N``: the same N dataset rows for every run; a translation pair's two
    encoded directions stay together; unset (or larger than the split): the whole split."""
    from bench.train.kinds.common import dev_sample

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    flores, kind = get_task("flores"), KINDS["translation"]
    kind.add_tags(tokenizer, ["eng", "hau"])
    rows = _slice(flores, "ha", "in-language", "validation", data_root, 40)
    encoded = kind.encode(rows, tokenizer, 24, ("eng", "hau"))
    assert len(encoded) == 80
    enc, data = dev_sample(encoded, rows, 10)
    again, _ = dev_sample(encoded, rows, 10)
    assert len(data) == 10 and len(enc) == 20 and enc["input_ids"] == again["input_ids"]
    assert {r["src"] for r in data} == {rows[i]["src"] for i in set(enc["index"])}
    assert dev_sample(encoded, rows, None) == (encoded, rows)
    assert dev_sample(encoded, rows, 40) == (encoded, rows)
    xnli = get_task("xnli")
    cls = KINDS[xnli.kind]
    pairs = _slice(xnli, "en", "zero-shot", "validation", data_root, 30)
    labels = xnli.labels(xnli.setting("zero-shot"))
    enc, data = dev_sample(cls.encode(pairs, tokenizer, 48, labels), pairs, 7)
    assert [labels.index(x) for x in data["label"]] == enc["labels"]
    assert len(enc) == 7


@pytest.mark.parametrize(
    ("precision", "dtype"), [("fp32", torch.float32), ("amp-bf16", torch.bfloat16)]
)
def test_eval_precision_sets_the_autocast_of_predictions(precision, dtype):
    from bench.train.kinds.common import eval_precision

    layer = torch.nn.Linear(4, 2)
    with torch.no_grad(), eval_precision(layer, precision):
        assert layer(torch.ones(1, 4)).dtype == dtype
    assert layer.weight.dtype == torch.float32


def test_greedy_translation_is_the_argmax_path(tiny_bert, data_root):
    """``beams = 1``: each test translation is the argmax token at every step, up to the
    end-of-sentence token or the length cap (checked against a plain decoding loop)."""
    task, kind = get_task("flores"), KINDS["translation"]
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    kind.add_tags(tokenizer, ["eng", "hau"])
    rows = _slice(task, "ha", "in-language", "test", data_root, 2)
    encoded = kind.encode(rows, tokenizer, 24, ("eng", "hau"))
    torch.manual_seed(0)
    module = kind.build(tiny_bert, None, tokenizer, beams=1).eval()
    preds = kind.predict(module, encoded, rows, tokenizer, ("eng", "hau"), batch_size=1)
    model, limit = module.model, module.model.decoder.config.max_position_embeddings - 4
    for example in encoded:
        src = torch.tensor([example["input_ids"]])
        out = [model.generation_config.decoder_start_token_id]
        with torch.no_grad():
            for _ in range(min(limit, int(src.shape[1] * 1.5) + 8)):
                logits = model(input_ids=src, decoder_input_ids=torch.tensor([out])).logits
                out.append(int(logits[0, -1].argmax()))
                if out[-1] == model.generation_config.eos_token_id:
                    break
        text = tokenizer.decode(out, skip_special_tokens=True).strip()
        assert preds[example["direction"]][example["index"]] == text
    beam = kind.build(tiny_bert, None, tokenizer).eval()
    beam.load_state_dict(module.state_dict())
    assert kind.predict(beam, encoded, rows, tokenizer, ("eng", "hau"), batch_size=1) != preds
