"""`bench lang add` / `bench lang check`: a language from one data file, with clear fixes."""

from __future__ import annotations

import pytest

from bench.cli import main
from bench.core.errors import BenchError
from bench.data import contribute

GOOD = """
code = "ibo"
iso639_1 = "ig"
name = "Igbo"
script = "Latn"
family = "Niger-Congo > Atlantic-Congo > Volta-Niger"

[datasets]
masakhaner2 = "ibo"
masakhaner2_transfer = "ibo"
flores200 = "ibo_Latn"
mafand = "ibo"
"""


def run(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code or 0, out, err


def test_add_scaffolds_codes_datasets_and_script(tmp_path, data_root):
    path = contribute.add("zu", data_root, tmp_path)
    text = path.read_text()
    assert path.name == "zul.toml"
    assert 'code = "zul"' in text and 'iso639_1 = "zu"' in text
    assert 'script = "Latn"  # from the FLORES-200 code zul_Latn' in text
    for line in ('masakhaner2 = "zul"', 'mafand = "zul"', 'flores200 = "zul_Latn"'):
        assert line in text
    assert "xnli" not in text.split("[datasets]")[1]  # XNLI's shared TSV has no isiZulu rows
    assert 'family = "TODO"' in text
    with pytest.raises(BenchError, match="exists already"):
        contribute.add("zul", data_root, tmp_path)
    with pytest.raises(BenchError, match="not an ISO 639"):
        contribute.add("qqx", data_root, tmp_path)


def test_check_passes_a_good_file_and_reports_runnable_tasks(tmp_path, data_root, capsys):
    path = tmp_path / "ibo.toml"
    path.write_text(GOOD)
    report = contribute.check(str(path), data_root)
    assert report.ok and not report.problems
    runnable = {(t["task"], t["setting"]): t["runnable"] for t in report.tasks}
    assert runnable[("masakhaner", "in-language")] == "yes"
    assert runnable[("flores", "in-language")] == "yes"
    assert runnable[("xnli", "zero-shot")] == "no"  # no XNLI data: skipped, with the reason
    assert report.script[0] == "Latn"
    code, out, _ = run(capsys, "lang", "check", str(path), "--data-root", str(data_root))
    assert code == 0 and "ok: the file is valid" in out


@pytest.mark.parametrize(
    ("edit", "message", "fix"),
    [
        (
            ('masakhaner2 = "ibo"', 'masakhaner2 = "ibx"'),
            'masakhaner2 = "ibx": no split',
            "remove the line",
        ),
        (('script = "Latn"', 'script = "Arab"'), "written in Latn", 'set script = "Latn"'),
        (
            ('mafand = "ibo"', 'mafand = "ibo"\nntrex128 = "ibo"'),
            'ntrex128 = "ibo": no split',
            "bench data ntrex128",
        ),
        (('family = "Niger-Congo', 'family = "TODO'), "'family' still says TODO", "fill in family"),
        (("[datasets]", "[datasets\n"), "malformed TOML", "TOML"),
        (('mafand = "ibo"', 'mafandd = "ibo"'), "unknown dataset 'mafandd'", "known datasets"),
    ],
)
def test_check_names_each_problem_and_its_fix(tmp_path, data_root, capsys, edit, message, fix):
    path = tmp_path / "ibo.toml"
    path.write_text(GOOD.replace(*edit))
    code, out, _ = run(capsys, "lang", "check", str(path), "--data-root", str(data_root))
    assert code == 1
    assert message in out, out
    assert fix in out, out
