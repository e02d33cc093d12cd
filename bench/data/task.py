"""Tasks: what is trained and evaluated, on which source split, for which language.

A `Task` maps (language, split, setting) to a `SplitRef`: a dataset source, the codes the
source spells the language with (from the language file) and, where the offline mirror lacks
a split, a documented subset of another one. Coverage is derived from the language files:
a task covers a language when its file names a source the task can test on.
Exercise: ``bench tasks`` and ``bench data xnli --langs yo``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.core.registry import Registry
from bench.data.language import Language, get_language
from bench.data.source import SOURCES, LoadedSplit, Source, content_sha256, load

SOURCE_LANGUAGE = "eng"  # the high-resource language zero-shot transfer starts from
TASK_SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Setting:
    """Where training data comes from: ``zero-shot``, ``in-language`` or ``few-shot:N``."""

    name: str
    shots: int | None = None

    def __str__(self) -> str:
        return f"{self.name}:{self.shots}" if self.shots else self.name


def parse_setting(text: str, allowed: tuple[str, ...], task: str = "this task") -> Setting:
    match = re.fullmatch(r"(zero-shot|in-language|few-shot)(?::(\d+))?", text.strip())
    if not match or (match[1] == "few-shot") != bool(match[2]):
        raise BenchError(
            f"invalid setting '{text}'",
            hint="use zero-shot, in-language or few-shot:N (N target training sentences)",
        )
    if match[1] not in allowed:
        raise BenchError(
            f"{task} has no '{match[1]}' setting", hint=f"{task} supports: {', '.join(allowed)}"
        )
    return Setting(match[1], int(match[2]) if match[2] else None)


def _example(setting: str) -> str:
    return "few-shot:1" if setting == "few-shot" else setting


@dataclass(frozen=True)
class SplitRef:
    """Which source split serves a task split, plus an optional documented subset."""

    source: Source
    codes: tuple[str, ...]
    split: str
    subset: tuple[str, Callable[[dict[str, Any]], bool]] | None = None  # (description, keep-row)

    def available(self, root: Path | None) -> bool:
        """Whether its files are under `root` (the hub path, root None, is assumed reachable)."""
        if root is None or self.source.files is None:
            return root is None
        return not self.missing_files(root)

    def missing_files(self, root: Path) -> list[str]:
        """Its files (relative to `root`) that are not there."""
        if self.source.files is None:
            return []
        rel = self.source.files(self.codes, self.source.splits[self.split])
        return [p for p in rel if not (root / p).is_file()]


def pick(
    lang: Language, task: str, names: tuple[str, ...], root: Path | None
) -> tuple[Source, str]:
    """The first source in `names` that `lang` declares and that the data path offers."""
    local = root is not None
    declared = [(SOURCES.get(n), lang.code_in(n)) for n in names if lang.code_in(n)]
    if not declared:
        raise BenchError(
            f"{lang.name} ({lang.code}) has no data for task '{task}'",
            hint=f"its file declares none of: {', '.join(names)}; tasks it has: "
            f"{', '.join(t.name for t in TASKS if any(lang.code_in(s) for s in t.sources)) or 'none'}",
        )
    for source, code in declared:
        if (source.files if local else source.hub_repo) is not None:
            return source, code  # type: ignore[return-value]
    where = "a local data root" if local else "the hub"
    raise BenchError(
        f"{lang.code} data for '{task}' ({', '.join(s.name for s, _ in declared)}) is not on {where}",
        hint="unset --data-root to use the hub"
        if local
        else "pass --data-root DIR to use a local mirror",
    )


@dataclass(frozen=True)
class Task:
    """One task of the fixed registry.

    Attributes:
        name: Registry / CLI name.
        title: One-line description.
        kind: ``sequence-pair-classification``, ``token-classification`` or ``translation``.
        metrics: Metric names, main metric first.
        settings: Settings the task supports; the first is the default.
        sources: Every source the task may draw on (for ``bench tasks``).
        resolve: (language, split, setting, data root or None for the hub) -> `SplitRef`.
        extra_tests: Optional further test sets, requested as split ``test:<source>``.
        labels: The label set for a setting (classification and tagging tasks).
    """

    name: str
    title: str
    kind: str
    metrics: tuple[str, ...]
    settings: tuple[str, ...]
    sources: tuple[str, ...]
    resolve: Callable[[Language, str, Setting, Path | None], SplitRef]
    extra_tests: tuple[str, ...] = ()
    labels: Callable[[Setting], list[str]] | None = None

    def setting(self, text: str | None = None) -> Setting:
        return parse_setting(text or self.settings[0], self.settings, self.name)

    def ref(
        self, lang: Language | str, split: str, setting: str | None = None, root: Path | None = None
    ) -> SplitRef:
        """Which source split serves `split` of this task for `lang` (root None: the hub)."""
        lang = get_language(lang) if isinstance(lang, str) else lang
        valid = [*TASK_SPLITS, *(f"test:{name}" for name in self.extra_tests)]
        if split not in valid:
            raise BenchError(
                f"unknown split '{split}' for {self.name}", hint=f"use one of: {', '.join(valid)}"
            )
        return self.resolve(lang, split, self.setting(setting), root)

    def load(
        self, lang: Language | str, split: str, setting: str | None = None, root: Path | None = None
    ) -> LoadedSplit:
        """Load `split` of this task for `lang` from `root` (a local mirror) or the hub."""
        ref = self.ref(lang, split, setting, root)
        loaded = load(ref.source, ref.codes, ref.split, root)
        loaded.provenance["task"] = self.name
        loaded.provenance["task_split"] = split
        if ref.subset is None:
            return loaded
        description, keep = ref.subset
        subset = loaded.dataset.select([i for i, row in enumerate(loaded.dataset) if keep(row)])
        provenance = {**loaded.provenance, "subset": description, "rows": len(subset)}
        provenance["sha256"] = content_sha256(subset.to_dict())
        return LoadedSplit(subset, provenance)

    def plan(self, lang: Language, setting: str | None = None) -> list[tuple[str, Language, str]]:
        """The (role, language, split) triples a run of this task on `lang` reads.

        Roles: ``train``, ``source-dev`` (English dev: true zero-shot selection), ``target-dev``
        (oracle selection), ``few-shot-train`` and ``test`` (plus extra test sets).
        """
        chosen = self.setting(setting)
        source = get_language(SOURCE_LANGUAGE)
        if lang.code == SOURCE_LANGUAGE:
            raise BenchError(
                f"{lang.name} is the source language; give target languages, e.g. --langs sw"
            )
        if not self.coverage(lang):
            self.resolve(lang, "test", chosen, None)  # raises the "no data for task" error
        roles = [("train", source, "train"), ("source-dev", source, "validation")]
        if chosen.name == "in-language":
            roles = [("train", lang, "train")]
        elif chosen.name == "few-shot":
            roles.append(("few-shot-train", lang, "train"))
        roles += [("target-dev", lang, "validation"), ("test", lang, "test")]
        extra = [name for name in self.extra_tests if lang.code_in(name)]
        return roles + [(f"test:{name}", lang, f"test:{name}") for name in extra]

    def missing(
        self,
        lang: Language,
        setting: str | None = None,
        root: Path | None = None,
        selections: Iterable[str] | None = None,
    ) -> str | None:
        """Why this task cannot run for `lang` in `setting` with the data of `root` (the hub
        when None); None when it can.

        The one rule of the suite (``bench run``, ``bench sweep``, ``bench lang check`` and
        ``bench langs`` all call it): the language file declares a source the task tests on,
        and every split the run reads is there: training data, the dev sets of the checkpoint
        `selections` (None: both), and the test set. A language file may declare a dataset of
        which the data root holds only some splits (MAFAND dev and test without train, say).
        """
        chosen = str(self.setting(setting))
        if not self.coverage(lang):
            return f"no data declared (none of {', '.join(self.sources)} in the language file)"
        wanted = set(("source-dev", "target-dev") if selections is None else selections)
        needed = {"train", "few-shot-train", "test"} | wanted
        for role, who, split in self.plan(lang, chosen):
            if role not in needed:
                continue
            try:
                ref = self.ref(who, split, chosen, root)
            except BenchError as err:
                return err.message
            if root is not None and ref.source.files is not None:
                gone = ref.missing_files(root)
                if gone:
                    return f"{ref.source.title} {split} of {who.code} is missing ({gone[0]})"
        return None

    def coverage(self, lang: Language) -> str | None:
        """Sources this task tests `lang` on (local / hub), or None if it does not cover it."""
        found = []
        # Test splits never probe files, so any root stands for "a local mirror" here.
        for root, setting in itertools.product((Path("."), None), self.settings):
            try:
                ref = self.resolve(lang, "test", self.setting(_example(setting)), root)
            except BenchError:
                continue
            mark = " (MT)" if ref.source.machine_translated else ""
            if ref.source.name + mark not in found:
                found.append(ref.source.name + mark)
        return " | ".join(found) or None


TASKS: Registry[Task] = Registry("task", discover="bench.data.tasks")


def covering_tasks(lang: Language) -> list[str]:
    """Names of the tasks that cover `lang`, derived from its language file."""
    return [task.name for task in TASKS if task.coverage(lang)]


def get_task(name: str) -> Task:
    return TASKS.get(name)


def parse_tasks(spec: str | None) -> list[Task]:
    """``"xnli,flores"`` -> tasks; None or ``all`` -> every task."""
    if not spec or spec.strip() == "all":
        return list(TASKS)
    return [TASKS.get(part.strip()) for part in spec.split(",") if part.strip()]
