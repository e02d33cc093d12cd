"""The dataset sources the task registry draws on, one module per upstream family.

Each module registers its `bench.data.source.Source`s in `bench.data.source.SOURCES`, which
imports them on first use. Language files refer to these names (``[datasets] masakhaner2 =
"swa"``). Exercise: ``bench tasks``.
"""
