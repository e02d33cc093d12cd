"""Task kinds: the model head, encoding, batching, decoding and scoring shared by tasks of a
kind. A task names its kind (``Task.kind``); each kind is one module here.

Exercise: ``bench run --method baseline --tasks xnli --langs sw --seeds 1``.
"""

from types import ModuleType

from bench.train.kinds import classification, tagging, translation

KINDS: dict[str, ModuleType] = {
    "sequence-pair-classification": classification,
    "token-classification": tagging,
    "translation": translation,
}
