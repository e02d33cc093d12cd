"""Dataset sources: where one upstream dataset lives, locally and on the hub, and how to read it.

A `Source` (MasakhaNER 2.0, FLORES-200, MAFAND, ...) is read through one of two real paths:

* **local**: upstream files under a data root (``--data-root`` / ``BENCH_DATA_ROOT``, e.g.
  ``../shared/data``), parsed by `bench.core.formats`; every file's SHA-256 is recorded.
* **hub**: ``datasets.load_dataset(repo, config, revision=...)``, never ``trust_remote_code``;
  the revision (resolved to a commit when the hub answers) is recorded.

Both produce the same columns for a source kind (``ner``: tokens/tags, ``nli``:
premise/hypothesis/label, ``translation``: one column per ISO 639-3 code, ``text``: text) and a
provenance dict with a content checksum. Exercise: ``bench data flores --langs ha``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core import hub
from bench.core.errors import BenchError
from bench.core.registry import Registry

Columns = dict[str, list[Any]]
SPLITS = ("train", "validation", "test")
KINDS = ("ner", "nli", "translation", "text")


@dataclass(frozen=True)
class Source:
    """One upstream dataset.

    Attributes:
        name: Registry name; also the key language files use (``masakhaner2 = "swa"``).
        title: Human name with version, e.g. "MasakhaNER 2.0".
        version: Dataset version.
        kind: Column schema, one of `KINDS`.
        license: SPDX-like licence string.
        url: Where the upstream release lives.
        splits: Canonical split -> upstream split name in file names (``validation`` -> ``dev``).
        files: (codes, upstream split) -> file paths relative to the data root; None if hub only.
        parse: (paths, codes) -> columns, for the local files.
        hub_repo / hub_revision: The hub dataset and its pinned revision; None if local only.
        read_hub: (repo, revision, codes, canonical split) -> columns.
        pair: True if it needs two codes (source language, target language).
        machine_translated: True if the text was machine translated (flagged in every record).
    """

    name: str
    title: str
    version: str
    kind: str
    license: str
    url: str
    splits: Mapping[str, str]
    files: Callable[[tuple[str, ...], str], list[str]] | None = None
    parse: Callable[[list[Path], tuple[str, ...]], Columns] | None = None
    hub_repo: str | None = None
    hub_revision: str | None = None
    read_hub: Callable[[str, str, tuple[str, ...], str], Columns] | None = None
    pair: bool = False
    machine_translated: bool = False
    notes: str = ""

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind
        assert set(self.splits) <= set(SPLITS), self.splits
        assert (self.files is None) == (self.parse is None), self.name
        assert (self.hub_repo is None) == (self.read_hub is None), self.name

    def where(self) -> str:
        """Short description of the available paths, e.g. ``local+hub``."""
        return "+".join(p for p, ok in (("local", self.files), ("hub", self.hub_repo)) if ok)


@dataclass(frozen=True)
class LoadedSplit:
    """A loaded split: the rows as a `datasets.Dataset` plus provenance for the run record."""

    dataset: Any  # datasets.Dataset (imported lazily: `datasets` is slow to import)
    provenance: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.dataset)


def data_root(explicit: str | Path | None = None) -> Path | None:
    """The local data root: `explicit`, else ``BENCH_DATA_ROOT``, else None (use the hub)."""
    value = explicit if explicit is not None else os.environ.get("BENCH_DATA_ROOT")
    if not value:
        return None
    root = Path(value).expanduser().resolve()
    if not root.is_dir():
        raise BenchError(
            f"data root {root} does not exist",
            hint="pass --data-root DIR (or set BENCH_DATA_ROOT) to a mirror of the datasets",
        )
    return root


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_sha256(columns: Columns) -> str:
    """Checksum of the parsed rows, comparable across the local and hub paths."""
    blob = json.dumps(columns, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def load(source: Source, codes: tuple[str, ...], split: str, root: Path | None) -> LoadedSplit:
    """Load one split of `source` for the language `codes` from `root`, or the hub if None."""
    if split not in source.splits:
        raise BenchError(
            f"{source.title} has no '{split}' split",
            hint=f"it has: {', '.join(source.splits)}",
        )
    if root is not None:
        if source.files is None or source.parse is None:
            raise BenchError(
                f"{source.title} is only available from the hub ({source.hub_repo})",
                hint="unset --data-root / BENCH_DATA_ROOT to load it online",
            )
        rel = source.files(codes, source.splits[split])
        paths = [root / p for p in rel]
        columns = source.parse(paths, codes)
        origin: dict[str, Any] = {
            "origin": "local",
            "data_root": str(root),
            "files": {p: sha256_file(root / p) for p in rel},
        }
    else:
        if source.read_hub is None or source.hub_repo is None or source.hub_revision is None:
            raise BenchError(
                f"{source.title} has no hub copy; it is read from a local data root",
                hint="pass --data-root DIR (or set BENCH_DATA_ROOT)",
            )
        columns = _read_hub(source, codes, split)
        origin = {
            "origin": "hub",
            "repo": source.hub_repo,
            "revision": source.hub_revision,
            "commit": _hub_commit(source.hub_repo, source.hub_revision),
        }
    return _finish(source, codes, split, columns, origin)


def _finish(
    source: Source, codes: tuple[str, ...], split: str, columns: Columns, origin: dict
) -> LoadedSplit:
    from datasets import Dataset

    rows = len(next(iter(columns.values()))) if columns else 0
    if rows == 0:
        raise BenchError(f"{source.title} {split} for {'/'.join(codes)} is empty")
    provenance = {
        "source": source.name,
        "title": source.title,
        "version": source.version,
        "codes": list(codes),
        "split": split,
        "rows": rows,
        "sha256": content_sha256(columns),
        "machine_translated": source.machine_translated,
        **origin,
    }
    return LoadedSplit(Dataset.from_dict(columns), provenance)


def _read_hub(source: Source, codes: tuple[str, ...], split: str) -> Columns:
    assert source.read_hub and source.hub_repo and source.hub_revision
    hub.require(f"{source.hub_repo} ({'/'.join(codes)}, {split})")
    try:
        return source.read_hub(source.hub_repo, source.hub_revision, codes, split)
    except BenchError:
        raise
    except Exception as err:  # network, auth (gated repos), missing config: all user-fixable
        raise BenchError(
            f"could not load {source.hub_repo} ({'/'.join(codes)}, {split}) from the hub: "
            f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
            hint="offline? pass --data-root DIR (or set BENCH_DATA_ROOT) to a local mirror; "
            "gated dataset? run `huggingface-cli login`",
        ) from None


def _hub_commit(repo: str, revision: str) -> str | None:
    """Resolve a hub revision to its commit for the record (None if the hub does not say)."""
    if not hub.reachable():
        return None
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(repo, revision=revision).sha
    except Exception:
        return None


def load_hub_split(repo: str, config: str | None, split: str, revision: str) -> Any:
    """`datasets.load_dataset` with a pinned revision and no remote code (shared by readers)."""
    from datasets import load_dataset

    return load_dataset(repo, config, split=split, revision=revision)


# Filled by the modules of bench/data/sources/, imported on first use.
SOURCES: Registry[Source] = Registry("dataset", discover="bench.data.sources")
