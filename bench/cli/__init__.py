"""The ``bench`` command line: thin Typer wrappers over library functions, one module per
stage they drive (``data``, ``runs``, ``report``); ``app`` holds the shared options.

Exercise: ``bench --help``, ``bench langs``, ``bench tasks``, ``bench data flores --langs ha``.
"""

# The command modules register their commands on import, in the order `bench --help` lists.
from bench.cli import data  # noqa: F401

# isort: split
from bench.cli import runs  # noqa: F401

# isort: split
from bench.cli import report  # noqa: F401
from bench.cli.app import app, main  # noqa: F401
