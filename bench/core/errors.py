"""User-facing errors: one clear line, a hint on how to fix it, no traceback.

Library code raises `BenchError` for anything a user can fix (a bad option value, a missing
or malformed data file). The CLI prints it as ``error: ...`` plus the hint and exits with
`exit_code` (2, the usage-error code, unless said otherwise).
"""

from __future__ import annotations

import contextlib
import difflib
import signal
import threading
from collections.abc import Iterable, Iterator


class BenchError(Exception):
    """An error the user can act on.

    Args:
        message: What is wrong, naming the file/line/value concerned.
        hint: How to fix it (optional).
        exit_code: Process exit code when it reaches the CLI.
    """

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


@contextlib.contextmanager
def terminate_as_exit() -> Iterator[None]:
    """Within the block, SIGTERM (`kill`, a scheduler's time limit) raises SystemExit(143)
    instead of killing the process outright, so `finally` clauses still clean up (scratch
    folders). The previous handler comes back after the block; a no-op off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_now(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_now)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
