"""A small typed registry: name -> object, with duplicate checks and "did you mean".

Tasks, languages, backbones and methods all live in one `Registry` each, so every CLI value
is validated the same way. Exercise: ``bench tasks``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from bench.errors import BenchError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (e.g. ``"task"``), looked up with helpful errors."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

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
        if key in self._entries:
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
        return self._entries[self.canonical(name)]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[T]:
        return iter(self._entries[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._entries)
