"""`bench run` end to end on a tiny backbone: records written whole, reruns skipped, errors."""

from __future__ import annotations

import json
import multiprocessing as mp

import pytest

from bench.cli import main
from bench.runs.records import (
    environment,
    read_predictions,
    record_path,
    write_atomic,
    write_record,
)


def run(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code or 0, out, err


def test_run_writes_complete_records_and_skips_them_next_time(
    capsys, tiny_backbone, data_root, isolated_outputs
):
    args = [
        "run",
        "--backbone",
        str(tiny_backbone),
        "--tasks",
        "xnli",
        "--langs",
        "sw,ha",
        "--seeds",
        "7",
        "--set",
        "max_steps=3",
        "--set",
        "evals=1",
        "--data-root",
        str(data_root),
    ]
    code, out, _ = run(capsys, *args)
    assert code == 0, out
    records = sorted((isolated_outputs / "results").rglob("*-seed7-*.json"))
    assert [r.parts[-6:-4] for r in records] == [("xnli", "hau"), ("xnli", "swa")]
    rec = json.loads(records[1].read_text())
    assert rec["config"]["seed"] == 7 and rec["config"]["selection"] == "source-dev"
    assert rec["selection"]["split"] == "source-dev" and rec["selection"]["step"] == 3
    assert set(rec["config"]["data"]) == {"train", "source-dev", "test:swa"}
    assert rec["data"]["test:swa"]["rows"] == 5010 and rec["machine_translated_test"] is False
    assert json.loads(records[0].read_text())["machine_translated_test"] is True
    assert rec["environment"]["packages"]["deepspeed"] == "0.19.8"
    assert rec["environment"]["git"]["commit"]
    assert len(read_predictions(records[1])) == 5010
    assert rec["training"]["tokens_per_s"] > 0 and rec["training"]["curve"]
    assert 200 < rec["training"]["peak_rss_mb"] < 24 * 1024  # torch alone is ~300 MB
    # A second run finds every record and trains nothing.
    code, out, _ = run(capsys, *args)
    assert code == 0 and "0 of 1 trainings to run" in out


def test_dry_run_prints_the_plan(capsys, data_root, isolated_outputs, tiny_backbone):
    code, out, _ = run(
        capsys,
        "run",
        "--backbone",
        str(tiny_backbone),
        "--langs",
        "sw,yo,ha",
        "--seeds",
        "1,2",
        "--settings",
        "zero-shot,in-language",
        "--dry-run",
        "--data-root",
        str(data_root),
    )
    assert code == 0
    assert "backbone: tiny_xlmr0 (local folder)" in out
    # xnli: 2 zero-shot; masakhaner: 2 zero-shot + 6 in-language; flores: 6 per-language
    assert "16 of 16 trainings to run" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "mlm+nope"], "unknown method 'nope'"),
        (["--method", "mlm", "--set", "adversarial.weight=2"], "not part of 'mlm'"),
        (["--seeds", "1,x"], "invalid --seeds '1,x'"),
        (["--seeds", "1,1"], "invalid --seeds '1,1'"),
        (["--set", "learning_rate=1"], "unknown setting --set learning_rate"),
        (["--set", "lr"], "invalid --set 'lr'"),
        (["--set", "epochs=many"], "--set epochs=many: expected a float"),
        (["--backbone", "xlmr_bas"], "unknown backbone 'xlmr_bas' (did you mean 'xlmr_base'?)"),
        (
            ["--tasks", "masakhaner", "--settings", "in-language", "--selection", "source-dev"],
            "selection 'source-dev' needs English training data",
        ),
        (["--selection", "best"], "unknown selection 'best'"),
    ],
)
def test_bad_run_values(capsys, args, message, data_root, isolated_outputs):
    code, _, err = run(
        capsys, "run", "--backbone", "tiny_xlmr", "--dry-run", "--data-root", str(data_root), *args
    )
    assert code == 2, err
    assert message in err and "Traceback" not in err


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "r.json"
    with pytest.raises(TypeError):
        write_atomic(target, object())  # fails inside the write
    assert list(tmp_path.iterdir()) == []


def _writer(folder, worker):
    for i in range(25):
        config = {
            "task": "xnli",
            "lang": "swa",
            "backbone": "b",
            "method": "m",
            "setting": "zero-shot",
            "selection": "source-dev",
            "seed": worker * 100 + i,
        }
        write_record(
            record_path(folder, config),
            {"config": config, "metrics": {"accuracy": i / 25}},
            ["x"] * 100,
        )


def test_concurrent_record_writes_all_land(tmp_path):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(tmp_path, w)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    records = list(tmp_path.rglob("*.json"))
    assert len(records) == 50
    for path in records:
        assert json.loads(path.read_text())["predictions"]["file"].endswith(".predictions.json.gz")
        assert read_predictions(path) == ["x"] * 100
    assert not list(tmp_path.rglob("*.tmp"))


def test_full_method_end_to_end_records_every_stage(
    capsys, tiny_backbone, data_root, isolated_outputs
):
    """`--method full` on a tiny budget: every plug-in's evidence lands in the record."""
    tiny = {
        "mlm.steps": 4,
        "mlm.heldout": 16,
        "alignment.steps": 4,
        "backtranslation.sentences": 8,
        "backtranslation.translator_steps": 4,
        "adversarial.max_lines": 64,
    }
    common = ["--backbone", str(tiny_backbone), "--tasks", "xnli", "--langs", "sw"]
    common += ["--seeds", "3", "--set", "max_steps=4", "--set", "evals=1"]
    common += ["--data-root", str(data_root)]
    settings = [x for k, v in tiny.items() for x in ("--set", f"{k}={v}")]
    code, out, err = run(capsys, "run", "--method", "full", *common, *settings)
    assert code == 0, out + err
    assert "method: full (mlm -> alignment -> backtranslation -> adversarial)" in out
    (path,) = (isolated_outputs / "results").rglob("*-seed3-*.json")
    assert path.parts[-3] == "full"
    rec = json.loads(path.read_text())
    assert rec["config"]["method"] == "full" and rec["config"]["adapted_to"] == ["swa"]
    assert rec["config"]["methods"]["mlm"]["steps"] == 4
    reports = rec["method_reports"]
    assert reports["mlm"]["decontamination_removed"]["swa"] > 1000
    assert set(reports["alignment"]["retrieval"]) == {"before", "after", "test_set"}
    assert reports["backtranslation"]["languages"]["swa"]["translator"]
    assert reports["adversarial"]["languages"] == ["eng", "swa"]
    assert any("disc_accuracy" in p for p in rec["training"]["curve"])
    # the stages are cached: a second method sharing the MLM stage does not rebuild it
    stages = sorted(p.name for p in (isolated_outputs / "cache" / "stages").iterdir())
    assert sum(s.startswith("mlm-") for s in stages) == 1
    code, out, err = run(capsys, "run", "--method", "mlm", *common, *settings[:4])
    assert code == 0, out + err
    assert sorted(p.name for p in (isolated_outputs / "cache" / "stages").iterdir()) == stages


def test_data_checksums_are_memoised_by_file_fingerprint(data_root, tmp_path, monkeypatch):
    """A rerun does not parse unchanged files again; a changed file is parsed again."""
    import shutil

    from bench.data.language import get_language
    from bench.data.task import get_task
    from bench.runs import inputs
    from bench.runs.plan import Group

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "mirror"
    for part in ("masakhaner2/hau",):
        shutil.copytree(data_root / part, root / part)
    task = get_task("masakhaner")
    group = Group(
        task, "in-language", 1, get_language("hau"), [get_language("hau")], ["target-dev"]
    )
    first = inputs.data_checksums(group, root)
    assert set(first) == {"train", "target-dev:hau", "test:hau"}
    assert first["test:hau"] == task.load("ha", "test", "in-language", root).provenance["sha256"]

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(inputs, "_load", no_parsing)
    assert inputs.data_checksums(group, root) == first
    test_file = next(p for p in (root / "masakhaner2/hau").iterdir() if "test" in p.name)
    with test_file.open("a", encoding="utf-8") as f:
        f.write("\nKano B-LOC\n")
    with pytest.raises(AssertionError, match="parsed again"):
        inputs.data_checksums(group, root)


def test_selections_that_chose_the_same_step_are_tested_once(
    capsys, tiny_backbone, data_root, isolated_outputs, monkeypatch
):
    """One evaluation: English dev and the target's dev both choose its step, so the two
    records share one pass over the test set (the same weights), with equal results."""
    from bench.train.kinds import KINDS

    kind, calls = KINDS["sequence-pair-classification"], []
    real = kind.predict

    def predict(module, encoded, dataset, *args, **kwargs):  # dev scoring predicts too
        calls.extend([len(dataset)] if len(dataset) == 5010 else [])  # XNLI-sw test
        return real(module, encoded, dataset, *args, **kwargs)

    monkeypatch.setattr(kind, "predict", predict)
    code, out, err = run(
        capsys,
        *("run", "--backbone", str(tiny_backbone), "--tasks", "xnli", "--langs", "sw"),
        *("--seeds", "5", "--selection", "source-dev,target-dev", "--set", "max_steps=3"),
        *("--set", "evals=1", "--data-root", str(data_root)),
    )
    assert code == 0, out + err
    src, tgt = (isolated_outputs / "results").rglob("*dev-seed5-*.json")
    assert len(calls) == 1
    a, b = json.loads(src.read_text()), json.loads(tgt.read_text())
    assert {a["selection"]["split"], b["selection"]["split"]} == {"source-dev", "target-dev"}
    assert a["selection"]["step"] == b["selection"]["step"] == 3
    assert a["metrics"] == b["metrics"] and read_predictions(src) == read_predictions(tgt)


def test_evaluation_options_are_recorded_and_change_the_run_id(
    capsys, tiny_backbone, data_root, isolated_outputs
):
    """``eval_precision`` and ``dev_rows`` (the ablation profile's cheaper evaluations) land in
    the record's ``config.model``, so such runs never share a run id with full-dev fp32 ones."""
    base = ["run", "--backbone", str(tiny_backbone), "--tasks", "masakhaner", "--langs", "ha"]
    base += ["--settings", "in-language", "--seeds", "1", "--data-root", str(data_root)]
    base += ["--set", "max_steps=2", "--set", "evals=1"]
    code, out, _ = run(capsys, *base, "--set", "eval_precision=amp-bf16", "--set", "dev_rows=16")
    assert code == 0, out
    (path,) = (isolated_outputs / "results").rglob("*-seed1-*.json")
    rec = json.loads(path.read_text())
    assert rec["config"]["model"] == {"eval_precision": "amp-bf16", "dev_rows": 16}
    assert "eval/target-dev:hau" in rec["training"]["curve"][-1]
    code, out, _ = run(capsys, *base, "--dry-run")
    assert code == 0 and "1 of 1 trainings to run" in out  # fp32, whole dev: another run


def test_kept_weights_reproduce_the_records_predictions(
    capsys, tiny_backbone, data_root, isolated_outputs, tmp_path
):
    """`--keep-weights DIR`: each training's selected weights, its tokenizer and its config are
    kept; loaded into a freshly built model they predict what the record holds."""
    import torch
    from transformers import AutoTokenizer

    from bench.data.language import get_language
    from bench.data.task import get_task
    from bench.runs.records import run_id
    from bench.train.kinds import classification

    kept = tmp_path / "kept"
    code, out, err = run(
        capsys,
        *("run", "--backbone", str(tiny_backbone), "--tasks", "xnli", "--langs", "sw"),
        *("--seeds", "6", "--set", "max_steps=3", "--set", "evals=1"),
        *("--keep-weights", str(kept), "--data-root", str(data_root)),
    )
    assert code == 0, out + err
    (folder,) = kept.iterdir()
    about = json.loads((folder / "training.json").read_text())
    assert folder.name == run_id(about["config"])[:16]
    assert sorted(p.name for p in folder.glob("*.pt")) == ["best-source-dev.pt", "last.pt"]
    (record,) = (isolated_outputs / "results").rglob("*-seed6-*.json")
    assert about["records"] == [str(record)]
    task = get_task("xnli")
    labels = task.labels(task.setting("zero-shot"))
    tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer")
    model = classification.build(tiny_backbone, labels, tokenizer)
    model.load_state_dict(torch.load(folder / "best-source-dev.pt", weights_only=True))
    model.eval()
    test = task.load(get_language("swa"), "test", "zero-shot", data_root).dataset.select(range(64))
    encoded = classification.encode(test, tokenizer, about["config"]["max_length"], labels)
    preds = classification.predict(model, encoded, test, tokenizer, labels)
    assert preds == read_predictions(record)[:64]


def test_a_stage_rebuilt_with_other_weights_is_refused_before_training(tmp_path):
    """The same stage key built into other weights (another machine) cannot train runs that
    would join records of the first build in their cells (the method on the task and setting):
    the error names the record and both builds. Another task may use another build."""
    from bench.core.errors import BenchError
    from bench.runs.stagecheck import check_stage_builds
    from tests.records import fake_record

    report = {"stage": "mlm-tiny", "key": "k1", "weights_sha256": "a" * 64}
    isa = {"vendor": "GenuineIntel", "torch_capability": "AVX512", "flags": ["amx_bf16"]}
    record = {
        "method_reports": {"mlm": report},
        "environment": {"hardware": {"cpu": "Xeon", "isa": isa}},
    }
    path = fake_record(tmp_path, method="mlm", metrics={"accuracy": 0.5}, record=record)
    cell = {"backbone": "tiny", "method": "mlm", "task": "xnli", "setting": "zero-shot"}
    other = {**report, "weights_sha256": "b" * 64}
    check_stage_builds({"mlm": report}, tmp_path, cell)  # the same build: fine
    check_stage_builds({"mlm": {**other, "key": "k2"}}, tmp_path, cell)  # another key
    check_stage_builds({"mlm": other}, tmp_path, {**cell, "task": "flores"})  # another task
    check_stage_builds({"mlm": other}, tmp_path, {**cell, "method": "full"})  # another method
    with pytest.raises(BenchError) as err:
        check_stage_builds({"mlm": other}, tmp_path, cell)
    assert str(path) in str(err.value) and "bbbbbbbbbbbb" in str(err.value)
    assert "aaaaaaaaaaaa" in str(err.value) and "Xeon (GenuineIntel; amx_bf16)" in str(err.value)
    assert "mlm on xnli (zero-shot)" in str(err.value)
    # a translator's build is the machine that ran its records (its report has no checksum)
    bt = {"languages": {"swa": {"key": "b1", "translator": "t1"}}}
    record = {"method_reports": {"backtranslation": bt}, "environment": {"hardware": {"cpu": "X"}}}
    fake_record(tmp_path, method="backtranslation", metrics={"accuracy": 0.5}, record=record)
    with pytest.raises(
        BenchError, match=r"the stage t1 built here \(built on .* used \(built on X"
    ):
        check_stage_builds({"backtranslation": bt}, tmp_path, {**cell, "method": "backtranslation"})
    check_stage_builds({"backtranslation": bt}, tmp_path, cell)  # not a cell of those records
    here = environment()["hardware"]  # what this machine's records will say
    assert here["cpu"] in str(err.value) and set(here["isa"]) == {
        "vendor",
        "torch_capability",
        "flags",
    }
