"""flores: translation en<->xx, sacreBLEU BLEU, chrF++ and spBLEU (``-tok flores200``).

Train on MAFAND-MT; select checkpoints on FLORES-200 dev where it exists (offline: English
and Hausa only), else on MAFAND dev; test on FLORES-200 devtest, and on NTREX-128 as split ``test:ntrex128``. Every split has the columns
``src`` (English) and ``tgt`` (the target); the trainer uses both directions.
Exercise: ``bench data flores --langs ha``.
"""

from __future__ import annotations

from pathlib import Path

from bench.core.errors import BenchError
from bench.data.language import Language, get_language
from bench.data.task import SOURCE_LANGUAGE, TASKS, Setting, SplitRef, Task, pick


def _pair(lang: Language, names: tuple[str, ...], split: str, root: Path | None) -> SplitRef:
    source, code = pick(lang, "flores", names, root)
    english = get_language(SOURCE_LANGUAGE).code_in(source.name)
    if english is None:
        raise BenchError(f"the English language file declares no code for '{source.name}'")
    return SplitRef(source, (english, code), split)


def resolve(lang: Language, split: str, setting: Setting, root: Path | None) -> SplitRef:
    if lang.code == SOURCE_LANGUAGE:
        raise BenchError(
            "English is the source side of flores", hint="give a target language, e.g. --langs sw"
        )
    if split == "train":
        return _pair(lang, ("mafand",), split, root)
    if split == "validation":
        if lang.code_in("flores200"):
            flores_dev = _pair(lang, ("flores200",), split, root)
            if flores_dev.available(root):
                return flores_dev
        return _pair(lang, ("mafand",), split, root)
    if split.startswith("test:"):  # an extra test set, e.g. test:ntrex128
        return _pair(lang, (split.split(":", 1)[1],), "test", root)
    return _pair(lang, ("flores200",), split, root)


TASKS.add(
    "flores",
    Task(
        name="flores",
        title="Machine translation en<->xx (FLORES-200, trained on MAFAND-MT)",
        kind="translation",
        metrics=("bleu", "chrf++", "spbleu"),
        settings=("in-language",),
        sources=("mafand", "flores200", "ntrex128"),
        resolve=resolve,
        extra_tests=("ntrex128",),
    ),
)
