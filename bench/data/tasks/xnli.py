"""xnli: natural language inference (sequence-pair classification), accuracy.

Train on English (online: MNLI, the XNLI ``train`` split; offline: XNLI English dev minus a
held-out fifth of its prompts, which is the source-dev split). Test on XNLI for languages it
has (Swahili), on AfriXNLI (hub) for Yoruba and Hausa, or offline on the machine-translated
stand-in, whose results are flagged. Exercise: ``bench data xnli --langs sw,yo,ha``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.data.language import Language
from bench.data.sources.xnli import LABELS
from bench.data.task import SOURCE_LANGUAGE, TASKS, Setting, SplitRef, Task, pick

TARGET_SOURCES = ("xnli", "afrixnli", "xnli_mt")  # human translations first
HELD_OUT = 5  # prompts with promptID % 5 == 0 (492 pairs, 164 a label) select checkpoints


def _held_out(row: dict[str, Any]) -> bool:
    return int(row["prompt_id"]) % HELD_OUT == 0


def resolve(lang: Language, split: str, setting: Setting, root: Path | None) -> SplitRef:
    if lang.code == SOURCE_LANGUAGE:
        source, code = pick(lang, "xnli", ("xnli",), root)
        if root is not None and split == "train":
            return SplitRef(
                source,
                (code,),
                "validation",
                ("dev, promptID % 5 != 0", lambda r: not _held_out(r)),
            )
        if root is not None and split == "validation":
            return SplitRef(source, (code,), "validation", ("dev, promptID % 5 == 0", _held_out))
        return SplitRef(source, (code,), split)
    if split == "train":
        raise BenchError(
            f"xnli has no {lang.name} training data: it is zero-shot (train on English)",
            hint="translate-train data comes from the back-translation method",
        )
    source, code = pick(lang, "xnli", TARGET_SOURCES, root)
    return SplitRef(source, (code,), split)


TASKS.add(
    "xnli",
    Task(
        name="xnli",
        title="Natural language inference (XNLI / AfriXNLI)",
        kind="sequence-pair-classification",
        metrics=("accuracy",),
        settings=("zero-shot",),
        sources=("xnli", "afrixnli", "xnli_mt"),
        resolve=resolve,
        labels=lambda setting: list(LABELS),
    ),
)
