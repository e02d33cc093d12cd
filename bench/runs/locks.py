"""Locks that keep two processes from running one job: an ``flock`` the kernel releases when
its process dies, so a killed sweep leaves nothing stale. Exercise: ``bench sweep`` twice at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def job_lock(results: Path, key: str) -> Iterator[bool]:
    """Hold ``results/.locks/<key>.lock`` (yields False if another process holds it). An
    flock dies with its process: a SIGKILLed worker leaves nothing stale behind."""
    path = results / ".locks" / f"{key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")  # noqa: SIM115 - held for the duration of the job
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        fh.flush()
        yield True
    finally:
        fh.close()
