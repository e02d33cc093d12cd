"""Adding a language with one data file and no code: ``bench lang add`` and ``bench lang check``.

``add`` scaffolds ``bench/data/languages/<code>.toml`` from what can be found out: the ISO 639
codes and English name (pycountry's ISO 639-3 table), which datasets of the registry have the
language and under which code (probing the local data root's files, or the hub's dataset
configurations when online), and the script (from a FLORES-200 code such as ``ibo_Latn``,
else from the text itself). What it cannot find out is left as a ``TODO`` for the contributor.

``check`` validates a language file: the schema, every dataset reference (it loads each
split it claims), the script of the text against the declared script, and which task and
setting can run, with a plain-language fix for each problem. Exercise:
``bench lang add ig --data-root ../shared/data`` then ``bench lang check ig``.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core import hub
from bench.core.errors import BenchError
from bench.data.language import LANGUAGE_DIR, Language, get_language, parse_language_file
from bench.data.source import SOURCES

TODO = "TODO"
# ISO 15924 codes FLORES-200 uses, and the Unicode script names they stand for.
SCRIPTS = {
    "Latn": "LATIN",
    "Arab": "ARABIC",
    "Ethi": "ETHIOPIC",
    "Cyrl": "CYRILLIC",
    "Deva": "DEVANAGARI",
    "Beng": "BENGALI",
    "Tfng": "TIFINAGH",
    "Grek": "GREEK",
    "Hebr": "HEBREW",
    "Geor": "GEORGIAN",
    "Armn": "ARMENIAN",
    "Thai": "THAI",
    "Taml": "TAMIL",
    "Telu": "TELUGU",
    "Knda": "KANNADA",
    "Mlym": "MALAYALAM",
    "Gujr": "GUJARATI",
    "Guru": "GURMUKHI",
    "Orya": "ORIYA",
    "Sinh": "SINHALA",
    "Mymr": "MYANMAR",
    "Khmr": "KHMER",
    "Laoo": "LAO",
    "Tibt": "TIBETAN",
    "Hang": "HANGUL",
    "Hani": "CJK",
    "Nkoo": "NKO",
    "Vaii": "VAI",
    "Olck": "OL CHIKI",
}


def iso_codes(code: str) -> tuple[str, str | None, str]:
    """(ISO 639-3, ISO 639-1 or None, English name) of a 2- or 3-letter code."""
    import pycountry

    code = code.strip().lower()
    entry = None
    if len(code) == 2:
        entry = pycountry.languages.get(alpha_2=code)
    elif len(code) == 3:
        entry = pycountry.languages.get(alpha_3=code)
    if entry is None:
        raise BenchError(
            f"'{code}' is not an ISO 639-1 or 639-3 language code",
            hint="e.g. ig or ibo for Igbo, zu or zul for isiZulu (https://iso639-3.sil.org)",
        )
    return entry.alpha_3, getattr(entry, "alpha_2", None), entry.name


def script_of(texts: list[str]) -> tuple[str | None, float]:
    """The ISO 15924 script most letters of `texts` are written in, and its share."""
    counts: Counter[str] = Counter()
    for text in texts:
        for ch in text:
            if not ch.isalpha():
                continue
            name = unicodedata.name(ch, "")
            for code, prefix in SCRIPTS.items():
                if name.startswith(prefix):
                    counts[code] += 1
                    break
            else:
                counts["other"] += 1
    if not counts:
        return None, 0.0
    best, n = counts.most_common(1)[0]
    return (None if best == "other" else best), n / sum(counts.values())


def _candidates(code3: str, code1: str | None, english: str | None) -> list[str]:
    """Spellings to try, shaped like the source's English code (``eng_Latn`` -> ``ibo_Latn``)."""
    if english and "_" in english:
        return [f"{code3}_{s}" for s in SCRIPTS]
    return [code3, *([code1] if code1 else [])]


def discover(source_name: str, code3: str, code1: str | None, root: Path | None) -> str | None:
    """How `source_name` spells the language, found in the data root's files or, without a
    root, among the hub dataset's configurations; None if it does not have it."""
    from bench.data.source import load

    source = SOURCES.get(source_name)
    english = get_language("eng").code_in(source_name)
    for code in _candidates(code3, code1, english):
        codes = (english or "eng", code) if source.pair else (code,)
        if root is not None:
            if source.files is None:
                continue
            for canonical, split in source.splits.items():
                try:
                    paths = source.files(codes, split)
                except BenchError:  # a split the local mirror does not have
                    continue
                if not all((root / p).is_file() for p in paths):
                    continue
                try:  # files shared by all languages (XNLI's TSV) must hold this one's rows
                    if len(load(source, codes, canonical, root).dataset):
                        return code
                except Exception:  # not this spelling
                    continue
        elif source.hub_repo and code in _hub_configs(source.hub_repo):
            return code
    return None


def _hub_configs(repo: str) -> set[str]:
    try:
        from datasets import get_dataset_config_names

        return set(get_dataset_config_names(repo))
    except Exception:  # offline or a repo without configurations: nothing found this way
        return set()


def scaffold(code: str, root: Path | None) -> tuple[str, str, dict[str, Any]]:
    """(ISO 639-3 code, the language file's text, what was found) for `code`."""
    code3, code1, name = iso_codes(code)
    if code3 == "eng":
        raise BenchError("English is the source language; it has its file already")
    if root is None:
        hub.require("the datasets' configurations (`bench lang add` without --data-root)")
    found = {n: discover(n, code3, code1, root) for n in SOURCES.names()}
    found = {n: c for n, c in found.items() if c}
    script, why = None, ""
    flores = found.get("flores200")
    if flores and "_" in flores:
        script, why = flores.split("_", 1)[1], f"from the FLORES-200 code {flores}"
    elif found and root is not None:
        sample = _sample_text(code3, found, root)
        guess, share = script_of(sample)
        if guess:
            script, why = guess, f"detected in the data ({share:.0%} of letters)"
    datasets = {n: c for n, c in found.items() if SOURCES.get(n).kind != "text"}
    text = {n: c for n, c in found.items() if SOURCES.get(n).kind == "text"}
    where = f"the data root {root}" if root is not None else "the Hugging Face hub"
    lines = [
        f"# {name}. Scaffolded by `bench lang add {code}` from {where};",
        f"# validate with `bench lang check {code3}`. Replace every {TODO} before a pull request.",
        f'code = "{code3}"',
        f'iso639_1 = "{code1}"' if code1 else f"# iso639_1: none in ISO 639-1 for {code3}",
        f'name = "{name}"  # the English name; add the endonym in this comment if you like',
        f'script = "{script or TODO}"' + (f"  # {why}" if why else "  # ISO 15924, e.g. Latn"),
        f'family = "{TODO}"  # e.g. "Niger-Congo > Atlantic-Congo > Volta-Niger" (Glottolog)',
        "",
        "# How each dataset of the registry spells this language (found by probing; see",
        "# `bench tasks`). Remove a line to leave a dataset out.",
        "[datasets]",
        *(f'{n} = "{c}"' for n, c in sorted(datasets.items())),
    ]
    if not datasets:
        lines.append(f'# none found on {where}: add `dataset = "code"` lines (bench tasks)')
    lines += [
        "",
        "# Raw text for adaptation; decontaminated against every evaluation set before use.",
        "[monolingual]",
        *(f'{n} = "{c}"' for n, c in sorted(text.items())),
    ]
    return code3, "\n".join(lines) + "\n", {"found": found, "script": script}


def _sample_text(code3: str, found: dict[str, str], root: Path) -> list[str]:
    from bench.data.source import load

    out: list[str] = []
    for name, code in found.items():
        source = SOURCES.get(name)
        english = get_language("eng").code_in(name) or "eng"
        codes = (english, code) if source.pair else (code,)
        for split in source.splits:
            try:
                out += _texts(load(source, codes, split, root).dataset, source.kind, code3)[:200]
                break
            except BenchError:
                continue
        if len(out) > 500:
            break
    return out


def _texts(dataset: Any, kind: str, code3: str) -> list[str]:
    """The target-language text of a loaded split, whatever its kind."""
    if kind == "ner":
        return [" ".join(t) for t in dataset["tokens"]]
    if kind == "nli":
        return list(dataset["premise"]) + list(dataset["hypothesis"])
    if kind == "translation":
        return list(dataset[code3]) if code3 in dataset.column_names else []
    return list(dataset["text"])


def add(code: str, root: Path | None, folder: Path | None = None, force: bool = False) -> Path:
    code3, text, _ = scaffold(code, root)
    path = (folder or LANGUAGE_DIR) / f"{code3}.toml"
    if path.exists() and not force:
        raise BenchError(
            f"{path} exists already",
            hint=f"check it with `bench lang check {code3}`, or pass --force to overwrite it",
        )
    path.write_text(text, encoding="utf-8")
    return path


# --- check --------------------------------------------------------------------------------


@dataclass
class Report:
    language: Language | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (what, how to fix)
    splits: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    script: tuple[str | None, float] = (None, 0.0)

    @property
    def ok(self) -> bool:
        return not self.problems and any(t["runnable"] == "yes" for t in self.tasks)


def _find_file(code: str) -> Path:
    path = Path(code)
    if path.suffix == ".toml":
        if not path.is_file():
            raise BenchError(f"no language file at {path}")
        return path
    try:
        return get_language(code).path or LANGUAGE_DIR / f"{code}.toml"
    except BenchError:
        code3 = iso_codes(code)[0]
        path = LANGUAGE_DIR / f"{code3}.toml"
        if not path.is_file():
            raise BenchError(
                f"no language file for '{code}' ({path})",
                hint=f"scaffold one with `bench lang add {code}`",
            ) from None
        return path


def check(code: str, root: Path | None) -> Report:
    """Validate a language file; every problem comes with a fix."""
    report = Report()
    path = _find_file(code)
    if root is None:
        hub.require(f"the datasets {path.name} names (`bench lang check` without --data-root)")
    try:
        lang = parse_language_file(path)
    except BenchError as err:
        report.problems.append((err.message, err.hint or "fix the file's syntax (TOML)"))
        return report
    report.language = lang
    _check_fields(lang, path, report)
    texts: list[str] = []
    for name, code_in in {**lang.datasets, **lang.monolingual}.items():
        texts += _check_dataset(lang, name, code_in, root, report)
    _check_script(lang, texts, report)
    _runnable_tasks(lang, root, report)
    return report


def _check_fields(lang: Language, path: Path, report: Report) -> None:
    for key in ("script", "family", "name"):
        if TODO in str(getattr(lang, key)):
            report.problems.append(
                (f"{path.name}: '{key}' still says {TODO}", f"fill in {key} (see its comment)")
            )
    if lang.script != TODO and lang.script not in SCRIPTS:
        report.problems.append(
            (
                f"{path.name}: script '{lang.script}' is not an ISO 15924 code this suite knows",
                f"use one of: {', '.join(SCRIPTS)}",
            )
        )


def _check_dataset(
    lang: Language, name: str, code_in: str, root: Path | None, report: Report
) -> list[str]:
    """Load every split of one dataset the file claims; a sample of its text for the script."""
    from bench.data.source import load

    source = SOURCES.get(name)
    english = get_language("eng").code_in(name) or "eng"
    codes = (english, code_in) if source.pair else (code_in,)
    texts: list[str] = []
    for split in source.splits:
        row = {"dataset": name, "code": code_in, "split": split}
        try:
            loaded = load(source, codes, split, root)
            row["rows"] = len(loaded.dataset)
            texts += _texts(loaded.dataset, source.kind, lang.code)[:300]
        except BenchError as err:
            row["rows"] = f"missing: {err.message}"
        except Exception as err:  # a file that exists but does not parse
            row["rows"] = f"error: {type(err).__name__}"
            report.problems.append(
                (
                    f'{name} = "{code_in}": {split} is unreadable ({type(err).__name__}: {err})',
                    "the file is not in the dataset's upstream format",
                )
            )
        report.splits.append(row)
    mine = [r for r in report.splits if r["dataset"] == name]
    if not any(isinstance(r["rows"], int) and r["rows"] > 0 for r in mine):
        report.problems.append(
            (
                f'{name} = "{code_in}": no split loads ({mine[0]["rows"]})',
                f"check the code against `bench data {name}` / the dataset's card; "
                f"if {name} has no {lang.name}, remove the line",
            )
        )
    return texts


def _check_script(lang: Language, texts: list[str], report: Report) -> None:
    report.script = script_of(texts)
    seen, share = report.script
    if seen and lang.script in SCRIPTS and seen != lang.script and share > 0.5:
        report.problems.append(
            (
                f"the text is written in {seen} ({share:.0%} of letters), the file says "
                f'script = "{lang.script}"',
                f'set script = "{seen}", or check that the dataset codes are this language',
            )
        )


def _runnable_tasks(lang: Language, root: Path | None, report: Report) -> None:
    from bench.data.task import TASKS

    for task in TASKS:
        for setting in task.settings:
            if setting.startswith("few-shot"):
                continue
            why = task.missing(lang, setting, root)  # the rule `bench run` skips by
            entry = {"task": task.name, "setting": setting, "runnable": "no" if why else "yes"}
            report.tasks.append({**entry, "why": why or ""})
