"""Text tables for the command line and the generated Markdown (pandas + tabulate).

Exercise: ``bench tasks``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def table(rows: list[dict[str, Any]]) -> str:
    return pd.DataFrame(rows).to_markdown(index=False, tablefmt="simple")
