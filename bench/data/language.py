"""Languages are data: one TOML file per language under `bench/data/languages/`.

A language file says how each dataset of the registry spells the language (XNLI ``sw``,
MasakhaNER ``swa``, FLORES ``swh_Latn``...). Which tasks cover a language is derived from
these files, never kept in a second list. Extra directories of language files can be added
with ``BENCH_LANGUAGES_PATH`` (``:``-separated). Exercise: ``bench langs``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from bench.core.errors import BenchError, did_you_mean
from bench.core.registry import Registry
from bench.data.source import SOURCES

LANGUAGE_DIR = Path(__file__).parent / "languages"
_FIELDS = {"code", "iso639_1", "name", "script", "family", "datasets", "monolingual"}
_REQUIRED = ("code", "name", "script", "family")


@dataclass(frozen=True)
class Language:
    """One language: its codes, script, family, and how each dataset spells it."""

    code: str  # ISO 639-3, canonical
    name: str
    script: str  # ISO 15924, e.g. Latn
    family: str
    iso639_1: str | None = None
    datasets: Mapping[str, str] = field(default_factory=dict)  # source name -> dataset code
    monolingual: Mapping[str, str] = field(default_factory=dict)  # text source -> code
    path: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.code} ({self.iso639_1})" if self.iso639_1 else self.code

    def code_in(self, source: str) -> str | None:
        """How `source` spells this language, or None if the file declares no such data."""
        return self.datasets.get(source) or self.monolingual.get(source)


def _check_codes(path: Path, table: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise BenchError(f'{path}: [{table}] must be a table of source = "code" entries')
    for source, code in value.items():
        if source not in SOURCES:
            raise BenchError(
                f"{path}: [{table}] names unknown dataset '{source}'"
                f"{did_you_mean(source, SOURCES.names())}",
                hint=f"known datasets: {', '.join(SOURCES.names())}",
            )
        kind = SOURCES.get(source).kind
        if (table == "monolingual") != (kind == "text"):
            raise BenchError(
                f"{path}: '{source}' ({kind}) belongs in [{'monolingual' if kind == 'text' else 'datasets'}], not [{table}]"
            )
        if not isinstance(code, str) or not code.strip():
            raise BenchError(f"{path}: [{table}] {source} must be a non-empty string code")
    return dict(value)


def parse_language_file(path: Path) -> Language:
    """Parse and validate one language file; every problem names the file and the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise BenchError(f"{path}: malformed TOML: {err}") from None
    except UnicodeDecodeError:
        raise BenchError(f"{path}: not valid UTF-8") from None
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise BenchError(
            f"{path}: unknown field '{unknown[0]}'{did_you_mean(unknown[0], _FIELDS)}",
            hint=f"allowed fields: {', '.join(sorted(_FIELDS))}",
        )
    for key in _REQUIRED:
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise BenchError(f"{path}: missing required field '{key}'")
    code = data["code"]
    if not re.fullmatch(r"[a-z]{3}", code) or path.stem != code:
        raise BenchError(
            f"{path}: code '{code}' must be a lowercase ISO 639-3 code equal to the file name",
            hint=f"rename the file to {code}.toml or fix the code",
        )
    alias = data.get("iso639_1")
    if alias is not None and not re.fullmatch(r"[a-z]{2}", str(alias)):
        raise BenchError(f"{path}: iso639_1 '{alias}' must be a two-letter ISO 639-1 code")
    if not re.fullmatch(r"[A-Z][a-z]{3}", data["script"]):
        raise BenchError(
            f"{path}: script '{data['script']}' must be an ISO 15924 code such as Latn"
        )
    return Language(
        code=code,
        name=data["name"],
        script=data["script"],
        family=data["family"],
        iso639_1=alias,
        datasets=MappingProxyType(_check_codes(path, "datasets", data.get("datasets", {}))),
        monolingual=MappingProxyType(
            _check_codes(path, "monolingual", data.get("monolingual", {}))
        ),
        path=path,
    )


def language_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("BENCH_LANGUAGES_PATH", "").split(os.pathsep) if p]
    return [LANGUAGE_DIR, *extra]


@cache
def _load(dirs: tuple[Path, ...]) -> Registry[Language]:
    registry: Registry[Language] = Registry("language")
    for directory in dirs:
        if not directory.is_dir():
            raise BenchError(f"BENCH_LANGUAGES_PATH entry {directory} is not a directory")
        for path in sorted(directory.glob("*.toml")):
            lang = parse_language_file(path)
            try:
                registry.add(lang.code, lang, aliases=(lang.iso639_1,) if lang.iso639_1 else ())
            except ValueError:
                raise BenchError(f"{path}: language '{lang.code}' is defined twice") from None
    return registry


def languages() -> Registry[Language]:
    """The language registry: the shipped files plus any on ``BENCH_LANGUAGES_PATH``."""
    return _load(tuple(language_dirs()))


def get_language(name: str) -> Language:
    """Look a language up by ISO 639-3 code or ISO 639-1 alias."""
    return languages().get(name)


def parse_langs(spec: str) -> list[Language]:
    """Parse ``"sw,yo,ha"`` into languages (aliases accepted, order kept, duplicates dropped)."""
    names = [part.strip() for part in spec.split(",") if part.strip()]
    if not names:
        raise BenchError("no language given", hint="e.g. --langs sw,yo,ha")
    out: list[Language] = []
    for name in names:
        lang = get_language(name)
        if lang not in out:
            out.append(lang)
    return out
