"""Planning: a resolved request becomes trainings (groups), with the checkpoint selections
each setting records and the languages whose data does not allow a task, said.

A **group** is one fine-tuning and the records it writes: zero-shot runs of several target
languages share one training on English; in-language runs and flores train per language.
Exercise: ``bench run --method baseline --langs sw,yo,ha --dry-run``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.core.errors import BenchError
from bench.data.language import Language, get_language
from bench.data.task import SOURCE_LANGUAGE, Task
from bench.runs.request import Request


def groups_for(request: Request, root: Path | None) -> tuple[list[Group], list[str]]:
    """The trainings of `request` on the data of `root` (the hub when None), and a line for
    every (task, setting, languages) left out, saying why (`Task.missing`: no data declared,
    or a split the run reads is not on the data root). Fails only when nothing can run."""
    groups: list[Group] = []
    gaps: dict[tuple[str, str, str], list[str]] = {}  # (task, setting, why) -> languages
    for task in request.tasks:
        wanted = request.settings or (task.settings[0],)
        for setting in [s for s in wanted if s.split(":")[0] in task.settings]:
            sels = selections_for(setting, request.selections)
            runnable = []
            for lang in request.langs:
                why = task.missing(lang, setting, root, sels)
                if why is None:
                    runnable.append(lang)
                else:  # undeclared data holds for every setting: said once per task
                    where = f" {setting}" if task.coverage(lang) else ""
                    gaps.setdefault((task.name, where, why), []).append(lang.code)
            if runnable:
                groups += plan_groups(task, runnable, [setting], request.seeds, request.selections)
    notes = [
        f"skipped: {task}{where} for {', '.join(codes)}: {why}"
        for (task, where, why), codes in gaps.items()
    ]
    if not groups and notes:
        raise BenchError(
            "nothing to run: " + "; ".join(n.removeprefix("skipped: ") for n in notes),
            hint="`bench lang check CODE` says what each language's data allows",
        )
    return groups, notes


def skipped(langs: list[Language], tasks: list[Task]) -> list[str]:
    """Why a task does not run for some languages, by their language files alone (the
    leaderboards' "Not in this table" notes): the rule of `groups_for`."""
    out = []
    for task in tasks:
        uncovered = [lang for lang in langs if not task.coverage(lang)]
        if uncovered:
            codes = ", ".join(lang.code for lang in uncovered)
            out.append(f"skipped: {task.name} for {codes}: {task.missing(uncovered[0])}")
    return out


SELECTIONS = ("source-dev", "target-dev", "last")


@dataclass
class Group:
    """One fine-tuning and the records it produces."""

    task: Task
    setting: str
    seed: int
    train_lang: Language
    targets: list[Language]
    selections: list[str]
    adapt_to: list[Language] = field(default_factory=list)  # the request's languages


def default_selection(setting: str) -> str:
    return "source-dev" if setting.startswith("zero-shot") else "target-dev"


def _allowed(selection: str, setting: str) -> bool:
    return selection != "source-dev" or setting.startswith(("zero-shot", "few-shot"))


def check_selection(selection: str, setting: str) -> None:
    if selection not in SELECTIONS:
        raise BenchError(
            f"unknown selection '{selection}'", hint=f"use one of: {', '.join(SELECTIONS)}"
        )
    if selection == "source-dev" and not setting.startswith(("zero-shot", "few-shot")):
        raise BenchError(
            f"selection 'source-dev' needs English training data; {setting} trains on the target",
            hint="use target-dev or last",
        )


def selections_for(setting: str, selections: tuple[str, ...] | list[str] | None) -> list[str]:
    """The checkpoint selections a run of `setting` records: the setting's default, or those
    asked for (several asked for: each setting records those it allows)."""
    sels = list(selections or [default_selection(setting)])
    if len(sels) > 1:
        allowed = [x for x in sels if x in SELECTIONS and _allowed(x, setting)]
        sels = allowed or sels
    for sel in sels:
        check_selection(sel, setting)
    return sels


def plan_groups(
    task: Task,
    langs: list[Language],
    settings: list[str],
    seeds: list[int],
    selections: tuple[str, ...] | None,
) -> list[Group]:
    """One group per (setting, seed), or per language too where the training data is the
    target's (in-language, and flores: each language its own translation directions)."""
    groups = []
    for setting in settings:
        chosen = task.setting(setting)
        sels = selections_for(setting, selections)
        for seed in seeds:
            if chosen.name == "in-language" or task.name == "flores":
                groups += [
                    Group(task, setting, seed, lang, [lang], sels, list(langs)) for lang in langs
                ]
            else:
                source = get_language(SOURCE_LANGUAGE)
                groups.append(Group(task, setting, seed, source, list(langs), sels, list(langs)))
    return groups
