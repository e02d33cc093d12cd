"""Readers for the upstream file formats: CoNLL, XNLI TSV, plain line files, JSON lines.

Every reader fails with a `BenchError` that names the file (and line) and says how to fix
it, so a broken mirror never surfaces as a traceback. Exercise: ``bench data masakhaner``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from bench.core.errors import BenchError

MIRROR_HINT = "point --data-root (or BENCH_DATA_ROOT) at a complete mirror; see its README.md"


def read_text(path: Path) -> str:
    """Read a UTF-8 file; a missing or non-UTF-8 file raises a `BenchError` naming it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BenchError(f"missing data file {path}", hint=MIRROR_HINT) from None
    except IsADirectoryError:
        raise BenchError(f"expected a file, found a directory: {path}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise BenchError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{raw[err.start]:02x} at offset {err.start})",
            hint="re-encode the file as UTF-8, e.g. iconv -f latin1 -t utf-8",
        ) from None


def read_lines(path: Path) -> list[str]:
    """One sentence a line (FLORES, NTREX, raw monolingual text); trailing newline optional."""
    text = read_text(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def read_parallel_lines(src: Path, tgt: Path) -> tuple[list[str], list[str]]:
    """Two line-aligned files; their line counts must agree."""
    a, b = read_lines(src), read_lines(tgt)
    if len(a) != len(b):
        raise BenchError(
            f"line counts differ: {src} has {len(a)} lines, {tgt} has {len(b)}",
            hint="the files must be aligned line by line; re-fetch both from the same release",
        )
    return a, b


def read_conll(path: Path, labels: frozenset[str]) -> tuple[list[list[str]], list[list[str]]]:
    """CoNLL: ``token TAG`` a line, sentences separated by blank lines.

    Args:
        path: The file.
        labels: The allowed BIO tags; any other tag is an error naming its line.

    Returns:
        (tokens, tags) per sentence.
    """
    sentences: list[list[str]] = []
    tags: list[list[str]] = []
    words: list[str] = []
    seq: list[str] = []
    for lineno, line in enumerate(read_text(path).split("\n"), start=1):
        parts = line.split()
        if not parts or parts[0] == "-DOCSTART-":
            if words:
                sentences.append(words)
                tags.append(seq)
                words, seq = [], []
            continue
        if len(parts) != 2:
            raise BenchError(
                f"{path}:{lineno}: malformed CoNLL line {line!r}: expected 'token TAG'",
                hint="each non-blank line needs exactly a token and a tag separated by whitespace",
            )
        if parts[1] not in labels:
            raise BenchError(
                f"{path}:{lineno}: unknown tag {parts[1]!r}",
                hint=f"allowed tags: {', '.join(sorted(labels))}",
            )
        words.append(parts[0])
        seq.append(parts[1])
    if words:
        sentences.append(words)
        tags.append(seq)
    return sentences, tags


def read_tsv(path: Path, required: tuple[str, ...], quoted: bool = False) -> list[dict[str, str]]:
    """A headed TSV whose header must hold `required`.

    Args:
        path: The file.
        required: Columns that must be present (and filled) in every row.
        quoted: CSV-style double quotes around fields (MasakhaNEWS); XNLI 1.0 has none, and
            its text holds bare quote characters.
    """
    text = read_text(path)
    quoting = csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t", quoting=quoting)
    header = reader.fieldnames or []
    missing = [col for col in required if col not in header]
    if missing:
        raise BenchError(
            f"{path}:1: missing column(s) {', '.join(missing)} (header: {', '.join(header) or '-'})",
            hint=f"expected a tab-separated header with: {', '.join(required)}",
        )
    out = []
    for row in reader:
        if None in row or any(row[col] is None for col in required):
            raise BenchError(
                f"{path}:{reader.line_num}: expected {len(header)} tab-separated fields",
                hint="a field may not contain a tab or be missing",
            )
        out.append(row)
    return out


def read_jsonl(path: Path, keys: tuple[str, ...]) -> list[dict[str, str]]:
    """MAFAND JSON lines: ``{"translation": {"en": ..., "hau": ...}}`` a line."""
    out = []
    for lineno, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            pair = json.loads(line)["translation"]
            out.append({key: pair[key] for key in keys})
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise BenchError(
                f"{path}:{lineno}: expected a JSON object with translation keys {keys} ({err})",
                hint='each line must look like {"translation": {"en": "...", "xx": "..."}}',
            ) from None
    return out


def read_spec(path: Path, fields: set[str]) -> dict:
    """A small TOML spec file (table or sweep specs) with only the `fields` it may hold."""
    import tomllib

    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"no spec file at {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise BenchError(f"{path}: malformed TOML: {err}") from None
    unknown = set(spec) - fields
    if unknown:
        raise BenchError(
            f"{path}: unknown field(s) {', '.join(sorted(unknown))}",
            hint=f"fields: {', '.join(sorted(fields))}",
        )
    return spec
