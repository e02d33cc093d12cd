"""A language whose data root holds only some splits of a dataset it declares: every command
applies one rule (`Task.missing`), skips what cannot run with the same reason, runs the rest.

The data roots are made here: symbolic links to the real mirror, minus the files a test takes
away. Two made-up languages (ISO 639-3 codes reserved for local use) borrow Igbo's and
isiZulu's data: `qaa` lacks MAFAND train (dev and test present, as for several MAFAND
languages upstream), `qab` lacks its MasakhaNER 2.0 test split (train and dev present).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.cli import main
from bench.data import contribute
from bench.data.language import get_language
from bench.data.task import get_task

LANGUAGE = """
code = "{code}"
name = "{name}"
script = "Latn"
family = "made up for a test"

[datasets]
masakhaner2 = "{data}"
masakhaner2_transfer = "{data}"
flores200 = "{data}_Latn"
mafand = "{data}"
"""
NO_TRAIN = "MAFAND-MT train of qaa is missing (mafand/en-ibo/train.json)"
NO_TEST = "MasakhaNER 2.0 test of qab is missing (masakhaner2/zul/test.txt)"


@pytest.fixture(scope="module")
def partial_root(tmp_path_factory, data_root) -> Path:
    """The mirror as symbolic links, less MAFAND en-ibo train and MasakhaNER 2.0 zul test."""
    root = tmp_path_factory.mktemp("partial") / "data"
    shutil.copytree(
        data_root, root, symlinks=True, copy_function=lambda s, d: Path(d).symlink_to(s)
    )
    (root / "mafand" / "en-ibo" / "train.json").unlink()
    (root / "masakhaner2" / "zul" / "test.txt").unlink()
    return root


@pytest.fixture
def partial(partial_root, tmp_path, extra_languages, monkeypatch):
    extra_languages("qaa", LANGUAGE.format(code="qaa", name="Partial Igbo", data="ibo"))
    extra_languages("qab", LANGUAGE.format(code="qab", name="Partial isiZulu", data="zul"))
    for name, value in {
        "BENCH_DATA_ROOT": partial_root,
        "BENCH_RESULTS": tmp_path / "results",
        "BENCH_CACHE": partial_root.parent / "cache",  # split checksums: parsed once
        "HF_HUB_OFFLINE": "1",
    }.items():
        monkeypatch.setenv(name, str(value))
    return partial_root


def cli(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code or 0, out + err


def test_the_rule(partial):
    flores, ner = get_task("flores"), get_task("masakhaner")
    qaa, qab = get_language("qaa"), get_language("qab")
    assert flores.missing(qaa, "in-language", partial) == NO_TRAIN
    assert flores.missing(qab, "in-language", partial) is None
    assert ner.missing(qab, "in-language", partial) == NO_TEST
    assert ner.missing(qab, "zero-shot", partial) is None  # tested on the transfer corpus
    assert ner.missing(qaa, "in-language", partial) is None
    assert flores.missing(qaa, "in-language", None) is None  # the hub has every split
    assert get_task("xnli").missing(qaa).startswith("no data declared (none of xnli")


def test_run_plans_skip_with_the_reason_and_keep_the_rest(partial, capsys):
    code, out = cli(
        capsys,
        *("run", "--langs", "qaa,qab,sw", "--tasks", "masakhaner,flores", "--seeds", "1"),
        *("--settings", "zero-shot,in-language", "--backbone", "tiny_xlmr", "--dry-run"),
    )
    assert code == 0, out
    assert f"skipped: flores in-language for qaa: {NO_TRAIN}" in out
    assert f"skipped: masakhaner in-language for qab: {NO_TEST}" in out
    assert "Traceback" not in out
    assert "5 of 5 trainings to run" in out  # ner zero-shot (one), ner in-language qaa/sw, ...
    rows = [line.split() for line in out.splitlines() if line.startswith(("flores", "masakhaner"))]
    assert ["flores", "in-language", "qab", "qab"] in [r[:4] for r in rows]
    assert ["masakhaner", "in-language", "qaa", "qaa"] in [r[:4] for r in rows]
    assert ["masakhaner", "zero-shot", "eng", "qaa,qab,swa"] in [r[:4] for r in rows]


def test_default_tasks_plan_too(partial, capsys):
    """`bench run --langs X` with no --tasks crashed in data_checksums (FileNotFoundError)."""
    code, out = cli(
        capsys, "run", "--langs", "qaa", "--seeds", "1", "--backbone", "tiny_xlmr", "--dry-run"
    )
    assert code == 0 and "Traceback" not in out, out
    assert f"skipped: flores in-language for qaa: {NO_TRAIN}" in out
    assert "skipped: xnli for qaa: no data declared" in out
    assert "1 of 1 trainings to run" in out  # masakhaner zero-shot


def test_sweep_plans_skip_the_same(partial, capsys):
    code, out = cli(
        capsys,
        *("sweep", "--methods", "baseline", "--langs", "qaa,qab", "--seeds", "1"),
        *("--settings", "zero-shot,in-language", "--backbone", "tiny_xlmr", "--dry-run"),
    )
    assert code == 0, out
    assert f"skipped: flores in-language for qaa: {NO_TRAIN}" in out
    assert f"skipped: masakhaner in-language for qab: {NO_TEST}" in out
    assert "3 to run" in out  # flores qab, masakhaner zero-shot qaa+qab, masakhaner in-language qaa


def test_lang_check_and_langs_give_the_same_reasons(partial, capsys):
    report = contribute.check("qaa", partial)
    why = {(t["task"], t["setting"]): t["why"] for t in report.tasks}
    assert why[("flores", "in-language")] == NO_TRAIN
    assert why[("masakhaner", "in-language")] == ""
    report = contribute.check("qab", partial)
    assert {(t["task"], t["setting"]): t["why"] for t in report.tasks}[
        ("masakhaner", "in-language")
    ] == NO_TEST
    code, out = cli(capsys, "langs")
    assert code == 0
    assert f"* qaa flores in-language: {NO_TRAIN}" in out
    assert f"* qab masakhaner in-language: {NO_TEST}" in out


def test_nothing_runnable_is_one_clear_error(partial, capsys):
    code, out = cli(
        capsys, "run", "--langs", "qaa", "--tasks", "flores", "--backbone", "tiny_xlmr", "--dry-run"
    )
    assert code == 2 and "Traceback" not in out
    assert f"error: nothing to run: flores in-language for qaa: {NO_TRAIN}" in out
