"""Where the suite keeps derived artefacts: built backbones, run work folders (``BENCH_CACHE``).

Exercise: ``bench backbone build tiny_xlmr``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """``$BENCH_CACHE``, else ``~/.cache/lowres-bench``."""
    return Path(os.environ.get("BENCH_CACHE", Path.home() / ".cache" / "lowres-bench")).expanduser()


def results_dir() -> Path:
    """``$BENCH_RESULTS``, else the repository's ``results/``."""
    return Path(os.environ.get("BENCH_RESULTS", REPO / "results")).expanduser()
