"""Method plug-ins: each test proves a mechanism (not just that the code runs), on real data
slices and the tiny test backbone."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest
import torch

from bench.core.errors import BenchError
from bench.data.contamination import normalise
from bench.data.language import get_language
from bench.data.task import get_task
from bench.train.backbone import Backbone
from bench.train.method import Context, parse_method, registry
from bench.train.stages import monolingual_text, temperature_probs, temperature_sample
from methods.adversarial import grad_reverse, grl_lambda
from methods.backtranslation import entity_spans, mark, project


def _ctx(tmp_path, data_root, folder, task="xnli", langs=("swa",), **recipes) -> Context:
    spec = Backbone(
        "tiny_test",
        "tiny test",
        "xlm-roberta",
        recipes={"flores": {"lr": 1e-3, "batch_size": 16, "max_length": 48, "epochs": 1}},
        path=folder,
    )
    targets = [get_language(c) for c in langs]
    return Context(
        task=get_task(task),
        setting="zero-shot" if task != "flores" else "in-language",
        seed=1,
        train_lang=get_language("eng") if task != "flores" else targets[0],
        targets=targets,
        backbone=spec,
        root=data_root,
        cache=tmp_path / "cache",
        backbone_key="tiny-test",
        input_key="tiny-test",
        max_length=48,
    )


# --- registry and composition ---------------------------------------------------------------


def test_plugins_come_from_the_entry_point_group_and_compose():
    assert set(registry()) == {"mlm", "alignment", "backtranslation", "adversarial"}
    assert parse_method("baseline").name == "baseline" and not parse_method("baseline").methods
    assert parse_method("adversarial+mlm").names == ("mlm", "adversarial")
    assert parse_method("adversarial+mlm").name == "mlm+adversarial"
    full = parse_method("full")
    assert full.names == ("mlm", "alignment", "backtranslation", "adversarial")
    assert parse_method("mlm+alignment+backtranslation+adversarial").name == "full"
    assert parse_method("full-no-mlm").names == ("alignment", "backtranslation", "adversarial")
    assert parse_method("alignment+backtranslation+adversarial").name == "full-no-mlm"


def test_method_settings_layer_backbone_defaults_under_command_line():
    chosen = parse_method("mlm", {"mlm.lr": "1e-3"}, {"mlm": {"steps": 7, "lr": 5.0}})
    assert chosen.methods[0].config.steps == 7 and chosen.methods[0].config.lr == 1e-3
    assert (
        parse_method("adversarial", {"adversarial.token_level": "false"})
        .methods[0]
        .config.token_level
        is False
    )
    assert parse_method("alignment", None, {"mlm": {"steps": 7}}).names == ("alignment",)


def test_settings_added_later_enter_the_config_only_when_set():
    """A stage's ``precision`` came after committed records: left at fp32 it is not in the run's
    config (their run ids stay), set to amp-bf16 it is (another run id, another stage key)."""
    plain = parse_method("mlm+alignment")
    assert (
        "precision" not in plain.config()["mlm"] and "precision" not in plain.config()["alignment"]
    )
    assert plain.config()["mlm"]["steps"] == 2000  # the other settings, defaults included
    bf16 = parse_method("mlm", {"mlm.precision": "amp-bf16"})
    assert bf16.config()["mlm"]["precision"] == "amp-bf16"


@pytest.mark.parametrize(
    ("text", "overrides", "message"),
    [
        ("mlm+nope", {}, "unknown method 'nope'"),
        ("full-no-nope", {}, "unknown method 'nope'"),
        ("mlm+mlm", {}, "names a plug-in twice"),
        ("mlm", {"adversarial.weight": "2"}, "not part of 'mlm'"),
        ("mlm", {"mlm.stepz": "2"}, "unknown setting --set mlm.stepz"),
        ("mlm", {"mlm.steps": "many"}, "mlm.steps=many: expected an integer"),
        ("mlm", {"mlm.lr": "fast"}, "mlm.lr=fast: expected a number"),
        ("mlm", {"mlm.english": "ture"}, "mlm.english=ture: expected true or false"),
        ("mlm", {"mlm.precision": "bf61"}, "precision=bf61: not one of fp32, bf16, amp-bf16"),
        ("alignment", {"alignment.precision": "fp16"}, "not one of fp32, bf16, amp-bf16"),
    ],
)
def test_bad_method_names_and_settings_are_clear_errors(text, overrides, message):
    with pytest.raises(BenchError, match=message):
        parse_method(text, overrides)


# --- shared machinery ------------------------------------------------------------------------


def test_temperature_sampling_yields_the_expected_language_proportions():
    sizes = {"eng": 100_000, "swa": 10_000, "yor": 1_000}
    probs = temperature_probs(sizes, 0.3)
    raw = {k: v**0.3 for k, v in sizes.items()}
    assert probs == pytest.approx({k: v / sum(raw.values()) for k, v in raw.items()})
    assert temperature_probs(sizes, 1.0)["yor"] == pytest.approx(1_000 / 111_000)
    corpora = {k: [f"{k} {i}" for i in range(n // 100)] for k, n in sizes.items()}
    drawn = Counter(lang for lang, _ in temperature_sample(corpora, 0.3, 30_000, seed=1))
    small = temperature_probs({k: len(v) for k, v in corpora.items()}, 0.3)
    for lang, p in small.items():
        assert drawn[lang] / 30_000 == pytest.approx(p, abs=0.01)
    assert small["yor"] > 3 * (10 / 1110)  # the low-resource language is up-sampled


def test_decontamination_removes_the_test_sentences_from_monolingual_text(data_root):
    lines, report = monolingual_text(get_language("swa"), data_root)
    assert report["sources"]["lacuna"]["removed"] > 1000  # LACUNA holds the test set verbatim
    test = get_task("masakhaner").load("sw", "test", "in-language", data_root).dataset
    keys = [normalise(" ".join(t)) for t in test["tokens"]]
    long_keys = [k for k in keys if len(k) >= 30]
    text = {normalise(line) for line in lines}
    assert not any(k in text for k in keys)
    sample = [normalise(line) for line in lines[:3000]]
    assert not any(k in line for k in long_keys[:300] for line in sample)
    assert (
        report["lines"] == len(lines)
        and report["removed"] >= report["sources"]["lacuna"]["removed"]
    )


# --- adversarial -------------------------------------------------------------------------------


def test_gradient_reversal_flips_the_sign_and_scales_by_lambda():
    x = torch.randn(4, 3, requires_grad=True)
    weights = torch.randn(4, 3)
    (grad_reverse(x, 0.37) * weights).sum().backward()
    assert torch.allclose(x.grad, -0.37 * weights)
    y = torch.randn(2, requires_grad=True)
    out = grad_reverse(y, 0.5)
    assert torch.equal(out, y)  # identity forward
    assert grl_lambda(0.0) == 0.0 and grl_lambda(1.0) == pytest.approx(1.0, abs=1e-4)
    assert grl_lambda(0.1) == pytest.approx(2 / (1 + math.exp(-1)) - 1)


def test_adversarial_discriminator_trains_and_the_encoder_gets_the_reversed_gradient(
    tiny_backbone, data_root, tmp_path
):
    from transformers import AutoTokenizer

    from bench.train.kinds import KINDS
    from bench.train.trainer import TrainConfig, train
    from methods.adversarial import Adversarial, AdversarialMethod, encoder_of

    ctx = _ctx(tmp_path, data_root, tiny_backbone, "xnli", ("swa", "hau"))
    kind = KINDS["sequence-pair-classification"]
    labels = ctx.task.labels(ctx.task.setting("zero-shot"))
    ctx.tokenizer = AutoTokenizer.from_pretrained(tiny_backbone)
    plugin = parse_method("adversarial", {"adversarial.max_lines": "200"}).methods[0]
    assert isinstance(plugin, AdversarialMethod)
    module = plugin.wrap(kind.build(tiny_backbone, labels, ctx.tokenizer), ctx)
    assert isinstance(module, Adversarial) and module.langs == ["eng", "hau", "swa"]
    assert ctx.reports["adversarial"]["unlabelled"]["swa"]["used"] == 200

    # The encoder's gradient from the discriminator loss is exactly -λ x the gradient the
    # same loss gives without reversal.
    rows = ctx.task.load("en", "train", "zero-shot", data_root).dataset.select(range(8))
    batch = kind.collate(ctx.tokenizer)(kind.encode(rows, ctx.tokenizer, 48, labels).to_list())
    module.train()
    module.begin(10)
    module._step = 5  # λ(0.5)
    lam = grl_lambda(0.5)
    encoder = encoder_of(module.task.model)
    h = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
    mask = batch["attention_mask"]
    probe = next(p for n, p in encoder.named_parameters() if "layer.0" in n and p.ndim == 2)

    def grad_of(scale):
        module.zero_grad()
        loss = module._discriminate([h], [mask], [0], scale)
        (g,) = torch.autograd.grad(loss, probe, retain_graph=True)
        return g

    assert torch.allclose(grad_of(lam), -lam * grad_of(-1.0), atol=1e-6)

    # Through the trainer: the discriminator's accuracy and λ are logged, λ rises.
    encoded = kind.encode(rows.select(range(8)), ctx.tokenizer, 48, labels)
    cfg = TrainConfig(lr=1e-3, batch_size=4, epochs=3, seed=1, evals=0, log_every=2)
    result = train(module, encoded, kind.collate(ctx.tokenizer), cfg, tmp_path / "run")
    logged = [p for p in result.curve if "disc_accuracy" in p]
    assert logged and all(0 <= p["disc_accuracy"] <= 1 for p in logged)
    assert all(1 / len(module.langs) <= p["disc_majority"] <= 1 for p in logged)
    assert logged[0]["grl_lambda"] < logged[-1]["grl_lambda"]
    assert int(module.step) == result.steps  # saved with the weights: resumes draw the same text

    # disc_lr_scale: the discriminators get a group of their own at lr x scale; unset, the
    # optimizer keeps its two groups (the layout of runs recorded before the setting existed).
    from bench.train.method import recorded
    from bench.train.trainer import param_groups

    assert len(param_groups(module, cfg)) == 2
    assert "disc_lr_scale" not in recorded(plugin.config)
    scaled = parse_method(
        "adversarial", {"adversarial.max_lines": "200", "adversarial.disc_lr_scale": "10"}
    ).methods[0]
    assert recorded(scaled.config)["disc_lr_scale"] == 10.0
    module = scaled.wrap(kind.build(tiny_backbone, labels, ctx.tokenizer), ctx)
    groups = param_groups(module, cfg)
    fast = [g for g in groups if g.get("lr") == pytest.approx(10 * cfg.lr)]
    disc = {id(p) for m in (module.sentence, module.token) for p in m.parameters()}
    assert {id(p) for g in fast for p in g["params"]} == disc
    assert sum(len(g["params"]) for g in groups) == len(list(module.parameters()))

    # english = "text": zero-shot, unlabelled English lines stand for English, drawn every
    # step beside one target language; the task batches are not discriminated.
    plugin = parse_method(
        "adversarial", {"adversarial.max_lines": "200", "adversarial.english": "text"}
    ).methods[0]
    module = plugin.wrap(kind.build(tiny_backbone, labels, ctx.tokenizer), ctx)
    assert module.langs == ["eng", "hau", "swa"] and module.task_language is None
    assert ctx.reports["adversarial"]["english"] == "unlabelled text"
    assert ctx.reports["adversarial"]["unlabelled"]["eng"]["used"] == 200
    seen = []
    module._unlabelled = lambda lang, device, real=module._unlabelled: (
        seen.append(lang) or real(lang, device)
    )
    module.train()
    module.begin(4)
    for _ in range(4):
        loss, _n = module(batch)
        loss.backward()
    assert seen[::2] == ["eng"] * 4 and set(seen[1::2]) <= {"hau", "swa"}
    assert module.log_metrics()["disc_majority"] == 0.5  # 16 English, 16 target lines a step
    with pytest.raises(BenchError, match="english=news: not one of task, text"):
        parse_method("adversarial", {"adversarial.english": "news"})


# --- MLM -------------------------------------------------------------------------------------


def test_mlm_stage_lowers_heldout_perplexity_and_is_cached(tiny_backbone, data_root, tmp_path):
    ctx = _ctx(tmp_path, data_root, tiny_backbone, "xnli", ("yor",))
    plugin = parse_method(
        "mlm", {"mlm.steps": "40", "mlm.batch_size": "16", "mlm.lr": "2e-3", "mlm.heldout": "64"}
    ).methods[0]
    folder, report = plugin.adapt(tiny_backbone, ctx)
    ppl = report["heldout_perplexity"]
    for lang in ("eng", "yor"):
        assert ppl["after"][lang] < 0.8 * ppl["before"][lang], ppl
    assert report["decontamination_removed"]["yor"] > 1000
    assert report["sampled_share"]["yor"] > report["lines"]["yor"] / sum(report["lines"].values())
    assert (folder / "config.json").is_file() and (folder / "stage.json").is_file()
    again, report2 = plugin.adapt(tiny_backbone, ctx)  # cached: same folder, no training
    assert again == folder and report2["key"] == report["key"]
    bf16 = parse_method(
        "mlm",
        {"mlm.steps": "40", "mlm.batch_size": "16", "mlm.lr": "2e-3", "mlm.heldout": "64"}
        | {"mlm.precision": "amp-bf16"},
    ).methods[0]
    folder16, report16 = bf16.adapt(tiny_backbone, ctx)  # under bf16 autocast: a stage of its own
    assert folder16 != folder and report16["config"]["precision"] == "amp-bf16"
    assert (
        report16["heldout_perplexity"]["after"]["yor"]
        < report16["heldout_perplexity"]["before"]["yor"]
    )


# --- alignment --------------------------------------------------------------------------------


def test_alignment_stage_raises_heldout_bitext_retrieval(tiny_backbone, data_root, tmp_path):
    from methods.alignment import mutual_argmax

    # mutual argmax keeps only pairs that are each other's best match
    src = torch.tensor([[[1.0, 0], [0, 1.0], [0.7, 0.7]]])
    tgt = torch.tensor([[[0, 1.0], [1.0, 0]]])
    _, i, j = mutual_argmax(src, tgt, torch.ones(1, 3), torch.ones(1, 2))
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1), (1, 0)]

    ctx = _ctx(tmp_path, data_root, tiny_backbone, "xnli", ("hau",))
    plugin = parse_method("alignment", {"alignment.steps": "150", "alignment.lr": "1e-3"}).methods[
        0
    ]
    _, report = plugin.adapt(tiny_backbone, ctx)
    before, after = report["retrieval"]["before"]["hau"], report["retrieval"]["after"]["hau"]
    # FLORES devtest (1,012 candidates; chance 0.1%): a random-weight 2-layer model after 150
    # steps goes from ~3% to ~4.5%; the point is the direction and a clear margin
    assert after["mean"] > 1.3 * before["mean"], report["retrieval"]


# --- back-translation --------------------------------------------------------------------------


def test_easyproject_markers_and_projection():
    tokens = ["John", "Smith", "visited", "New", "York", "."]
    tags = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]
    assert entity_spans(tags) == [(0, 2, "PER"), (3, 5, "LOC")]
    marked, types = mark(tokens, tags)
    assert marked == "[ John Smith ] visited [ New York ] ." and types == ["PER", "LOC"]
    words, projected = project("[John Smith] alitembelea [ New York ].", types)
    assert words == ["John", "Smith", "alitembelea", "New", "York", "."]
    assert projected == ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]
    assert project("[ John ] alitembelea New York", types) is None  # a span lost
    assert project("[ John [ Smith ] ]", ["PER"]) is None  # nested
    assert project("[ ] John", ["PER"]) is None  # empty span
    assert mark(["Lagos"], ["B-LOC"]) == ("[ Lagos ]", ["LOC"])


@pytest.mark.parametrize("task", ["masakhaner", "flores"])
def test_backtranslation_yields_aligned_synthetic_examples(
    task, tiny_backbone, data_root, tmp_path
):
    from transformers import AutoTokenizer

    ctx = _ctx(tmp_path, data_root, tiny_backbone, task, ("hau",))
    ctx.tokenizer = AutoTokenizer.from_pretrained(tiny_backbone)
    plugin = parse_method(
        "backtranslation",
        {"backtranslation.sentences": "24", "backtranslation.translator_steps": "30"},
    ).methods[0]
    added = plugin.augment(ctx)
    report = added[1] if added else ctx.reports["backtranslation"]
    lang = report["languages"]["hau"]
    assert lang["translator"] and lang["sample"] == lang["sample"][:5]
    dev = lang["translator_dev"]  # the translator's own quality, both directions, on dev
    assert dev["lines"] == 200 and dev["split"] == "flores200 validation"
    assert set(dev) >= {"eng-hau", "hau-eng"} and 0 <= dev["hau-eng"]["chrf++"] <= 100
    if task == "flores":
        split, _ = added
        assert split.provenance["synthetic"] and len(split.dataset) == lang["rows"] > 0
        mono, _ = monolingual_text(get_language("hau"), data_root, [get_language("hau")])
        assert set(split.dataset["tgt"]) <= set(mono[:24])  # real target text, synthetic source
        assert all(split.dataset["synthetic"])
        # synthetic pairs teach one direction only
        from bench.train.kinds import KINDS

        enc = KINDS["translation"].encode(split.dataset, ctx.tokenizer, 48, ("eng", "hau"))
        assert set(enc["direction"]) == {"eng-hau"} and len(enc) == len(split.dataset)
    else:
        kept, dropped = lang["projection"]["kept"], lang["projection"]["dropped_marker_mismatch"]
        assert kept + dropped == 24 and kept == lang["rows"]
        for row in lang["sample"]:  # every kept example: tags consistent with its own spans
            assert len(row["tokens"]) == len(row["tags"])
            assert all(t == "O" or t[:2] in ("B-", "I-") for t in row["tags"])
    stage = json.loads(next((ctx.cache / "stages").glob("bt-*/stage.json")).read_text())
    assert stage["rows"] == lang["rows"]


def test_alignment_as_auxiliary_loss_during_fine_tuning(tiny_backbone, data_root, tmp_path):
    """alignment.auxiliary_weight > 0 adds the sentence objective to every training step; with
    adversarial on top, both objectives' metrics are logged."""
    from transformers import AutoTokenizer

    from bench.train.kinds import KINDS
    from bench.train.trainer import TrainConfig, train

    ctx = _ctx(tmp_path, data_root, tiny_backbone, "xnli", ("hau",))
    ctx.tokenizer = AutoTokenizer.from_pretrained(tiny_backbone)
    kind = KINDS["sequence-pair-classification"]
    labels = ctx.task.labels(ctx.task.setting("zero-shot"))
    chosen = parse_method(
        "alignment+adversarial",
        {"alignment.auxiliary_weight": "0.5", "adversarial.max_lines": "64"},
    )
    module = kind.build(tiny_backbone, labels, ctx.tokenizer)
    for plugin in chosen.methods:
        module = plugin.wrap(module, ctx)
    rows = ctx.task.load("en", "train", "zero-shot", data_root).dataset.select(range(12))
    encoded = kind.encode(rows, ctx.tokenizer, 48, labels)
    cfg = TrainConfig(lr=1e-3, batch_size=4, epochs=2, seed=1, evals=0, log_every=3)
    result = train(module, encoded, kind.collate(ctx.tokenizer), cfg, tmp_path / "run")
    logged = [p for p in result.curve if "align_loss" in p]
    assert logged and all(p["align_loss"] > 0 and "disc_accuracy" in p for p in logged)
    assert int(module.task.step) == int(module.step) == result.steps
    assert parse_method("alignment").methods[0].wrap(module.task.task, ctx) is module.task.task


def test_a_compact_vocabulary_translator_decodes_into_the_tokenizers_ids(
    tiny_backbone, data_root, tmp_path, monkeypatch
):
    """On a ``compact_vocab`` backbone (me5_small) the back-translation model's decoder keeps
    only its training targets' pieces; saved with their ids, it translates like any other."""
    from dataclasses import replace

    from methods import translators

    monkeypatch.setattr(translators, "compact_vocab", lambda backbone: True)
    ctx = _ctx(tmp_path, data_root, tiny_backbone, "flores", ("hau",))
    # the recipe keys of me5_small:ablation's flores recipe that shape decoding and evaluation
    flores = {**ctx.backbone.recipes["flores"], "beams": 1, "eval_precision": "amp-bf16"}
    ctx.backbone = replace(ctx.backbone, recipes={"flores": {**flores, "dev_rows": 50}})
    folder, report = translators.suite_translator(ctx, get_language("hau"), seed=0, max_steps=8)
    kept = report["vocab"]["decoder"]
    assert "encoder" not in report["vocab"] and kept["rows"] < kept["of"]
    ids = json.loads((folder / translators.TARGET_IDS).read_text())
    assert len(ids) == kept["rows"] and ids == sorted(ids)
    translate = translators.SuiteTranslator(folder, report["model"]["eval_precision"])
    assert translate.model.decoder.config.vocab_size == kept["rows"]
    assert translate.target_ids.tolist() == ids  # generated ids go back through them
    autocast = []  # the recipe's eval_precision holds for its decoding too
    generate = translate.model.generate

    def spy(*args, **kwargs):
        autocast.append(torch.is_autocast_enabled("cpu"))
        return generate(*args, **kwargs)

    monkeypatch.setattr(translate.model, "generate", spy)
    out = translate(["Good morning.", "The market opens today."], "eng", "hau", False, 2, 8, 0)
    assert len(out) == 2 and all(isinstance(t, str) for t in out) and autocast == [True]
    assert report["dev"]["eng-hau"]["chrf++"] >= 0
