"""Contamination guard: find (and remove) evaluation sentences inside training or raw text.

Sentences are compared after normalisation (Unicode NFKC, case folding, every character that
is not a letter or digit dropped), so a CoNLL test sentence (``Atlanta .``) matches the raw
news line it was annotated from (``Atlanta.``). A corpus line is contaminated when it equals
an evaluation sentence, or contains one of at least `min_chars` normalised characters (raw
lines may hold two sentences). Exercise: ``bench contamination --langs sw --corpus lacuna``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.errors import BenchError
from bench.data.language import Language
from bench.data.task import Task, parse_tasks

_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
EVAL_SPLITS = ("validation", "test")


def normalise(text: str) -> str:
    """Canonical form for matching: NFKC, casefolded, letters and digits only."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).casefold())


def sentences_of(columns: dict[str, list], kind: str) -> list[str]:
    """The sentences of a loaded split, whatever its kind (tokens are joined by spaces)."""
    if kind == "ner":
        return [" ".join(tokens) for tokens in columns["tokens"]]
    if kind == "nli":
        return [*columns["premise"], *columns["hypothesis"]]
    if kind == "translation":
        return [*columns["src"], *columns["tgt"]]
    return list(columns["text"])


@dataclass
class Report:
    """What the guard found in one corpus."""

    corpus: str
    corpus_size: int
    eval_sets: dict[str, int] = field(default_factory=dict)  # eval split -> sentences
    hits: dict[str, int] = field(
        default_factory=dict
    )  # eval split -> its sentences found in corpus
    contaminated: list[int] = field(default_factory=list)  # corpus line indices
    provenance: dict = field(default_factory=dict)  # of the corpus, when loaded from a source

    @property
    def removed(self) -> int:
        return len(self.contaminated)


class Guard:
    """An index of evaluation sentences, queried with corpora.

    Args:
        eval_sets: name -> sentences, e.g. ``{"masakhaner/swa/test": [...]}``.
        min_chars: Shortest normalised evaluation sentence searched for inside longer lines
            (shorter ones, e.g. headlines like "Habari", only match whole lines).
    """

    MIN_CHARS = 30

    def __init__(self, eval_sets: dict[str, list[str]], min_chars: int = MIN_CHARS) -> None:
        self.eval_sets = eval_sets
        self.min_chars = min_chars
        self._keys = {
            name: [normalise(s) for s in sentences] for name, sentences in eval_sets.items()
        }
        self._owner: set[str] = {key for keys in self._keys.values() for key in keys if key}
        # Long sentences indexed by their first `min_chars` characters: a corpus line is scanned
        # with one dictionary lookup per position instead of one substring test per sentence.
        self._by_prefix: dict[str, list[str]] = {}
        for key in self._owner:
            if len(key) >= min_chars:
                self._by_prefix.setdefault(key[:min_chars], []).append(key)

    def check(self, corpus: str, lines: list[str]) -> Report:
        """Report which `lines` contain an evaluation sentence, and which sentences were seen."""
        report = Report(corpus, len(lines), {n: len(s) for n, s in self.eval_sets.items()})
        seen: set[str] = set()
        for index, line in enumerate(lines):
            found = self._find(normalise(line))
            if found:
                report.contaminated.append(index)
                seen.update(found)
        report.hits = {name: sum(k in seen for k in keys) for name, keys in self._keys.items()}
        return report

    def _find(self, key: str) -> list[str]:
        if not key:
            return []
        if key in self._owner:
            return [key]
        n = self.min_chars
        return [
            k
            for i in range(len(key) - n + 1)
            for k in self._by_prefix.get(key[i : i + n], ())
            if key.startswith(k, i)
        ]

    def clean(self, corpus: str, lines: list[str]) -> tuple[list[str], Report]:
        """`lines` without the contaminated ones, and the report saying how many went."""
        report = self.check(corpus, lines)
        drop = set(report.contaminated)
        return [line for i, line in enumerate(lines) if i not in drop], report


def evaluation_sentences(
    langs: Iterable[Language], root: Path | None, tasks: Iterable[Task] | None = None
) -> dict[str, list[str]]:
    """Every validation and test sentence of every task (and setting) covering `langs`."""
    out: dict[str, list[str]] = {}
    for task in tasks or parse_tasks(None):
        for lang in langs:
            if not task.coverage(lang):
                continue
            for setting in task.settings:
                for split in [*EVAL_SPLITS, *(f"test:{name}" for name in task.extra_tests)]:
                    setting_text = f"{setting}:1" if setting == "few-shot" else setting
                    try:
                        ref = task.ref(lang, split, setting_text, root)
                    except BenchError:
                        continue  # e.g. no such extra test set for this language
                    name = f"{ref.source.name}/{'-'.join(ref.codes)}/{ref.split}"
                    if name not in out and ref.available(root):
                        loaded = task.load(lang, split, setting_text, root)
                        out[name] = sentences_of(loaded.dataset.to_dict(), ref.source.kind)
    return out
