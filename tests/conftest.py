"""Shared fixtures: the real data mirror (../shared/data) and isolated language folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.language import _load

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


IGBO = """
code = "ibo"
iso639_1 = "ig"
name = "Igbo"
script = "Latn"
family = "Niger-Congo > Atlantic-Congo > Volta-Niger"

[datasets]
masakhaner2 = "ibo"
masakhaner2_transfer = "ibo"
"""
