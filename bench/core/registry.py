"""A small typed registry: name -> object, with duplicate checks and "did you mean".

Tasks, languages, backbones and methods all live in one `Registry` each, so every CLI value
is validated the same way. A registry may name the package of its instances (``discover``): it
imports that package's modules on first use, so the abstraction never imports its instances by
name and the instances import the abstraction (no import cycle). Exercise: ``bench tasks``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from bench.core.errors import BenchError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (e.g. ``"task"``), looked up with helpful errors."""

    def __init__(self, kind: str, discover: str | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}
        self._discover = discover  # a package whose modules register the entries

    def _discovered(self) -> dict[str, T]:
        """The entries, after importing every module of the ``discover`` package once."""
        if self._discover is not None:
            package, self._discover = self._discover, None  # first: modules may look us up
            found = importlib.import_module(package)
            for info in pkgutil.iter_modules(found.__path__):
                importlib.import_module(f"{package}.{info.name}")
        return self._entries

    def add(self, name: str, entry: T, aliases: tuple[str, ...] = ()) -> T:
        """Register `entry` under `name` (and `aliases`); a name may be taken once."""
        for key in (name, *aliases):
            if key in self._entries or key in self._aliases:
                raise ValueError(f"{self.kind} '{key}' is registered twice")
        self._entries[name] = entry
        self._aliases.update({alias: name for alias in aliases})
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of `add`."""
        return lambda entry: self.add(name, entry)

    def canonical(self, name: str) -> str:
        """The canonical name for `name` or one of its aliases."""
        key = name.strip()
        if key in self._discovered():
            return key
        if key in self._aliases:
            return self._aliases[key]
        valid = ", ".join(self.names())
        raise BenchError(
            f"unknown {self.kind} '{name}'{did_you_mean(key, [*self._entries, *self._aliases])}",
            hint=f"valid {self.kind}s: {valid}",
        )

    def get(self, name: str) -> T:
        """Look `name` up (canonical name or alias); unknown names raise `BenchError`."""
        return self._discovered()[self.canonical(name)]

    def names(self) -> list[str]:
        return sorted(self._discovered())

    def __contains__(self, name: object) -> bool:
        return name in self._discovered() or name in self._aliases

    def __iter__(self) -> Iterator[T]:
        return iter(self._entries[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._discovered())
