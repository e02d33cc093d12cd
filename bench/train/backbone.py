"""Backbones: the pretrained encoders runs start from, specified as data in `baselines/`.

A spec is either a hub model (mBERT, XLM-R; loadable from a local folder too) or an offline
backbone the suite builds and caches itself (`bench.train.build` says where the weights come
from). Exercise: ``bench backbone list``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from bench.core import hub
from bench.core.errors import BenchError, did_you_mean
from bench.core.paths import REPO
from bench.core.registry import Registry

BASELINE_DIR = REPO / "baselines"
DEFAULT_HUB = "xlmr_base"
DEFAULT_OFFLINE = "me5_small"  # a real pretrained encoder, converted from PyPI packages


@dataclass(frozen=True)
class Backbone:
    name: str
    title: str
    architecture: str  # "bert" | "xlm-roberta"
    hub_id: str | None = None
    revision: str | None = None
    build: Mapping[str, Any] = field(default_factory=dict)  # pre-trained here (tiny_*)
    package: Mapping[str, Any] = field(default_factory=dict)  # converted from packages (me5_small)
    recipes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # task -> hparams
    methods: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # method -> settings
    path: Path | None = None  # a local folder given instead of a registry name
    # named recipe variants: profile -> task -> the keys it changes in [recipes.<task>]
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    profile: str | None = None  # the variant in use (`me5_small:ablation`); None: [recipes]

    @property
    def label(self) -> str:
        """The name runs are grouped by: the backbone, and its recipe profile if one is used."""
        return f"{self.name}:{self.profile}" if self.profile else self.name

    def with_profile(self, profile: str) -> Backbone:
        """This backbone with the recipes of ``[profiles.<profile>]`` laid over its own."""
        if profile not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise BenchError(
                f"backbone '{self.name}' has no recipe profile '{profile}'"
                f"{did_you_mean(profile, self.profiles)}",
                hint=f"profiles of {self.name}: {known} ([profiles.*] in baselines/{self.name}.toml)",
            )
        recipes = {task: dict(r) for task, r in self.recipes.items()}
        for task, changes in self.profiles[profile].items():
            if isinstance(changes, Mapping):
                recipes[task] = {**recipes.get(task, {}), **changes}
        return replace(self, recipes=recipes, profile=profile)

    @property
    def max_length(self) -> int | None:
        """Longest input the model's position embeddings allow (None: as the recipe says)."""
        if self.build:
            return int(self.build["max_length"])
        if self.package:
            return int(self.package["max_length"])
        if self.path is not None:
            import json

            cfg = json.loads((self.path / "config.json").read_text())
            return cfg["max_position_embeddings"] - (2 if self.architecture == "xlm-roberta" else 0)
        return None

    @property
    def offline(self) -> bool:
        """Made here with no network: pre-trained by the suite, or converted from packages."""
        return bool(self.build or self.package)

    @property
    def caveat(self) -> str | None:
        """What a reader of its numbers must know (e.g. quantised weights), or None."""
        return self.package.get("caveat") if self.package else None

    def recipe(self, task: str) -> dict[str, Any]:
        if task not in self.recipes:
            raise BenchError(
                f"backbone '{self.name}' has no recipe for task '{task}'",
                hint=f"add [recipes.{task}] to baselines/{self.name}.toml",
            )
        return dict(self.recipes[task])


def _parse(path: Path) -> Backbone:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise BenchError(f"{path}: malformed TOML: {err}") from None
    if data.get("architecture") not in ("bert", "xlm-roberta"):
        raise BenchError(f"{path}: architecture must be 'bert' or 'xlm-roberta'")
    if sum(bool(data.get(k)) for k in ("hub_id", "build", "package")) != 1:
        raise BenchError(
            f"{path}: give one of hub_id (a hub model), [build] (pre-trained here) or "
            "[package] (converted from installed packages)"
        )
    return Backbone(
        name=data["name"],
        title=data["title"],
        architecture=data["architecture"],
        hub_id=data.get("hub_id"),
        revision=data.get("revision"),
        build=data.get("build", {}),
        package=data.get("package", {}),
        recipes=data.get("recipes", {}),
        methods=data.get("methods", {}),
        profiles=_profiles(path, data),
    )


def _profiles(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """``[profiles.<name>.<task>]`` tables, checked: each changes keys of an existing recipe."""
    profiles = data.get("profiles", {})
    for name, tasks in profiles.items():
        for task, changes in tasks.items():
            if isinstance(changes, Mapping) and task not in data.get("recipes", {}):
                raise BenchError(
                    f"{path}: [profiles.{name}.{task}] changes a recipe that does not exist",
                    hint=f"add [recipes.{task}] first; recipes: {', '.join(data.get('recipes', {}))}",
                )
    return profiles


@cache
def backbones() -> Registry[Backbone]:
    registry: Registry[Backbone] = Registry("backbone")
    for path in sorted(BASELINE_DIR.glob("*.toml")):
        spec = _parse(path)
        registry.add(spec.name, spec)
    return registry


def resolve_backbone(name: str | None) -> tuple[Backbone, str]:
    """The backbone to use and why: a name, a local folder, or the default for this network."""
    if name and Path(name).is_dir():
        folder = Path(name).resolve()
        arch = "bert" if '"bert"' in (folder / "config.json").read_text() else "xlm-roberta"
        recipes = backbones().get(DEFAULT_HUB if arch == "xlm-roberta" else "mbert").recipes
        like = backbones().get(DEFAULT_HUB if arch == "xlm-roberta" else "mbert")
        return Backbone(
            folder.name, str(folder), arch, recipes=recipes, methods=like.methods, path=folder
        ), "local folder"
    if name and ":" in name:  # me5_small:ablation -- a recipe profile of a backbone
        base, _, profile = name.partition(":")
        return backbones().get(base).with_profile(profile), "as asked"
    if name:
        return backbones().get(name), "as asked"
    if hub.reachable():
        return backbones().get(DEFAULT_HUB), "default: the hub is reachable"
    return backbones().get(
        DEFAULT_OFFLINE
    ), "default: the hub is unreachable, so the offline backbone"
