"""`bench verify`: a record is remade from its own config and compared bit for bit."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.runs.records import run_id


def run(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code or 0, out, err


@pytest.fixture
def mlm_record(capsys, tiny_backbone, data_root, isolated_outputs):
    """A +MLM record made with recipe overrides (which verify must find again)."""
    args = ["run", "--method", "mlm", "--backbone", str(tiny_backbone), "--tasks", "xnli"]
    args += ["--langs", "sw", "--seeds", "5", "--set", "max_steps=3", "--set", "evals=1"]
    args += ["--set", "mlm.steps=3", "--set", "mlm.heldout=16", "--data-root", str(data_root)]
    code, out, err = run(capsys, *args)
    assert code == 0, out + err
    (path,) = (isolated_outputs / "results").rglob("*-seed5-*.json")
    return path


def test_a_record_is_remade_bit_for_bit(capsys, mlm_record, tiny_backbone, data_root, tmp_path):
    for stage in (tmp_path / "cache" / "stages").iterdir():  # the stage is rebuilt, not reused
        stage.rename(tmp_path / f"old-{stage.name}")
    out_file = tmp_path / "verify.json"
    args = ["verify", str(mlm_record), "--backbone", str(tiny_backbone)]
    code, out, err = run(capsys, *args, "--out", str(out_file), "--data-root", str(data_root))
    assert code == 0, out + err
    assert "identical" in out and "mlm same" in out
    (result,) = json.loads(out_file.read_text())["records"]
    assert result["identical"] and result["same_predictions"] == 1.0
    assert result["stage_weights_same"] == {"mlm": True}
    assert result["loss_curve_diverges"] is None and result["machines"] == {}


def test_a_record_that_differs_is_reported_and_fails(capsys, mlm_record, tiny_backbone, data_root):
    rec = json.loads(mlm_record.read_text())
    rec["metrics"]["accuracy"] = 0.5  # as if another machine had made it
    rec["training"]["curve"][0]["loss"] += 1e-3
    mlm_record.write_text(json.dumps(rec))
    args = ["verify", str(mlm_record), "--backbone", str(tiny_backbone)]
    code, out, err = run(capsys, *args, "--data-root", str(data_root))
    assert code == 1
    assert "differs" in out and "accuracy 0.5000 ->" in out and "diverges at step" in out
    assert "error: not reproduced" in err


def test_records_verify_cannot_remake_are_refused_before_any_work(
    capsys, mlm_record, tiny_backbone, data_root, tmp_path
):
    rec = json.loads(mlm_record.read_text())
    rec["config"]["data"]["test:swa"] = "0" * 64  # made from other data
    rec["run_id"] = run_id(rec["config"])
    other = tmp_path / "other.json"
    other.write_text(json.dumps(rec))
    args = ["verify", str(other), "--backbone", str(tiny_backbone), "--data-root", str(data_root)]
    code, _, err = run(capsys, *args)
    assert code == 2 and "plans another config for it (differs in data.test:swa)" in err
    assert "Traceback" not in err
    predictions = next(mlm_record.parent.glob("*.predictions.json.gz"))
    code, _, err = run(capsys, "verify", str(predictions))
    assert code == 2 and f"{predictions}: not a run record" in err


def test_means_are_per_cell_and_over_languages():
    from bench.runs.verify import means

    def result(lang, seed, old, new):
        cell = {"task": "xnli", "backbone": "me5_small", "method": "mlm", "setting": "zero-shot"}
        cell |= {"selection": "source-dev", "lang": lang}
        return {"cell": cell, "run_id": f"{lang}{seed}", "scores": {"accuracy": [old, new]}}

    rows = means(
        [result("swa", 2, 0.5, 0.4), result("swa", 3, 0.7, 0.6), result("hau", 2, 0.3, 0.5)]
    )
    assert [(m["lang"], m["records"], m["change"]) for m in rows] == [
        ("swa", 2, -0.1),
        ("all", 3, pytest.approx(0.0, abs=1e-9)),  # -0.1, -0.1, +0.2
    ]
    assert rows[0]["committed"] == 0.6 and rows[0]["rerun"] == 0.5


def test_committed_records_plan_back_to_their_run_ids(data_root):
    """One committed record of each (task, backbone, profile, method, setting): `bench verify`
    can remake it, i.e. today's code resolves its config to the same run id."""
    from pathlib import Path

    from bench.runs.verify import plan

    runs = Path(__file__).resolve().parents[1] / "results" / "runs"
    first = {}
    for path in sorted(runs.rglob("*.json")):
        c = json.loads(path.read_text())["config"]
        key = (c["task"], c["backbone"], c.get("profile"), c["method"], c["setting"])
        first.setdefault(key, path)
    assert len(first) > 40
    for path in first.values():
        plan(path, None, data_root)  # raises BenchError naming the keys that changed


def test_backbone_weights_are_compared_where_recorded():
    from bench.runs.verify import same_backbone

    def rec(sha):
        return {"backbone": {"weights_sha256": sha} if sha else {}}

    assert same_backbone(rec("a"), rec("a")) is True
    assert same_backbone(rec("a"), rec("b")) is False  # e.g. tiny_bert rebuilt on this machine
    assert same_backbone(rec(None), rec("b")) is None  # a record older than the hash


def test_a_terminated_rerun_still_removes_its_scratch_folder(tmp_path):
    """SIGTERM (kill, a scheduler's limit) inside `bench verify`'s loop exits with 143 through
    the `finally` that removes the scratch folder; the previous handler comes back after."""
    import os
    import shutil
    import signal
    import time

    from bench.core.errors import terminate_as_exit

    before = signal.getsignal(signal.SIGTERM)
    scratch = tmp_path / "verify-1"
    scratch.mkdir()
    with pytest.raises(SystemExit) as stopped, terminate_as_exit():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)  # interrupted by the handler at once
        finally:
            shutil.rmtree(scratch)
    assert stopped.value.code == 143 and not scratch.exists()
    assert signal.getsignal(signal.SIGTERM) is before
