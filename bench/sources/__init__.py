"""The dataset sources the task registry draws on, one module per upstream family.

Each module registers its `bench.source.Source`s in `SOURCES`. Language files refer to these
names (``[datasets] masakhaner2 = "swa"``). Exercise: ``bench tasks``.
"""

from bench.registry import Registry
from bench.source import Source

SOURCES: Registry[Source] = Registry("dataset")

from bench.sources import flores, mafand, masakhaner, monolingual, xnli  # noqa: E402, F401
