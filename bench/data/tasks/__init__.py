"""The fixed task registry: xnli, masakhaner, flores (one module each).

Each module registers its task in `bench.data.task.TASKS`, which imports them on first use.
Exercise: ``bench tasks``.
"""
