"""masakhaner: named entity recognition (token classification), seqeval entity F1.

zero-shot (default): train on English CoNLL-03 from the MasakhaNER 2.0 transfer corpus,
test on the target's transfer split (PER/ORG/LOC). in-language: the target's own MasakhaNER
2.0 train/dev/test (PER/ORG/LOC/DATE), the setting of the published MasakhaNER 2.0 numbers.
few-shot:N: the target's train split, of which the trainer samples N sentences per seed.
Exercise: ``bench data masakhaner --langs ha --setting in-language``.
"""

from __future__ import annotations

from pathlib import Path

from bench.errors import BenchError
from bench.language import Language
from bench.task import SOURCE_LANGUAGE, TASKS, Setting, SplitRef, Task, pick


def resolve(lang: Language, split: str, setting: Setting, root: Path | None) -> SplitRef:
    if lang.code == SOURCE_LANGUAGE or setting.name == "zero-shot":
        if split == "train" and lang.code != SOURCE_LANGUAGE:
            raise BenchError(
                f"zero-shot masakhaner trains on English, not {lang.name}",
                hint="use --setting in-language or few-shot:N to train on the target language",
            )
        source, code = pick(lang, "masakhaner", ("masakhaner2_transfer",), root)
    else:
        source, code = pick(lang, "masakhaner", ("masakhaner2",), root)
    return SplitRef(source, (code,), split)


TASKS.add(
    "masakhaner",
    Task(
        name="masakhaner",
        title="Named entity recognition (MasakhaNER 2.0)",
        kind="token-classification",
        metrics=("f1", "precision", "recall"),
        settings=("zero-shot", "in-language", "few-shot"),
        sources=("masakhaner2_transfer", "masakhaner2"),
        resolve=resolve,
    ),
)
