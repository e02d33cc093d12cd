"""Method plug-ins: what a method is, how they are found, and how they compose.

A method is an object with a name, a one-line summary, the paper its defaults come from, a
frozen dataclass of hyper-parameters, and up to three hooks, called in this order:

* ``adapt(folder, ctx)``: an adaptation stage before fine-tuning (continued MLM, alignment);
  returns the folder of an adapted backbone (cached; see `bench.train.stages`) and a report;
* ``augment(ctx)``: synthetic training examples for the task (back-translation);
* ``wrap(module, ctx)``: an auxiliary objective during fine-tuning (adversarial).

Methods are found through the entry-point group ``lowres_bench.methods`` (a separate package
registers one the same way; see methods/README.md). Compositions are names, not files:
``mlm+adversarial``; ``full`` is all four, ``full-no-mlm`` all but one. Exercise:
``bench methods``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

from bench.core.errors import BenchError

GROUP = "lowres_bench.methods"
BASELINE = "baseline"
FULL = ("mlm", "alignment", "backtranslation", "adversarial")


@dataclass
class Context:
    """What a method sees of the run it takes part in."""

    task: Any  # bench.data.task.Task
    setting: str
    seed: int
    train_lang: Any  # bench.data.language.Language
    targets: list[Any]  # the languages tested (and adapted to)
    backbone: Any  # bench.train.backbone.Backbone
    root: Path | None
    cache: Path
    backbone_key: str = (
        ""  # identity of the backbone's own weights (bench.train.backbone.backbone_id)
    )
    input_key: str = ""  # identity of the weights a stage starts from (backbone id, stage key)
    tokenizer: Any = None
    max_length: int = 128
    extra: Any = None  # labels (classification, tagging) or (source, target) codes
    reports: dict[str, Any] = field(default_factory=dict)  # method name -> its report


class Method:
    """Base of the plug-ins: override the hooks a method needs."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line, for `bench methods`
    paper: ClassVar[str]  # where the defaults come from
    order: ClassVar[int]  # place in a composition: adaptation stages first, then data, then loss
    Config: ClassVar[type]

    def __init__(self, config: Any = None) -> None:
        self.config = config if config is not None else self.Config()

    def adapt(self, folder: Path, ctx: Context) -> tuple[Path, dict[str, Any]] | None:
        return None

    def augment(self, ctx: Context) -> tuple[Any, dict[str, Any]] | None:
        """Synthetic (not yet encoded) training rows in the train split's columns, and a report."""
        return None

    def wrap(self, module: Any, ctx: Context) -> Any:
        return module


@cache
def registry() -> dict[str, type[Method]]:
    """name -> plug-in class, from the entry-point group."""
    found: dict[str, type[Method]] = {}
    for ep in entry_points(group=GROUP):
        cls = ep.load()
        if cls.name != ep.name:
            raise BenchError(
                f"method entry point '{ep.name}' loads a method named '{cls.name}'",
                hint="the entry-point name and the method's `name` must agree",
            )
        found[ep.name] = cls
    return dict(sorted(found.items(), key=lambda kv: kv[1].order))


@dataclass(frozen=True)
class Composition:
    """An ordered set of plug-ins; its `name` is what records and leaderboards show."""

    methods: tuple[Method, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.methods)

    @property
    def name(self) -> str:
        names = set(self.names)
        if not names:
            return BASELINE
        if names == set(FULL):
            return "full"
        if len(names) == len(FULL) - 1 and names < set(FULL):
            return f"full-no-{next(iter(set(FULL) - names))}"
        return "+".join(self.names)

    def config(self) -> dict[str, dict[str, Any]]:
        return {m.name: recorded(m.config) for m in self.methods}


# A setting added to a plug-in's Config after records of it were committed carries this
# metadata: it is part of a run's config (and so of its run id and stage keys) only when set
# away from its default, so the records made before it keep their run ids.
ADDED_LATER = {"added_later": True}


def choices(*values: str) -> dict[str, tuple[str, ...]]:
    """Metadata of a string setting that takes one of `values`: ``--set`` checks it
    (``field(default="fp32", metadata=ADDED_LATER | choices("fp32", "amp-bf16"))``)."""
    return {"choices": values}


TRUE, FALSE = ("1", "true", "yes"), ("0", "false", "no")


def recorded(config: Any) -> dict[str, Any]:
    """A plug-in's settings as runs and stages record them (see `ADDED_LATER`)."""
    return {
        f.name: getattr(config, f.name)
        for f in fields(config)
        if not (f.metadata.get("added_later") and getattr(config, f.name) == f.default)
    }


def plugin_names(text: str) -> list[str]:
    """The plug-ins ``baseline``, ``full``, ``full-no-X`` or ``a+b+...`` is made of, checked."""
    text = text.strip()
    known = registry()
    if text == BASELINE:
        wanted: list[str] = []
    elif text == "full":
        wanted = list(FULL)
    elif text.startswith("full-no-"):
        dropped = text.removeprefix("full-no-")
        if dropped not in FULL:
            raise BenchError(
                f"unknown method '{dropped}' in '{text}'", hint=f"full is {'+'.join(FULL)}"
            )
        wanted = [m for m in FULL if m != dropped]
    else:
        wanted = [p.strip() for p in text.split("+")]
    for name in wanted:
        if name not in known:
            raise BenchError(
                f"unknown method '{name}'",
                hint=f"known: {', '.join([BASELINE, *known, 'full', 'full-no-<method>'])} "
                "(`bench methods` lists them)",
            )
    if len(set(wanted)) != len(wanted):
        raise BenchError(f"method '{text}' names a plug-in twice")
    return wanted


def parse_method(
    text: str,
    overrides: dict[str, str] | None = None,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
) -> Composition:
    """``baseline``, ``full``, ``full-no-X`` or ``a+b+...``, configured.

    Args:
        text: The method name.
        overrides: ``method.field=value`` settings (``--set mlm.steps=200``); naming a method
            outside the composition is an error.
        defaults: method -> settings of the backbone (``[methods.mlm]`` in its spec), applied
            under the overrides to the methods of the composition.
    """
    wanted = plugin_names(text)
    known = registry()
    settings: dict[str, dict[str, Any]] = {
        name: dict(table) for name, table in (defaults or {}).items() if name in wanted
    }
    for key, value in (overrides or {}).items():
        owner, _, field_name = key.partition(".")
        if owner not in wanted:
            raise BenchError(
                f"--set {key}: method '{owner}' is not part of '{text.strip()}'",
                hint=f"settings of a method are --set <method>.<field>=value; methods here: "
                f"{', '.join(wanted) or 'none'}",
            )
        settings.setdefault(owner, {})[field_name] = value
    plugins = []
    for name in sorted(wanted, key=lambda n: known[n].order):
        cls = known[name]
        plugins.append(cls(_configure(cls, settings.get(name, {}))))
    return Composition(tuple(plugins))


def _configure(cls: type[Method], values: dict[str, Any]) -> Any:
    """The plug-in's Config with `values` (``--set`` strings or a backbone spec's values) cast
    to each field's type and checked: unknown names, values of the wrong type, booleans other
    than true/false/yes/no/1/0 and strings outside a field's `choices` are errors."""
    cfg = cls.Config()
    known = {f.name: f for f in fields(cfg)}
    for key, raw in values.items():
        if key not in known:
            raise BenchError(
                f"unknown setting --set {cls.name}.{key}",
                hint=f"settings of {cls.name}: {', '.join(sorted(known))}",
            )
        cast = type(getattr(cfg, key))
        where = f"--set {cls.name}.{key}={raw}"
        if cast is bool and isinstance(raw, str):
            if raw.lower() not in (*TRUE, *FALSE):
                raise BenchError(f"{where}: expected true or false")
            value: Any = raw.lower() in TRUE
        else:
            try:
                value = cast(raw)
            except ValueError:
                kind = {"int": "an integer", "float": "a number"}.get(cast.__name__, cast.__name__)
                raise BenchError(f"{where}: expected {kind}") from None
        allowed = known[key].metadata.get("choices")
        if allowed and value not in allowed:
            raise BenchError(f"{where}: not one of {', '.join(allowed)}")
        cfg = replace(cfg, **{key: value})
    return cfg
