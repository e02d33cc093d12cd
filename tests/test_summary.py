"""The README's results table is `bench summary` over results/, regenerated, never typed."""

from bench.paths import REPO
from bench.summary import PERF, perf_table, readme_block, replace_block, summary_table


def test_readme_results_block_is_generated_from_the_records():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme_block(readme) == summary_table(REPO / "results").strip(), (
        "README results are stale: run `bench summary --write README.md`"
    )
    assert readme_block(readme, PERF) == perf_table(REPO / "results").strip(), (
        "README throughput table is stale: run `bench summary --write README.md`"
    )


def test_replace_block_round_trip():
    text = "a\n<!-- bench summary: start -->\nold\n<!-- bench summary: end -->\nb"
    assert readme_block(replace_block(text, "new table")) == "new table"
