"""The CLI end to end, in process: output that reads well, and one-line errors with exit 2."""

import json
import subprocess
import sys

import pytest

from bench.cli import main
from tests.conftest import KINYARWANDA


def run(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code or 0, out, err


def test_help_lists_the_commands(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("langs", "tasks", "data", "contamination", "run"):
        assert command in out


def test_langs_shows_derived_coverage(capsys):
    code, out, _ = run(capsys, "langs")
    assert code == 0
    rows = {
        line.split()[0]: line
        for line in out.splitlines()
        if line[:3] in {"eng", "swa", "yor", "hau"}
    }
    assert set(rows) == {"eng", "swa", "yor", "hau"}
    assert "xnli_mt (MT) | afrixnli" in rows["hau"] and "xnli_mt" not in rows["swa"]
    assert "flores200" in rows["yor"] and "(source)" in rows["eng"]


def test_tasks_lists_tasks_and_sources(capsys):
    code, out, _ = run(capsys, "tasks")
    assert code == 0
    for name in ("xnli", "masakhaner", "flores", "masakhane/masakhaner2", "spbleu", "CC-BY-NC-4.0"):
        assert name in out


def test_data_json_provenance(capsys, data_root):
    code, out, _ = run(
        capsys,
        "data",
        "masakhaner",
        "--langs",
        "ha",
        "--setting",
        "in-language",
        "--data-root",
        str(data_root),
        "--json",
    )
    assert code == 0
    rows = json.loads(out)
    assert [(r["role"], r["rows"]) for r in rows] == [
        ("train", 5716),
        ("target-dev", 816),
        ("test", 1633),
    ]
    assert rows[2]["files"] == {
        "masakhaner2/hau/test.txt": rows[2]["files"]["masakhaner2/hau/test.txt"]
    }


def test_contamination_command_writes_clean_corpora(capsys, data_root, tmp_path):
    code, out, _ = run(
        capsys,
        "contamination",
        "--langs",
        "sw",
        "--corpus",
        "lacuna",
        "--data-root",
        str(data_root),
        "--out",
        str(tmp_path),
        "--report",
        str(tmp_path / "report.json"),
    )
    assert code == 0
    assert "lacuna/swa" in out and "masakhaner2/swa/test" in out
    report = json.loads((tmp_path / "report.json").read_text())["corpora"]
    kept = (tmp_path / "lacuna.swa.txt").read_text().splitlines()
    assert len(kept) == report[0]["lines"] - report[0]["removed"]
    assert report[0]["hits"]["masakhaner2/swa/test"] >= 1709


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data", "xnli", "--langs", "sx"], "error: unknown language 'sx' (did you mean 'sw'?)"),
        (["data", "nerr", "--langs", "sw"], "error: unknown task 'nerr'"),
        (
            ["data", "masakhaner", "--langs", "ha", "--data-root", "/nonexistent"],
            "error: data root /nonexistent does not exist",
        ),
        (["data", "xnli", "--langs", "en"], "error: English is the source language"),
        (
            ["contamination", "--corpus", "mafand"],
            "error: 'mafand' is not a monolingual text source",
        ),
    ],
)
def test_user_errors_are_one_line_exit_2(capsys, args, message, data_root, monkeypatch):
    monkeypatch.setenv("BENCH_DATA_ROOT", str(data_root))
    code, _out, err = run(capsys, *args)
    assert code == 2
    assert err.startswith(message)
    assert "Traceback" not in err


def test_missing_file_in_data_root(capsys, tmp_path):
    (tmp_path / "masakhaner2-transfer").mkdir()
    code, _, err = run(capsys, "data", "masakhaner", "--langs", "ha", "--data-root", str(tmp_path))
    assert code == 2
    assert "missing data file" in err and "masakhaner2-transfer/en/train.txt" in err


def test_language_with_no_data_for_the_task(capsys, extra_languages, data_root):
    extra_languages("kin", KINYARWANDA)
    code, _, err = run(capsys, "data", "flores", "--langs", "rw", "--data-root", str(data_root))
    assert code == 2
    assert (
        "Kinyarwanda (kin) has no data for task 'flores'" in err
        and "tasks it has: masakhaner" in err
    )


def test_console_script_prints_no_traceback(data_root):
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "data", "xnli", "--langs", "xx"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: unknown language 'xx'")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tasks", "masakhanr"), "unknown task 'masakhanr' (did you mean 'masakhaner'?)"),
        (("--tasks", "nope"), "unknown task 'nope'"),
        (("--langs", "sx"), "unknown language 'sx' (did you mean 'sw'?)"),
        (("--backbone", "tiny_xlm"), "unknown backbone 'tiny_xlm' (did you mean 'tiny_xlmr'?)"),
        (("--setting", "zero-shto"), "invalid setting 'zero-shto'"),
        (("--selection", "target_dev"), "unknown selection 'target_dev' (did you mean"),
    ],
)
def test_leaderboard_filters_are_checked_like_run_options(capsys, args, message):
    """An unknown filter value is the did-you-mean error of `bench run`, not "no records"."""
    code, _, err = run(capsys, "leaderboard", *args)
    assert code == 2
    assert err.startswith(f"error: {message}"), err
