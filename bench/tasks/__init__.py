"""The fixed task registry: xnli, masakhaner, flores (one module each).

Importing this package registers them in `bench.task.TASKS`. Exercise: ``bench tasks``.
"""

from bench.tasks import flores, masakhaner, xnli  # noqa: F401
