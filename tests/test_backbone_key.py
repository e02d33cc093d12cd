"""An offline backbone is fixed by its spec and its committed build, not by the data root.

A backbone's key is part of every run id. It was derived from the pre-training corpus as
read from whatever data root a run was given, so a root without one evaluation file (the
decontamination then keeps other lines) silently started a new 25-minute pre-training under
the same name, and the new records were on other weights than every committed one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.core.errors import BenchError
from bench.train.backbone import backbones
from bench.train.build import backbone_id, materialize
from bench.train.pretrain import build, build_key
from tests.conftest import KINYARWANDA

REPO = Path(__file__).resolve().parents[1]
OFFLINE = [b.name for b in backbones() if b.build]  # pre-trained by the suite


def committed_key(name: str) -> str:
    """The key of the build of `name` committed in results/backbones/ (a weights folder
    NAME-KEY/ or a build record NAME-KEY.json)."""
    paths = (REPO / "results" / "backbones").glob(f"{name}-*")
    # one key: a build record alone, or beside the weights a build here publishes next to it
    (key,) = {path.name.removesuffix(".json").rsplit("-", 1)[1] for path in paths}
    return key


KINYARWANDA_TEXT = KINYARWANDA + '\n[monolingual]\nlacuna = "kin"\n'


@pytest.fixture
def other_root(tmp_path, data_root, extra_languages, monkeypatch) -> Path:
    """The mirror (symbolic links) plus one more language's LACUNA text and language file,
    less the Hausa FLORES dev set (most languages have none): the corpus it gives differs."""
    root = tmp_path / "data"
    shutil.copytree(
        data_root, root, symlinks=True, copy_function=lambda s, d: Path(d).symlink_to(s)
    )
    (root / "flores200" / "dev" / "hau_Latn.dev").unlink()
    lines = (data_root / "monolingual" / "lacuna" / "ibo.txt").read_text().splitlines()[:500]
    (root / "monolingual" / "lacuna" / "kin.txt").write_text("\n".join(reversed(lines)) + "\n")
    extra_languages("kin", KINYARWANDA_TEXT)
    results = tmp_path / "results" / "backbones"  # the committed builds, linked: a regression
    results.mkdir(parents=True)  # that publishes other weights must not write into the repo
    for folder in (REPO / "results" / "backbones").iterdir():
        (results / folder.name).symlink_to(folder)
    monkeypatch.setenv("BENCH_RESULTS", str(results.parent))
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    return root


@pytest.mark.parametrize("name", OFFLINE)
def test_no_data_root_changes_a_committed_backbone_key(other_root, data_root, name):
    spec = backbones().get(name)
    key = committed_key(name)
    assert backbone_id(spec, other_root) == backbone_id(spec, data_root) == f"{name}-{key}"


def test_the_committed_weights_are_used_whatever_the_root(other_root, tmp_path):
    spec = backbones().get("tiny_xlmr")
    folder, provenance = materialize(spec, other_root, tmp_path / "cache")
    assert folder.name == f"tiny_xlmr-{committed_key('tiny_xlmr')}"
    assert folder.resolve() == REPO / "results" / "backbones" / folder.name
    assert len(provenance["weights_sha256"]) == 64
    assert not (tmp_path / "cache" / "backbones").exists()  # nothing built, nothing read


def test_a_build_record_whose_corpus_is_not_on_the_root_stops(other_root, tmp_path):
    """tiny_bert's committed record names a corpus this root does not give: one clear error,
    no other weights built under its name."""
    spec = backbones().get("tiny_bert")
    record = REPO / "results" / "backbones" / f"tiny_bert-{committed_key('tiny_bert')}.json"
    assert record.is_file() and not record.with_suffix("").exists()  # a record, no weights
    with pytest.raises(BenchError, match="not building other weights under this name"):
        build(spec, other_root, tmp_path / "cache")
    assert not (tmp_path / "cache" / "backbones").exists()


@pytest.mark.integration  # reads and decontaminates each corpus (~15 s a backbone)
@pytest.mark.parametrize("name", OFFLINE)
def test_the_mirror_gives_the_committed_corpus(data_root, name, tmp_path, monkeypatch):
    """The data mirror reproduces the corpus checksum every committed build record names."""
    monkeypatch.setenv("BENCH_RESULTS", str(REPO / "results"))
    spec = backbones().get(name)
    assert build_key(spec, data_root)[0] == committed_key(name)
