"""A request, resolved once at the door: the command line's (or a sweep spec's) strings become
one frozen `Request` (the backbone, the configured method composition, the recipe overrides,
languages, tasks, settings, selections, seeds) that every layer below takes as it is. Nothing
below this module parses a user string.

Exercise: ``bench run --method mlm+adversarial --set mlm.steps=50 --set lr=1e-4 --dry-run``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from bench.core.errors import BenchError
from bench.data.language import Language, parse_langs
from bench.data.task import Task, parse_tasks
from bench.train.backbone import Backbone, resolve_backbone
from bench.train.method import Composition, parse_method, plugin_names


@dataclass(frozen=True)
class Request:
    """What to run, resolved: the layers below read these fields, never the strings typed."""

    method: Composition  # configured: defaults <- the backbone's [methods.X] <- --set X.k=v
    backbone: Backbone
    backbone_why: str  # "as asked", "default: the hub is unreachable, ..."
    langs: tuple[Language, ...]
    tasks: tuple[Task, ...]
    seeds: tuple[int, ...]
    settings: tuple[str, ...] | None  # None: each task's own first setting
    selections: tuple[str, ...] | None  # None: each setting's default selection
    recipe: tuple[tuple[str, str], ...] = ()  # --set key=value on the training recipe
    items: tuple[str, ...] = ()  # the --set items of this method as given (a sweep job's copy)
    comet: str | None = None
    force: bool = False
    keep_weights: Path | None = None  # keep each training's fine-tuned weights under this folder

    @property
    def overrides(self) -> dict[str, str]:
        """The training recipe's overrides (``--set lr=3e-5``), by key."""
        return dict(self.recipe)


def resolve(
    method: str = "baseline",
    langs: str = "sw,yo,ha",
    tasks: str | None = None,
    backbone: str | None = None,
    seeds: str = "1,2,3,4,5",
    settings: str | None = None,
    selection: str | None = None,
    overrides: Iterable[str] = (),
    comet: str | None = None,
    force: bool = False,
    keep_weights: str | None = None,
) -> Request:
    """The one place a run's strings are parsed; a bad value fails here, before any work."""
    chosen, why = resolve_backbone(backbone)
    items = tuple(overrides)
    recipe, settings_of_methods = split_overrides(parse_overrides(items))
    return Request(
        method=parse_method(method, settings_of_methods, chosen.methods),
        backbone=chosen,
        backbone_why=why,
        langs=tuple(parse_langs(langs)),
        tasks=tuple(parse_tasks(tasks)),
        seeds=tuple(parse_seeds(seeds)),
        settings=split_list(settings),
        selections=split_list(selection),
        recipe=tuple(recipe.items()),
        items=items,
        comet=comet,
        force=force,
        keep_weights=Path(keep_weights).expanduser().resolve() if keep_weights else None,
    )


def for_methods(base: Request, methods: list[str], items: list[str]) -> list[Request]:
    """`base` once per method of a sweep, each configured with the ``--set`` items that concern
    it: training settings, and the settings of the plug-ins it is made of (a sweep's
    ``--set mlm.steps=500`` does not reach the baseline). An item for a plug-in no method of
    the sweep uses is an error."""
    parse_overrides(items)  # malformed items fail before anything is planned
    names = {text: plugin_names(text) for text in methods}
    used = {n for found in names.values() for n in found}
    for item in items:
        owner, dot, _ = item.split("=")[0].partition(".")
        if dot and owner not in used:
            raise BenchError(
                f"--set {item}: no method of this sweep is made of '{owner}'",
                hint=f"methods here use: {', '.join(sorted(used)) or 'no plug-ins'}",
            )
    out = []
    for text in methods:
        own = tuple(
            i for i in items if "." not in i.split("=")[0] or i.split(".")[0] in names[text]
        )
        recipe, settings_of_methods = split_overrides(parse_overrides(own))
        method = parse_method(text, settings_of_methods, base.backbone.methods)
        out.append(replace(base, method=method, recipe=tuple(recipe.items()), items=own))
    return out


def split_list(text: str | None) -> tuple[str, ...] | None:
    """``"a, b"`` -> ``("a", "b")``; None or empty -> None."""
    parts = tuple(p.strip() for p in (text or "").split(",") if p.strip())
    return parts or None


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise BenchError(
            f"invalid --seeds '{text}'", hint="comma-separated integers, e.g. 1,2,3"
        ) from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise BenchError(f"invalid --seeds '{text}'", hint="give distinct seeds, e.g. 1,2,3,4,5")
    return seeds


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"invalid --set '{item}'", hint="use key=value, e.g. --set lr=3e-5")
        out[key.strip()] = value.strip()
    return out


def split_overrides(overrides: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(training settings, method settings): method settings have a dot in their key."""
    train = {k: v for k, v in overrides.items() if "." not in k}
    method = {k: v for k, v in overrides.items() if "." in k}
    return train, method
