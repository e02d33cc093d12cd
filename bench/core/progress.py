"""Progress bars for long work (pre-training, fine-tuning, decoding), on stderr.

Exercise: ``bench backbone build tiny_xlmr``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm


@contextmanager
def bar(description: str, total: int | None = None) -> Iterator[Callable[[int, int, float], None]]:
    """A bar advanced by ``tick(step, total, loss)`` callbacks (the trainer's `progress`)."""
    with tqdm(total=total, desc=description, unit="step", dynamic_ncols=True, leave=False) as pbar:

        def tick(step: int, steps: int, loss: float) -> None:
            if pbar.total != steps:  # the trainer knows the step count; the caller may not
                pbar.total = steps
            pbar.update(step - pbar.n)
            pbar.set_postfix(loss=f"{loss:.3f}")

        yield tick


@contextmanager
def counter(description: str, total: int, unit: str = "it") -> Iterator[Callable[[int], None]]:
    """A bar advanced by ``advance(n)`` (decoding: n sentences done)."""
    with tqdm(total=total, desc=description, unit=unit, dynamic_ncols=True, leave=False) as pbar:
        yield pbar.update
