"""What a run reads: every split of a group by role (``train``, ``target-dev:swa``, ``test:swa``,
``few-shot:swa``), their content checksums (the run id is made of them), and the encoded splits'
cache, so the seeds and reruns of a grid read and tokenise each split once.

Exercise: ``bench run --tasks xnli --langs sw --seeds 1 --dry-run``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import random
from functools import cache
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.core.paths import cache_dir
from bench.data.language import Language
from bench.data.source import LoadedSplit
from bench.data.task import SOURCE_LANGUAGE, Task, get_task
from bench.runs.plan import Group


def _load(task: Task, lang: Language, split: str, setting: str, root: Path | None) -> LoadedSplit:
    """Splits are read once per process: the seeds of a grid share them."""
    return _load_named(task.name, lang.code, split, setting, root)


@cache
def _load_named(task: str, lang: str, split: str, setting: str, root: Path | None) -> LoadedSplit:
    return get_task(task).load(lang, split, setting, root)


def roles(group: Group) -> list[tuple[str, Language, str]]:
    """(role, language, split) of every split the group reads (few-shot samples aside)."""
    out = [("train", group.train_lang, "train")]
    if group.train_lang.code == SOURCE_LANGUAGE and "source-dev" in group.selections:
        out.append(("source-dev", group.train_lang, "validation"))
    for lang in group.targets:
        if "target-dev" in group.selections:
            out.append((f"target-dev:{lang.code}", lang, "validation"))
        out.append((f"test:{lang.code}", lang, "test"))
    return out


def prepare(group: Group, root: Path | None) -> dict[str, LoadedSplit]:
    """Every split the group reads, keyed by role (``test:swa``, ``target-dev:swa`` ...)."""
    t, s = group.task, group.setting
    splits = {role: _load(t, lang, split, s, root) for role, lang, split in roles(group)}
    if t.setting(s).name == "few-shot":
        shots = t.setting(s).shots or 0
        for lang in group.targets:
            full = _load(t, lang, "train", s, root)
            picked = random.Random(group.seed).sample(range(len(full)), min(shots, len(full)))
            splits[f"few-shot:{lang.code}"] = LoadedSplit(
                full.dataset.select(sorted(picked)),
                {**full.provenance, "subset": f"{shots} sampled, seed {group.seed}"},
            )
    return splits


def encoded(
    kind: Any, split: LoadedSplit, tokenizer: Any, max_length: int, extra: Any, cache: Path
) -> Any:
    """`kind.encode` through a `datasets.map` cache file keyed by everything the result depends
    on (the split's content, the tokenizer, max length, labels/codes, the kind's source code),
    so the seeds and reruns of a grid tokenise each split once."""
    key = hashlib.sha256()
    for part in (
        split.provenance["sha256"],
        _tokenizer_identity(tokenizer),
        str(max_length),
        json.dumps(list(extra)),
        Path(inspect.getfile(kind)).read_text(),
    ):
        key.update(part.encode())
        key.update(b"\0")
    folder = cache / "encoded"
    folder.mkdir(parents=True, exist_ok=True)
    return kind.encode(
        split.dataset,
        tokenizer,
        max_length,
        extra,
        cache_file=str(folder / f"{kind.__name__.rsplit('.', 1)[-1]}-{key.hexdigest()[:20]}.arrow"),
    )


def _tokenizer_identity(tokenizer: Any) -> str:
    """The vocabulary, normalisation and added tokens; not the truncation/padding state that
    a call leaves on a fast tokenizer."""
    if not tokenizer.is_fast:
        return repr(tokenizer)
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    state.pop("truncation", None)
    state.pop("padding", None)
    return json.dumps(state, sort_keys=True)


def data_checksums(group: Group, root: Path | None) -> dict[str, str]:
    """role -> content SHA-256 of every split the group reads. Local splits whose files are
    unchanged since they were last parsed (same paths, sizes and modification times, same
    reader code) are not parsed again: a rerun that trains nothing stays fast."""
    if group.task.setting(group.setting).name == "few-shot" or root is None:
        return {role: split.provenance["sha256"] for role, split in prepare(group, root).items()}
    out = {}
    for role, lang, split in roles(group):
        ref = group.task.ref(lang, split, group.setting, root)
        if ref.source.files is None:
            out[role] = _load(group.task, lang, split, group.setting, root).provenance["sha256"]
            continue
        gone = ref.missing_files(root)
        if gone:  # `Task.missing` leaves such languages out of plans; this is the backstop
            raise BenchError(
                f"{ref.source.title} {split} of {lang.code} is missing: {root / gone[0]}",
                hint=f"`bench lang check {lang.code}` says which tasks its data allows",
            )
        files = [root / p for p in ref.source.files(ref.codes, ref.source.splits[ref.split])]
        stats = [[str(f), f.stat().st_size, f.stat().st_mtime_ns] for f in files]
        ident = [group.task.name, lang.code, split, group.setting, stats, _reader_version()]
        key = hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:24]
        memo = cache_dir() / "checksums" / f"{key}.json"
        if memo.is_file():
            out[role] = json.loads(memo.read_text())["sha256"]
            continue
        out[role] = _load(group.task, lang, split, group.setting, root).provenance["sha256"]
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"sha256": out[role], "ident": ident}))
        os.replace(tmp, memo)
    return out


@cache
def _reader_version() -> str:
    """A hash of the code that turns files into rows (sources, formats, tasks)."""
    here = Path(__file__).parents[1] / "data"
    files = [here / "source.py", here.parent / "core" / "formats.py", here / "task.py"]
    files += sorted((here / "sources").glob("*.py")) + sorted((here / "tasks").glob("*.py"))
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]
