"""`bench sweep`: DAG expansion, locks, failures, the submitit path, and resuming after SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bench.cli import main
from bench.core.errors import BenchError
from bench.runs import cost, jobs, local, sweep
from bench.runs import grid as dag

TINY = ["--set", "max_steps=4", "--set", "evals=1"]


def run(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code or 0, out, err


def grid(backbone: Path, root: Path, *extra: str, methods="baseline", seeds="1") -> list[str]:
    """`bench sweep` arguments for a tiny xnli grid on Swahili."""
    return [
        "sweep",
        *("--methods", methods, "--backbone", str(backbone), "--tasks", "xnli", "--langs", "sw"),
        *("--seeds", seeds, "--data-root", str(root)),
        *extra,
    ]


def records(root: Path) -> list[Path]:
    return sorted((root / "results" / "runs").rglob("*.json"))


def test_dag_shares_adaptation_stages(tiny_backbone, data_root, isolated_outputs):
    spec = dag.Spec(
        methods=["baseline", "mlm", "adversarial", "full"],
        langs="sw,ha",
        tasks="xnli,flores",
        seeds="1,2",
        backbone=str(tiny_backbone),
    )
    plan = dag.expand(spec, data_root, isolated_outputs / "results")
    # per method: xnli zero-shot 1 training per seed (both languages), flores 1 per language
    assert len(plan.runs) == 4 * (2 + 4) and not plan.done
    # adversarial only adds a loss: no stage; mlm and full adapt: one stage job each, shared
    assert sorted(s.method for s in plan.stages) == ["full", "mlm"]
    mlm_stage = next(s for s in plan.stages if s.method == "mlm")
    mlm_runs = [j for j in plan.runs if j.method == "mlm"]
    assert all(plan.needs[j] == mlm_stage for j in mlm_runs)
    assert mlm_stage.adapt_to == ("swa", "hau") and mlm_stage.stage_only
    assert all(j not in plan.needs for j in plan.runs if j.method in ("baseline", "adversarial"))
    assert dag.Job.from_json(mlm_runs[0].to_json()) == mlm_runs[0]
    # run locally, records land soonest: stage-free runs, then each stage and its own runs
    order = sweep.depth_first(plan)
    assert sorted(order, key=id) == sorted([*plan.stages, *plan.runs], key=id)
    assert {j.method for j in order[:12]} == {"baseline", "adversarial"}
    assert order[12] == plan.stages[0]
    for i, job in enumerate(order):
        if job in plan.needs:  # after its own stage, and before the next stage
            stage = order.index(plan.needs[job])
            assert stage < i and not any(j.stage_only for j in order[stage + 1 : i])


def test_stage_jobs_built_by_an_earlier_sweep_are_shown_cached(
    tiny_backbone, data_root, isolated_outputs
):
    spec = dag.Spec(methods=["mlm", "full"], langs="sw", tasks="xnli", backbone=str(tiny_backbone))
    plan = dag.expand(spec, data_root, isolated_outputs / "results")
    lines: list[str] = []
    sweep.show(plan, isolated_outputs / "results", lines.append, cache=isolated_outputs / "cache")
    assert sum("to build" in line for line in lines[0].splitlines()) == 2
    mlm = next(s for s in plan.stages if s.method == "mlm")
    marker = jobs.stage_marker(isolated_outputs / "cache", mlm)
    marker.parent.mkdir(parents=True)
    marker.write_text(json.dumps({"label": mlm.label, "built_at": 0.0, "wall_s": 1.0}))
    assert list(jobs.built_stages(plan, isolated_outputs / "cache")) == [mlm]
    lines.clear()
    sweep.show(plan, isolated_outputs / "results", lines.append, cache=isolated_outputs / "cache")
    table = lines[0].splitlines()
    assert any(line.startswith("stages of mlm") and "cached (built 1970" in line for line in table)
    assert any(line.startswith("stages of full") and "to build" in line for line in table)


def _cost_record(results: Path, method: str, task: str, lang: str, seed: int, **extra) -> None:
    from bench.runs.records import record_path, write_atomic

    config = {
        "backbone": "tiny",
        "method": method,
        "task": task,
        "setting": extra.pop("setting", "zero-shot"),
        "seed": seed,
        "lang": lang,
        "selection": extra.pop("selection", "source-dev"),
        **({"methods": extra.pop("methods")} if "methods" in extra else {}),
    }
    record = {
        "config": config,
        "training": {
            "wall_s": extra.pop("train_s", 600.0),
            "tokens": 1000,
            "shared_by": extra.pop("shared", [lang]),
            **({"peak_rss_mb": extra.pop("rss")} if "rss" in extra else {}),
        },
        "test_wall_s": extra.pop("test_s", 60.0),
        "environment": {"hardware": {"gpu": None, "cpu": extra.pop("cpu", "Intel")}},
        "method_reports": extra.pop("reports", {}),
    }
    write_atomic(record_path(results, config), json.dumps(record).encode())


def test_cost_of_a_grid_counts_each_training_and_stage_once(tmp_path):
    """Two records of one zero-shot training are one training; stages shared by runs once."""
    results = tmp_path / "results"
    bt = {
        "languages": {
            "swa": {"key": "d1", "wall_s": 30.0, "translator": "t1", "translator_wall_s": 240.0}
        }
    }
    reports = {"mlm": {"key": "m1", "wall_s": 120.0}, "backtranslation": bt}
    for seed in (1, 2):
        for lang in ("swa", "hau"):  # one training, tested on two languages
            shared = ["swa", "hau"]
            _cost_record(results, "full", "xnli", lang, seed, shared=shared, reports=reports)
    _cost_record(results, "full", "flores", "swa", 1, setting="in-language", reports=reports)
    _cost_record(results, "baseline", "flores", "yor", 1, setting="in-language")  # not in grid
    seen = cost.trainings(results)
    assert len(seen) == 4 and sum(e["records"] for e in seen.values()) == 6
    # a search: trainings that differ only in a method's settings are trainings of their own
    search = tmp_path / "search"
    for weight in (0.1, 1.0):
        methods = {"adversarial": {"weight": weight}}
        _cost_record(search, "adversarial", "xnli", "swa", 1, methods=methods)
    assert [e["train_s"] + e["test_s"] for e in cost.trainings(search).values()] == [660.0] * 2
    assert [r["trainings"] for r in cost.cost_table(results)] == [1, 3]
    spec = dag.Spec(methods=["full"], langs="sw,ha", backbone="tiny")
    rows = {r["work"]: r for r in cost.grid_cost(spec, results)}
    xnli = rows["xnli zero-shot training"]  # 600 s + 2 records x 60 s each
    assert xnli["count"] == 2 and xnli["minutes each (mean, min-max)"] == "12.0 (12.0-12.0)"
    assert rows["flores in-language training"]["count"] == 1
    assert rows["stage: mlm"]["count"] == 1 and rows["stage: translator"]["hours"] == 0.07
    total = 2 * 720 + 660 + 120 + 30 + 240
    assert rows["total"]["hours"] == round(total / 3600, 2)
    # the same stages rebuilt on another machine: the MLM stage's weights differ, and the
    # translators and their data were built where the record ran; each build cost its time
    rebuilt = {
        "mlm": {"key": "m1", "wall_s": 300.0, "weights_sha256": "other"},
        "backtranslation": bt,
    }
    _cost_record(
        results, "full", "flores", "hau", 1, setting="in-language", reports=rebuilt, cpu="AMD"
    )
    rows = {r["work"]: r for r in cost.grid_cost(spec, results)}
    assert rows["stage: mlm"]["count"] == 2 and rows["stage: translator"]["count"] == 2
    total += 660 + 300 + 30 + 240
    assert rows["total"]["hours"] == round(total / 3600, 2)
    # a new machine of the same kind, its stage cache lost: the translator is built again, and
    # the record says so with that build's own seconds; a record without seconds adds nothing
    again = {"languages": {"swa": {**bt["languages"]["swa"], "translator_wall_s": 500.0}}}
    unmeasured = {"languages": {"swa": {"key": "d1", "translator": "t1"}}}
    for seed, report in ((2, again), (3, unmeasured)):
        reports = {"backtranslation": report}
        _cost_record(
            results,
            "full",
            "flores",
            "swa",
            seed,
            setting="in-language",
            cpu="AMD",
            reports=reports,
        )
    spec = dag.Spec(methods=["full"], langs="sw,ha,yo", backbone="tiny")
    rows = {r["work"]: r for r in cost.grid_cost(spec, results)}
    assert rows["stage: translator"]["count"] == 3
    assert rows["stage: backtranslation data"]["count"] == 2
    assert rows["total"]["hours"] == round((total + 2 * 660 + 500) / 3600, 2)


def test_the_estimate_goes_by_the_jobs_backbone(tmp_path):
    """A backbone's first runs are not priced at another backbone's minutes."""
    results = tmp_path / "results"
    _cost_record(results, "baseline", "xnli", "swa", 1)  # backbone "tiny": 600 s + 60 s
    job = dag.Job("baseline", "xnli", "zero-shot", 2, "eng", ("swa",), ("source-dev",), ())
    assert cost.estimate(dag.Plan(runs=[replace(job, backbone="tiny")]), results) == (660.0, 0, 0)
    assert cost.estimate(dag.Plan(runs=[replace(job, backbone="big")]), results) == (0.0, 1, 0)
    assert cost.estimate(dag.Plan(runs=[job]), results) == (660.0, 0, 0)  # the default: any


def test_a_setting_not_run_yet_is_priced_at_the_same_methods_other_setting(tmp_path):
    """+adversarial in-language costs what +adversarial zero-shot did, not what a plain
    in-language training did (the method's unlabelled batches are most of its cost)."""
    results = tmp_path / "results"
    _cost_record(results, "adversarial", "masakhaner", "swa", 1)  # zero-shot: 600 s + 60 s
    _cost_record(results, "baseline", "masakhaner", "swa", 1, setting="in-language")
    job = dag.Job(
        "adversarial", "masakhaner", "in-language", 2, "swa", ("swa",), ("target-dev",), ()
    )
    job = replace(job, backbone="tiny")
    assert cost.estimate(dag.Plan(runs=[job]), results) == (660.0, 0, 1)
    other = replace(job, method="mlm")  # no mlm anywhere: the in-language baseline's cost
    assert cost.estimate(dag.Plan(runs=[other]), results) == (660.0, 0, 0)
    assert cost.estimate(dag.Plan(runs=[replace(job, task="xnli")]), results) == (0.0, 1, 0)
    _cost_record(results, "full", "xnli", "swa", 1)  # a leave-one-out row costs at most full's
    loo = replace(job, method="full-no-mlm", task="xnli", setting="zero-shot")
    assert cost.estimate(dag.Plan(runs=[loo]), results) == (660.0, 0, 1)


def test_a_borrowed_price_is_scaled_by_what_the_setting_costs(tmp_path):
    """The baseline's in-language training took 3x its zero-shot one: +MLM in-language, not
    run yet, is priced at 3x +MLM's zero-shot, not at its zero-shot cost."""
    results = tmp_path / "results"
    _cost_record(results, "baseline", "masakhaner", "swa", 1, train_s=100.0, test_s=20.0)
    in_language = {"setting": "in-language", "selection": "target-dev"}
    _cost_record(results, "baseline", "masakhaner", "swa", 1, train_s=340, test_s=20, **in_language)
    _cost_record(results, "mlm", "masakhaner", "swa", 1, train_s=200.0, test_s=40.0)
    job = dag.Job("mlm", "masakhaner", "in-language", 2, "swa", ("swa",), ("target-dev",), ())
    job = replace(job, backbone="tiny")
    assert cost.estimate(dag.Plan(runs=[job]), results) == (720.0, 0, 1)
    # +adversarial's own ratio (its overhead differs by setting) does not set +MLM's price
    _cost_record(results, "adversarial", "masakhaner", "swa", 1, train_s=1000.0, test_s=40.0)
    _cost_record(results, "adversarial", "masakhaner", "swa", 1, train_s=480, **in_language)
    assert cost.estimate(dag.Plan(runs=[job]), results) == (720.0, 0, 1)
    no_baseline = tmp_path / "no-baseline"  # no baseline pair: the median of the methods' ratios
    _cost_record(no_baseline, "mlm", "masakhaner", "swa", 1, train_s=200.0, test_s=40.0)
    _cost_record(no_baseline, "adversarial", "masakhaner", "swa", 1, train_s=1000.0, test_s=40.0)
    in_language_cost = {"train_s": 480.0, "test_s": 40.0, **in_language}
    _cost_record(no_baseline, "adversarial", "masakhaner", "swa", 1, **in_language_cost)
    assert cost.estimate(dag.Plan(runs=[job]), no_baseline) == (120.0, 0, 1)  # 240 x 520/1040
    no_pair = tmp_path / "alone"  # no method measured in both settings: the other one's cost
    _cost_record(no_pair, "mlm", "masakhaner", "swa", 1, train_s=200.0, test_s=40.0)
    assert cost.estimate(dag.Plan(runs=[job]), no_pair) == (240.0, 0, 1)


def test_a_grids_cost_shows_peak_memory_where_records_have_it(tmp_path):
    results = tmp_path / "results"
    spec = dag.Spec(methods=["baseline"], langs="sw,ha", backbone="tiny")
    _cost_record(results, "baseline", "xnli", "swa", 1)  # an older record: no memory
    assert "peak RSS GB (max)" not in cost.grid_cost(spec, results)[0]
    _cost_record(results, "baseline", "xnli", "hau", 2, rss=3000)
    _cost_record(results, "baseline", "xnli", "hau", 3, rss=5120)
    (row, total) = cost.grid_cost(spec, results)
    assert row["count"] == 3 and row["peak RSS GB (max)"] == "5.0"
    assert total["peak RSS GB (max)"] == ""


def test_spec_file_errors_are_clear(tmp_path):
    bad = tmp_path / "grid.toml"
    bad.write_text('methods = ["baseline"]\nseedz = [1, 2]\n')
    with pytest.raises(BenchError, match="unknown field.*seedz"):
        dag.load_spec(bad)
    bad.write_text('langs = "sw"\n')
    with pytest.raises(BenchError, match="'methods' is required"):
        dag.load_spec(bad)
    bad.write_text('methods = ["baseline"]\nseeds = [1, 2]\nlangs = ["sw"]\n')
    assert dag.load_spec(bad).seeds == "1,2"


def test_command_line_options_narrow_a_spec(capsys, tmp_path, tiny_backbone, data_root):
    """`--spec grid.toml --tasks xnli --methods baseline` plans that part of the grid only."""
    spec_file = tmp_path / "grid.toml"
    spec_file.write_text(
        f'methods = ["baseline", "mlm"]\nbackbone = "{tiny_backbone}"\nlangs = ["sw"]\n'
        'tasks = ["xnli", "flores"]\nseeds = [1, 2]\n'
    )
    base = ["sweep", "--spec", str(spec_file), "--dry-run", "--data-root", str(data_root)]
    code, whole, _ = run(capsys, *base)
    assert code == 0 and "mlm flores" in whole and "seed 2" in whole
    code, part, _ = run(capsys, *base, "--tasks", "xnli", "--methods", "baseline", "--seeds", "1")
    jobs = [line for line in part.splitlines() if " seed " in line]
    assert code == 0 and jobs and all(j.startswith("baseline xnli") for j in jobs)
    assert all("seed 1" in j for j in jobs)


def test_a_search_tries_every_combination_once_and_writes_apart(
    capsys, tmp_path, tiny_backbone, data_root, isolated_outputs, monkeypatch
):
    """``[search]``: each combination of a method's values is a job; a method the values do not
    concern runs once; ``results`` sends the records to their own folder."""
    spec_file = tmp_path / "search.toml"
    spec_file.write_text(
        f'methods = ["baseline", "mlm"]\nbackbone = "{tiny_backbone}"\nlangs = ["sw"]\n'
        'tasks = ["xnli"]\nseeds = [1]\nsettings = ["zero-shot"]\nresults = "x/search"\n'
        '[search]\n"mlm.steps" = [5, 10]\n"mlm.lr" = [1e-4, 3e-4]\n'
    )
    spec = dag.load_spec(spec_file)
    items = sorted(r.items for r in dag.requests(spec))
    assert len(items) == 5 and () in items  # the baseline once, mlm 2 x 2
    assert ("mlm.lr=0.0003", "mlm.steps=10") in items
    monkeypatch.setattr("bench.core.paths.REPO", tmp_path)
    code, out, _ = run(
        capsys, "sweep", "--spec", str(spec_file), "--dry-run", "--data-root", str(data_root)
    )
    assert code == 0 and "mlm xnli zero-shot swa seed 1 [mlm.lr=0.0001 mlm.steps=5]" in out
    assert os.environ["BENCH_RESULTS"] == str(tmp_path / "x/search")
    spec_file.write_text('methods = ["mlm"]\n[search]\n"mlm.steps" = []\n')
    with pytest.raises(BenchError, match="must be a non-empty list"):
        dag.load_spec(spec_file)
    # skip: a combination holding every item of an entry is left out
    search = '[search]\n"mlm.steps" = [5, 10]\n"mlm.lr" = [1e-4, 3e-4]\n'
    spec_file.write_text('methods = ["mlm"]\nskip = [["mlm.steps=10", "mlm.lr=0.0003"]]\n' + search)
    items = sorted(r.items for r in dag.requests(dag.load_spec(spec_file)))
    assert len(items) == 3 and ("mlm.lr=0.0003", "mlm.steps=10") not in items
    spec_file.write_text('methods = ["mlm"]\nskip = [["mlm.steps=7"]]\n' + search)
    with pytest.raises(BenchError, match=r"names no searched value \(mlm.steps=7\)"):
        dag.load_spec(spec_file)


@pytest.mark.integration
def test_a_failing_job_is_recorded_and_the_others_finish(
    capsys, tiny_backbone, data_root, isolated_outputs
):
    """The MLM stage diverges (absurd learning rate): its jobs fail with the NaN named, the
    baseline's records are still written, and the sweep exits non-zero."""
    overrides = ["--set", "mlm.steps=30", "--set", "mlm.lr=1e6"]
    code, out, _ = run(
        capsys, *grid(tiny_backbone, data_root, *TINY, *overrides, methods="baseline,mlm")
    )
    assert code == 1, out
    assert "FAILED" in out and "loss became nan" in out.lower()
    assert [r.parts[-3] for r in records(isolated_outputs)] == ["baseline"]
    failures = list((isolated_outputs / "results" / "failed").glob("*.json"))
    assert failures and all("became nan" in json.loads(f.read_text())["cause"] for f in failures)


def test_kept_weights_reach_the_sweeps_workers(
    capsys, monkeypatch, tiny_backbone, data_root, isolated_outputs
):
    """`bench sweep --keep-weights DIR` (relative here): each worker keeps its training's
    weights in DIR/<run id>/ as `bench run --keep-weights` does; without it no job's JSON (its
    failure record's name) changes."""
    from bench.runs.records import run_id

    monkeypatch.chdir(isolated_outputs)
    code, out, _ = run(capsys, *grid(tiny_backbone, data_root, *TINY, "--keep-weights", "kept"))
    assert code == 0, out
    (folder,) = (isolated_outputs / "kept").iterdir()
    about = json.loads((folder / "training.json").read_text())
    assert folder.name == run_id(about["config"])[:16]
    assert [Path(r) for r in about["records"]] == records(isolated_outputs)
    assert (folder / "best-source-dev.pt").is_file()
    job = dag.Job("baseline", "xnli", "zero-shot", 1, "eng", ("swa",), ("source-dev",), ())
    assert "keep_weights" not in job.to_json()
    kept = replace(job, keep_weights="/k")
    assert dag.Job.from_json(kept.to_json()) == kept and jobs.failure_path(Path(), kept) != (
        jobs.failure_path(Path(), job)
    )


@pytest.mark.integration
def test_a_restarted_sweep_skips_stage_jobs_it_built(
    capsys, tiny_backbone, data_root, isolated_outputs
):
    mlm = [*TINY, "--set", "mlm.steps=5"]
    code, out, _ = run(capsys, *grid(tiny_backbone, data_root, *mlm, methods="mlm"))
    assert code == 0 and "done   stages of mlm" in out, out
    assert list((isolated_outputs / "cache" / "sweep-stages").glob("*.json"))
    code, out, _ = run(capsys, *grid(tiny_backbone, data_root, *mlm, methods="mlm", seeds="1,2"))
    assert code == 0 and "cached stages of mlm" in out and "start  stages" not in out, out
    assert len(records(isolated_outputs)) == 2


def _sweep_cmd(backbone: Path, root: Path, *extra: str, seeds="1,2,3") -> list[str]:
    return [sys.executable, "-m", "bench", *grid(backbone, root, *extra, seeds=seeds)]


@pytest.mark.integration
def test_two_sweeps_at_once_never_run_a_job_twice(tiny_backbone, data_root, isolated_outputs):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = _sweep_cmd(tiny_backbone, data_root, *TINY)
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert len(records(isolated_outputs)) == 3
    logs = list((isolated_outputs / "cache" / "sweep-logs").glob("*.log"))
    trained = [log for log in logs if "fine-tuning" in log.read_text()]
    labels = sorted(log.name.rsplit("-", 1)[0] for log in trained)
    assert len(labels) == len(set(labels)) == 3, labels  # each job trained by one sweep only


@pytest.mark.integration
def test_submitit_local_executor_runs_a_grid(capsys, tiny_backbone, data_root, isolated_outputs):
    args = grid(tiny_backbone, data_root, "--executor", "submitit-local", *TINY, seeds="1,2")
    code, out, _ = run(capsys, *args)
    assert code == 0, out
    assert "submitted 2 runs" in out and len(records(isolated_outputs)) == 2


@pytest.mark.integration
def test_sigkilled_sweeps_resume_to_identical_records(tiny_backbone, data_root, tmp_path):
    """A sweep killed (SIGKILL, whole process group) at random moments (start-up, training,
    checkpointing, testing, writing), restarted each time, ends with the same metrics and
    predictions as an uninterrupted sweep."""
    budget = ["--set", "max_steps=60", "--set", "checkpoint_every=5", "--set", "evals=2"]
    cmd = _sweep_cmd(tiny_backbone, data_root, *budget, seeds="1")

    def env_for(name: str) -> dict[str, str]:
        return dict(
            os.environ,
            OMP_NUM_THREADS="1",
            BENCH_RESULTS=str(tmp_path / name / "results"),
            BENCH_CACHE=str(tmp_path / name / "cache"),
            HF_HUB_OFFLINE="1",
        )

    subprocess.run(cmd, env=env_for("clean"), check=True, capture_output=True)
    (reference,) = records(tmp_path / "clean")
    rng = random.Random(0)
    for trial in range(2):
        env, kills = env_for(f"killed{trial}"), 0
        while True:
            proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
            try:  # killed at a random moment, up to 4 times; then left to finish
                proc.wait(timeout=rng.uniform(3, 25) if kills < 4 else 900)
                break
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                kills += 1
                leftovers = list((tmp_path / f"killed{trial}").rglob("*.tmp"))
                assert not [p for p in leftovers if p.suffix == ".json"]
                time.sleep(0.2)
        assert proc.returncode == 0 and kills >= 1
        (resumed,) = records(tmp_path / f"killed{trial}")
        a, b = json.loads(reference.read_text()), json.loads(resumed.read_text())
        assert resumed.name == reference.name
        assert a["metrics"] == b["metrics"]
        assert a["predictions"]["sha256"] == b["predictions"]["sha256"]


@pytest.mark.integration
@pytest.mark.parametrize("launcher", ["torchrun", "deepspeed"])
def test_a_job_can_span_two_cpu_ranks(
    capsys, tiny_backbone, data_root, isolated_outputs, monkeypatch, launcher
):
    """--ranks-per-run 2: torchrun or the DeepSpeed launcher starts two gloo ranks for the
    training; one record, made by rank 0."""
    monkeypatch.setenv("DS_ACCELERATOR", "cpu")
    ranks = ["--ranks-per-run", "2", "--launcher", launcher]
    code, out, _ = run(capsys, *grid(tiny_backbone, data_root, *ranks, *TINY))
    assert code == 0, out
    (record,) = records(isolated_outputs)
    rec = json.loads(record.read_text())
    assert rec["config"]["world_size"] == 2 and rec["training"]["steps"] == 4


def test_slurm_options_become_sbatch_parameters():
    from bench.runs.slurm import SlurmOptions, parse_slurm_args

    extra = parse_slurm_args(["constraint=a100", "--mail-type=END"])
    opts = SlurmOptions(
        partition="gpu", account="lab", qos="high", timeout_min=90, cpus_per_run=16,
        gpus_per_run=4, mem_gb_per_run=64, array_parallelism=8, extra=extra,
    )  # fmt: skip
    run_params = opts.parameters(local.Launch(ranks=4))
    assert run_params["ntasks_per_node"] == 4 and run_params["cpus_per_task"] == 4
    assert run_params["gpus_per_node"] == 4 and run_params["mem"] == "65536M"
    assert run_params["additional_parameters"] == {"constraint": "a100", "mail_type": "END"}
    assert (run_params["partition"], run_params["account"], run_params["qos"]) == (
        "gpu", "lab", "high",
    )  # fmt: skip
    stage = opts.parameters(local.Launch(ranks=4), stage=True)
    assert stage["ntasks_per_node"] == 1 and stage["cpus_per_task"] == 16
    assert stage["gpus_per_node"] == 1
    assert "gpus_per_node" not in SlurmOptions().parameters(local.Launch(ranks=2))  # CPU ranks


def test_slurm_dry_run_prints_the_sbatch_lines(capsys, tiny_backbone, data_root, isolated_outputs):
    args = grid(
        tiny_backbone, data_root, "--executor", "slurm", "--dry-run", methods="baseline,mlm"
    )
    extra = ["--partition", "cpu", "--array-parallelism", "3", "--slurm-arg", "constraint=avx512"]
    code, out, _ = run(capsys, *args, *extra)
    assert code == 0, out
    part = out.split("sbatch parameters:")[1]
    assert "stage jobs (1, one each):" in part and "#SBATCH --partition=cpu" in part
    assert "runs (a job array of 1):" in part and "#SBATCH --constraint=avx512" in part
    assert "#SBATCH --dependency='afterok:<job id of stages of mlm (swa)>'" in part
    assert "#SBATCH --kill-on-invalid-dep=yes" in part and "#SBATCH --array=0-0%1" in part


def test_bad_slurm_arguments_are_clear(capsys, tiny_backbone, data_root, isolated_outputs):
    args = grid(tiny_backbone, data_root, "--executor", "slurm", "--dry-run")
    code, _, err = run(capsys, *args, "--slurm-arg", "constraint")
    assert code != 0 and "--slurm-arg 'constraint' is not key=value" in err
