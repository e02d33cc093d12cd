"""The GPU path: DeepSpeed bf16 and ZeRO on CUDA, evaluation on the device (`pytest -m gpu`).

Skipped where no CUDA device is visible (this project's CI); run on a lent GPU machine.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from bench.cli import main

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def run(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code or 0, out, err


def train(capsys, outputs, backbone, root, task: str, lang: str, *extra: str, **recipe) -> dict:
    """One `bench run` of TASK on LANG, seed 1, with recipe overrides; returns its record."""
    sets = [item for key, value in recipe.items() for item in ("--set", f"{key}={value}")]
    args = ["--backbone", str(backbone), "--tasks", task, "--langs", lang, "--seeds", "1"]
    code, out, err = run(capsys, "run", *args, *extra, *sets, "--data-root", str(root))
    assert code == 0, out + err
    records = sorted((outputs / "results").rglob("*-seed1-*.json"))
    assert len(records) == 1, records
    return json.loads(records[0].read_text())


@pytest.mark.parametrize(
    ("precision", "zero"), [("fp32", 0), ("bf16", 2), ("amp-bf16", 0), ("bf16", 3)]
)
def test_tagging_run_on_gpu(capsys, tiny_backbone, data_root, isolated_outputs, precision, zero):
    """A whole record through DeepSpeed on CUDA: training learns, evaluation runs on the GPU."""
    rec = train(
        capsys,
        isolated_outputs,
        tiny_backbone,
        data_root,
        "masakhaner",
        "sw",
        "--settings",
        "in-language",
        max_steps=150,
        evals=1,
        lr=1e-3,
        precision=precision,
        zero_stage=zero,
    )
    assert rec["environment"]["hardware"]["gpu"]
    assert rec["config"]["train"]["precision"] == precision
    assert rec["config"]["train"]["zero_stage"] == zero
    curve = [p["loss"] for p in rec["training"]["curve"] if "loss" in p]
    assert curve[-1] < 0.7 * curve[0], curve  # it learned
    assert rec["metrics"]["f1"] > 0.05, rec["metrics"]


def test_translation_run_on_gpu(capsys, tiny_backbone, data_root, isolated_outputs):
    """Encoder-decoder training in bf16 with ZeRO-2, and beam search on the GPU."""
    rec = train(
        capsys,
        isolated_outputs,
        tiny_backbone,
        data_root,
        "flores",
        "yo",
        max_steps=40,
        evals=1,
        precision="bf16",
        zero_stage=2,
    )
    assert rec["environment"]["hardware"]["gpu"]
    assert rec["metrics"]["eng-yor"]["chrf++"] > 0


def test_full_method_on_gpu(capsys, tiny_backbone, data_root, isolated_outputs):
    """`--method full` on CUDA: the MLM and alignment stages under bf16 autocast, the
    back-translation translator and its decoding, then the task training in bf16 with ZeRO-2
    beside the language discriminator, evaluated under amp-bf16 (the ablation profile's path)."""
    rec = train(
        capsys,
        isolated_outputs,
        tiny_backbone,
        data_root,
        "xnli",
        "sw",
        "--method",
        "full",
        max_steps=30,
        evals=1,
        precision="bf16",
        zero_stage=2,
        eval_precision="amp-bf16",
        **{
            "mlm.steps": 20,
            "mlm.heldout": 64,
            "mlm.precision": "amp-bf16",
            "alignment.steps": 20,
            "alignment.precision": "amp-bf16",
            "backtranslation.sentences": 32,
            "backtranslation.translator_steps": 20,
            "adversarial.max_lines": 256,
        },
    )
    assert rec["environment"]["hardware"]["gpu"]
    assert rec["config"]["method"] == "full"
    assert rec["config"]["methods"]["mlm"]["precision"] == "amp-bf16"
    reports = rec["method_reports"]
    ppl = reports["mlm"]["heldout_perplexity"]
    assert all(math.isfinite(ppl[when]["swa"]) for when in ("before", "after")), ppl
    retrieval = reports["alignment"]["retrieval"]
    assert set(retrieval) == {"before", "after", "test_set"}
    assert reports["backtranslation"]["languages"]["swa"]["translator"]
    disc = [p["disc_accuracy"] for p in rec["training"]["curve"] if "disc_accuracy" in p]
    assert disc and all(0.0 <= a <= 1.0 for a in disc), disc
    assert 0.0 <= rec["metrics"]["accuracy"] <= 1.0


@pytest.mark.parametrize("zero", [0, 2])
def test_amp_bf16_autocasts_inside_the_engine_on_gpu(tiny_backbone, tmp_path, zero):
    """DeepSpeed's engine switches off a CUDA autocast opened around its forward: `amp-bf16`
    goes through its `torch_autocast` section on a GPU, so the forward does run in bf16."""
    from tests.test_trainer import autocast_seen

    seen = autocast_seen(tiny_backbone, tmp_path, zero_stage=zero)
    assert len(seen) == 2 and all(seen), seen
