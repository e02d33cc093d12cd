"""masakhaner: named entity recognition (token classification), seqeval entity F1.

zero-shot (default): train on English CoNLL-03 from the MasakhaNER 2.0 transfer corpus,
test on the target's transfer split (PER/ORG/LOC). in-language: the target's own MasakhaNER
2.0 train/dev/test (PER/ORG/LOC/DATE), the setting of the published MasakhaNER 2.0 numbers.
few-shot:N: English plus N sentences of the target's transfer train split (sampled per seed),
tested on the transfer split.
Exercise: ``bench data masakhaner --langs ha --setting in-language``.
"""

from __future__ import annotations

from pathlib import Path

from bench.core.errors import BenchError
from bench.data.language import Language
from bench.data.sources.masakhaner import FULL_TYPES, TRANSFER_TYPES, bio_labels
from bench.data.task import SOURCE_LANGUAGE, TASKS, Setting, SplitRef, Task, pick


def resolve(lang: Language, split: str, setting: Setting, root: Path | None) -> SplitRef:
    if setting.name == "in-language" and lang.code != SOURCE_LANGUAGE:
        source, code = pick(lang, "masakhaner", ("masakhaner2",), root)
        return SplitRef(source, (code,), split)
    if split == "train" and lang.code != SOURCE_LANGUAGE and setting.name == "zero-shot":
        raise BenchError(
            f"zero-shot masakhaner trains on English, not {lang.name}",
            hint="use --setting in-language or few-shot:N to train on the target language",
        )
    # English, zero-shot and few-shot share the PER/ORG/LOC label set of the transfer corpus.
    source, code = pick(lang, "masakhaner", ("masakhaner2_transfer",), root)
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
        # Zero-shot and few-shot train on English, whose corpus has no DATE entities.
        labels=lambda setting: bio_labels(
            FULL_TYPES if setting.name == "in-language" else TRANSFER_TYPES
        ),
    ),
)
