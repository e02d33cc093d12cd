"""What the README calls complete is committed: `make run`'s grid and every sweep spec marked
``complete = true`` plan zero trainings against the repository's `results/`.

A fresh clone's `make run` once retrained for 11 minutes because nine of its records had been
deleted by an unrelated commit and nothing compared the README's claim with `results/`.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from bench.cli import main
from bench.runs.grid import load_spec

REPO = Path(__file__).resolve().parents[1]
COMPLETE = sorted(p for p in (REPO / "sweeps").glob("*.toml") if load_spec(p).complete)


def make_run_args() -> list[str]:
    """The `bench run` arguments of the Makefile's `run` target (the README's first command)."""
    recipe = (REPO / "Makefile").read_text().split("\nrun:", 1)[1]
    line = next(line for line in recipe.splitlines() if "bench run" in line)
    return shlex.split(line.split("bench run", 1)[1])


def planned(capsys, args: list[str]) -> tuple[int, int]:
    """(trainings to run, trainings in all) that a dry run of `args` reports."""
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--dry-run"])
    out = capsys.readouterr().out
    assert (exit_info.value.code or 0) == 0, out
    if args[0] == "run":
        todo, total = re.search(r"(\d+) of (\d+) trainings to run", out).groups()
        return int(todo), int(total)
    done, todo = re.search(r"(\d+) trainings done \(records present\), (\d+) to run", out).groups()
    return int(todo), int(done) + int(todo)


@pytest.fixture
def committed(monkeypatch, tmp_path, data_root):
    """The repository's results/ (read only here), its data root, and private caches."""
    monkeypatch.setenv("BENCH_RESULTS", str(REPO / "results"))
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("BENCH_DATA_ROOT", str(data_root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return REPO / "results"


def test_the_complete_specs_are_the_ones_the_readme_reports():
    assert [p.name for p in COMPLETE] == ["me5-baseline.toml", "new-languages.toml", "offline.toml"]
    readme = " ".join((REPO / "README.md").read_text().split())
    assert "`make run` runs `bench run " + " ".join(make_run_args()) + "`" in readme
    for path in COMPLETE:
        assert f"sweeps/{path.name}" in readme


def test_make_run_grid_is_committed(committed, capsys):
    todo, total = planned(capsys, ["run", *make_run_args()])
    assert total == 24 and todo == 0, f"{todo} of {total} trainings of `make run` not committed"


def test_the_main_job_is_committed_for_three_seeds(committed, capsys):
    args = ["run", "--method", "full", "--langs", "sw,yo,ha", "--backbone", "tiny_xlmr"]
    assert planned(capsys, [*args, "--seeds", "1,2,3"]) == (0, 15)


@pytest.mark.parametrize("spec", COMPLETE, ids=lambda p: p.name)
def test_complete_sweep_specs_have_nothing_to_run(committed, capsys, spec):
    todo, total = planned(capsys, ["sweep", "--spec", str(spec)])
    assert total > 0 and todo == 0, f"{spec.name}: {todo} of {total} trainings not committed"


def test_one_deleted_record_is_one_training_to_run(committed, capsys, tmp_path, monkeypatch):
    """The check above can fail: a copy of results/ (symbolic links) without one record."""
    copy = tmp_path / "results"
    shutil.copytree(committed, copy, symlinks=True, copy_function=_link)
    victim = next(  # a record of `make run`'s grid: `full` on the ablation's recipes
        path
        for path in sorted(
            (copy / "runs" / "masakhaner").glob("swa/me5_small/full/in-language/*.json")
        )
        if json.loads(path.read_text())["config"].get("profile") == "ablation"
    )
    victim.unlink()
    monkeypatch.setenv("BENCH_RESULTS", str(copy))
    assert planned(capsys, ["run", *make_run_args()]) == (1, 24)


def _link(src: str, dst: str) -> None:
    Path(dst).symlink_to(src)


def test_the_committed_search_report_is_regenerated_identically():
    """leaderboards/generated/me5-search.md (`make tables`) is what `bench choose` reads from
    the committed search records: the method settings' choice stays visible and reproducible."""
    from bench.report.choose import report

    spec = load_spec(REPO / "sweeps" / "me5-search.toml")
    committed = (REPO / "leaderboards" / "generated" / "me5-search.md").read_text()
    assert report(spec, REPO / spec.results) + "\n" == committed
