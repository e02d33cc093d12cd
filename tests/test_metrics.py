"""sacreBLEU scores with signatures, and COMET through unbabel-comet with a tiny checkpoint
built here (the real ones live on the hub): a number when a checkpoint loads, a stated
"unavailable" otherwise, never a made-up score."""

from __future__ import annotations

import math

import pytest
import torch
import yaml

from bench.train.metrics import comet_score, translation_scores
from tests.conftest import make_tiny_backbone


def test_translation_scores():
    refs = ["Ruwan sama ya sauka a Kano jiya.", "Shugaban kasa ya yi jawabi."]
    perfect = translation_scores(refs, refs)
    assert perfect["bleu"] == pytest.approx(100.0) and perfect["chrf++"] == pytest.approx(100.0)
    assert "nw:2" in perfect["chrf++_signature"]  # chrF++ = chrF with word bigrams
    worse = translation_scores(["Ruwan sama ya sauka.", "Shugaba ya yi magana."], refs)
    assert 0 < worse["bleu"] < 100 and 0 < worse["chrf++"] < 100
    # spBLEU needs sacreBLEU's FLORES-200 SentencePiece model (a download): a score or a reason.
    assert (
        worse["spbleu"] is not None and worse["spbleu_signature"].find("tok:flores200") >= 0
    ) or worse["spbleu_unavailable"]


@pytest.fixture(scope="module")
def tiny_comet(tmp_path_factory):
    import pytorch_lightning as pl
    from comet.models import RegressionMetric

    root = tmp_path_factory.mktemp("comet")
    encoder = make_tiny_backbone(root / "encoder")
    model = RegressionMetric(
        pretrained_model=str(encoder),
        hidden_sizes=[16],
        layer="mix",
        layer_transformation="softmax",
    )
    (root / "ckpt" / "checkpoints").mkdir(parents=True)
    hparams = {**dict(model.hparams), "class_identifier": "regression_metric"}
    (root / "ckpt" / "hparams.yaml").write_text(yaml.dump(hparams))
    path = root / "ckpt" / "checkpoints" / "model.ckpt"
    torch.save(
        {
            "state_dict": model.state_dict(),
            "hyper_parameters": dict(model.hparams),
            "pytorch-lightning_version": pl.__version__,
        },
        path,
    )
    return path


def test_comet_with_a_local_checkpoint(tiny_comet):
    out = comet_score(
        str(tiny_comet),
        ["Rain fell in Kano.", "The president spoke."],
        ["Ruwan sama ya sauka.", "Shugaba ya yi magana."],
        ["Ruwan sama ya sauka a Kano.", "Shugaban kasa ya yi jawabi."],
    )
    assert out["comet_model"] == str(tiny_comet)
    assert isinstance(out["comet"], float) and math.isfinite(out["comet"])


def test_comet_offline_is_reported_unavailable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = comet_score("wmt22", ["a"], ["b"], ["c"])
    assert out["comet"] is None and out["comet_model"] == "Unbabel/wmt22-comet-da"
    assert out["comet_unavailable"]
