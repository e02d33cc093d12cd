"""Ablation leaderboards from the run records in results/: a deterministic function of them.

Rows are methods, columns task × language (× metric for flores), each cell the mean ± std over
seeds with the seed count; every method is compared with the baseline of the same backbone,
setting and selection: absolute and relative change, a paired bootstrap over test examples
on the pooled predictions of matching seeds (sacreBLEU's for BLEU/chrF++), Almost Stochastic
Order over the seeds, and Holm's correction across the table's comparisons.

Honesty checks: records of one cell that disagree on config (other than seed) are refused;
two records of different models or seeds with byte-identical predictions are an error; runs
at chance or a task floor are flagged as collapsed (MLPerf's rule: one may be excluded, more
make the row invalid); rows with fewer than five seeds and machine-translated test sets are
marked. Exercise: ``bench leaderboard --backbone tiny_xlmr``.
"""

from bench.report.leaderboard.collect import (  # noqa: F401
    CONFIG_IGNORED,
    METRICS,
    MIN_SEEDS,
    Cell,
    Run,
    check_filters,
    load_runs,
    provenance,
)
from bench.report.leaderboard.compare import ALPHA, Comparison, build, compare  # noqa: F401
from bench.report.leaderboard.html import html, views  # noqa: F401
from bench.report.leaderboard.integrity import FLOOR, check_integrity, collapsed, constant  # noqa: F401
from bench.report.leaderboard.paper import headline, load_spec, paper  # noqa: F401
from bench.report.leaderboard.references import references, references_markdown  # noqa: F401
from bench.report.leaderboard.render import (  # noqa: F401
    ablation_frame,
    cell_text,
    csv,
    latex,
    legend,
    markdown,
)
