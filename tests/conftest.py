"""Shared fixtures: the real data mirror (../shared/data) and isolated language folders."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from bench.data.language import _load

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("BENCH_DATA_ROOT", REPO.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def data_root() -> Path:
    assert (DATA_ROOT / "SHA256SUMS").is_file(), (
        f"the data mirror is missing at {DATA_ROOT}: set BENCH_DATA_ROOT to ../shared/data"
    )
    return DATA_ROOT


@pytest.fixture
def extra_languages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write language files into a temporary BENCH_LANGUAGES_PATH folder."""
    folder = tmp_path / "langs"
    folder.mkdir()
    monkeypatch.setenv("BENCH_LANGUAGES_PATH", str(folder))
    _load.cache_clear()

    def write(code: str, text: str) -> Path:
        path = folder / f"{code}.toml"
        path.write_text(text, encoding="utf-8")
        _load.cache_clear()
        return path

    yield write
    _load.cache_clear()


KINYARWANDA = """
code = "kin"
iso639_1 = "rw"
name = "Kinyarwanda"
script = "Latn"
family = "Niger-Congo > Atlantic-Congo > Bantu"

[datasets]
masakhaner2 = "kin"
masakhaner2_transfer = "kin"
"""


def make_tiny_backbone(
    folder: Path, architecture: str = "xlm-roberta", dropout: float = 0.1
) -> Path:
    """A 2-layer, hidden-32 encoder with a tokenizer trained on real FLORES lines (~1 s)."""
    from bench.core.formats import read_lines
    from bench.train.pretrain import new_model, train_tokenizer

    lines = []
    for name in ("eng_Latn", "swh_Latn", "hau_Latn", "yor_Latn"):
        lines += read_lines(DATA_ROOT / "flores200" / "devtest" / f"{name}.devtest")[:200]
    kind = "unigram" if architecture == "xlm-roberta" else "wordpiece"
    tokenizer = train_tokenizer(kind, lines, 500, architecture)
    shape = dict(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_length=64)
    import torch

    torch.manual_seed(0)  # the same random weights every session
    model = new_model(architecture, shape, tokenizer)
    model.config.hidden_dropout_prob = model.config.attention_probs_dropout_prob = dropout
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_backbone(tmp_path_factory.mktemp("tiny_xlmr"))


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_backbone(tmp_path_factory.mktemp("tiny_bert"), "bert")


@pytest.fixture(scope="session", autouse=True)
def _comparison_store(tmp_path_factory: pytest.TempPathFactory):
    """Stored significance comparisons (bench/report/leaderboard/compare.py) go to a folder of
    this test session, not the user's cache: every session computes them afresh once."""
    compare = importlib.import_module("bench.report.leaderboard.compare")

    folder = tmp_path_factory.mktemp("comparisons")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compare, "_store_dir", lambda: folder)
        yield folder


@pytest.fixture
def isolated_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run records and caches go to a temporary folder, never the repository's results/."""
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Integration and slow tests train for real: their hang guard is an hour, not 900 s."""
    for item in items:
        if item.get_closest_marker("integration") or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.timeout(3600), append=False)
