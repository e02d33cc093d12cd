"""`bench sweep --executor slurm` against a running Slurm (``scripts/slurm-local up``): real
sbatch, job arrays with dependencies, sacct, scancel and srun-launched ranks, through submitit.
Skipped where no cluster answers; CI starts one (``.ci/run``) and runs ``pytest -m slurm``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import make_tiny_backbone
from tests.test_sweep import TINY, grid, records, run

pytestmark = pytest.mark.slurm
LOCAL_CONF = Path(os.environ.get("SLURM_LOCAL_DIR", "/tmp/slurm-local")) / "slurm.conf"


@pytest.fixture(scope="module")
def slurm() -> dict[str, str]:
    """The environment of a cluster that answers (SLURM_CONF, or scripts/slurm-local's)."""
    env = dict(os.environ)
    if "SLURM_CONF" not in env and LOCAL_CONF.is_file():
        env["SLURM_CONF"] = str(LOCAL_CONF)
    if shutil.which("sinfo") is None:
        pytest.skip("no Slurm here: scripts/slurm-local up starts a local cluster")
    probe = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True)
    if probe.returncode != 0 or not probe.stdout.strip():
        pytest.skip(
            f"no Slurm cluster answers ({probe.stderr.strip()[:200]}): scripts/slurm-local up"
        )
    return env


@pytest.fixture
def on_cluster(slurm, monkeypatch, tmp_path):
    """Records and caches in a temporary folder; sbatch passes this environment to the jobs."""
    for key in ("SLURM_CONF",):
        monkeypatch.setenv(key, slurm[key]) if key in slurm else None
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def use(name: str) -> Path:
        monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / name / "results"))
        monkeypatch.setenv("BENCH_CACHE", str(tmp_path / name / "cache"))
        return tmp_path / name

    return use


ON_SLURM = ["--executor", "slurm", "--cpus-per-run", "1", "--timeout-min", "20"]
LOCAL = ["--workers", "2"]  # one thread per job, as on the cluster: the same floating point


def _sacct(job_ids: list[str]) -> dict[str, dict[str, str]]:
    """sacct's rows for these jobs (array tasks included), once none is running any more (a
    job's result file appears a moment before Slurm has it completed)."""
    cmd = ["sacct", "-X", "-P", "-n", "-o", "JobID,State,Start,End"]
    for job_id in job_ids:
        cmd += ["-j", job_id]
    for _ in range(60):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        rows = [line.split("|") for line in out.splitlines() if line]
        jobs = {r[0]: {"state": r[1], "start": r[2], "end": r[3]} for r in rows}
        if all(j["end"] != "Unknown" for j in jobs.values()):
            break
        time.sleep(1)
    return jobs


def _same_records(a: Path, b: Path) -> None:
    ra, rb = records(a), records(b)
    assert [p.name for p in ra] == [p.name for p in rb] and ra  # the same run ids
    for x, y in zip(ra, rb, strict=True):
        x, y = json.loads(x.read_text()), json.loads(y.read_text())
        assert x["metrics"] == y["metrics"]
        assert x["predictions"]["sha256"] == y["predictions"]["sha256"]


def test_a_stage_then_its_runs_as_a_dependent_array_equal_the_local_executor(
    capsys, on_cluster, tiny_backbone, data_root
):
    """mlm needs a stage job (continued MLM); its runs are a job array that Slurm starts only
    after the stage ended (afterok). The records equal those of the local executor."""
    args = grid(tiny_backbone, data_root, *TINY, "--set", "mlm.steps=5", methods="mlm", seeds="1,2")
    local = on_cluster("local")
    code, out, _ = run(capsys, *args, *LOCAL)
    assert code == 0, out
    cluster = on_cluster("slurm")
    code, out, _ = run(capsys, *args, *ON_SLURM)
    assert code == 0, out
    stage = re.search(r"submitted stages of mlm \(swa\) \[[^]]*\]: Slurm job (\d+)", out)
    array = re.search(r"submitted 2 runs: job array (\d+) after stages of mlm", out)
    assert stage and array, out
    stage, array = stage.group(1), array.group(1)
    jobs = _sacct([stage, array])
    assert {j["state"] for j in jobs.values()} == {"COMPLETED"}, jobs
    tasks = [j for job_id, j in jobs.items() if job_id.startswith(f"{array}_")]
    assert len(tasks) == 2
    stage_end = datetime.fromisoformat(jobs[stage]["end"])
    assert all(datetime.fromisoformat(t["start"]) >= stage_end for t in tasks), jobs
    _same_records(local, cluster)


def _checkpoints(folder: Path) -> list[Path]:
    return list(folder.rglob("checkpoint/latest"))


def test_a_run_cancelled_half_way_resumes_from_its_checkpoint(
    capsys, on_cluster, tiny_backbone, data_root
):
    """scancel while training: the sweep reports the run cancelled (failure record with the
    Slurm job); the next sweep resumes it from its checkpoint, to the uncancelled metrics."""
    # ~30 s of training here: scancel (SIGTERM, then SIGKILL after KillWait = 5 s) lands mid-way
    budget = ["--set", "epochs=8", "--set", "max_steps=1000", "--set", "checkpoint_every=25"]
    args = grid(tiny_backbone, data_root, *budget)
    reference = on_cluster("reference")
    code, out, _ = run(capsys, *args, *LOCAL)
    assert code == 0, out
    cancelled = on_cluster("cancelled")
    cmd = [sys.executable, "-m", "bench", *args, *ON_SLURM]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:  # the array's id, then wait for its first checkpoint
        lines.append(line)
        if "job array" in line:
            break
    array = re.search(r"job array (\d+)", "".join(lines)).group(1)
    deadline = time.time() + 300
    while not _checkpoints(cancelled) and time.time() < deadline:
        time.sleep(0.5)
    assert _checkpoints(cancelled), "no checkpoint within 300 s"
    subprocess.run(["scancel", array], check=True)
    rest, _ = proc.communicate(timeout=300)
    out = "".join(lines) + rest
    assert proc.returncode == 1, out
    assert re.search(r"cancelled .*baseline xnli", out) and "CANCELLED" in out, out
    assert not records(cancelled)
    (failure,) = (cancelled / "results" / "failed").glob("*.json")
    assert json.loads(failure.read_text())["slurm"]["job_id"].startswith(array)

    code, out, _ = run(capsys, *args, *ON_SLURM)  # again: resumes, finishes
    assert code == 0 and "pending (failed before)" in out, out
    (record,) = records(cancelled)
    assert json.loads(record.read_text())["training"]["resumed_from"] > 0
    assert not list((cancelled / "results" / "failed").glob("*.json"))
    _same_records(reference, cancelled)


def test_two_ranks_launched_by_srun_equal_one_rank(
    capsys, on_cluster, data_root, tmp_path, monkeypatch
):
    """--ranks-per-run 2: one Slurm job of two tasks (srun), each a gloo rank; with dropout off
    the training equals the one-rank run (the same predictions, the same loss curve)."""
    backbone = make_tiny_backbone(tmp_path / "backbone", dropout=0.0)
    monkeypatch.setenv("DS_ACCELERATOR", "cpu")
    args = grid(backbone, data_root, *TINY)
    out_of = {}
    for ranks in (1, 2):
        folder = on_cluster(f"ranks{ranks}")
        cpus = ["--ranks-per-run", str(ranks), "--cpus-per-run", str(ranks)]
        code, out, _ = run(capsys, *args, *ON_SLURM, *cpus)
        assert code == 0, out
        (record,) = records(folder)
        out_of[ranks] = json.loads(record.read_text())
        logs = list((folder / "cache" / "submitit").glob("*_log.out"))
        assert len(logs) == ranks  # one log per Slurm task: srun started a process per rank
        assert all("Starting with JobEnvironment" in log.read_text() for log in logs)
    one, two = out_of[1], out_of[2]
    assert one["config"]["world_size"] == 1 and two["config"]["world_size"] == 2
    assert one["predictions"]["sha256"] == two["predictions"]["sha256"]
    assert one["metrics"] == two["metrics"]
    curve = [p["loss"] for p in one["training"]["curve"] if "loss" in p]
    assert curve == pytest.approx([p["loss"] for p in two["training"]["curve"] if "loss" in p])


def test_a_failing_stage_is_recorded_with_its_slurm_job_and_blocks_only_its_runs(
    capsys, on_cluster, tiny_backbone, data_root
):
    """The MLM stage diverges (absurd learning rate): its failure record names the Slurm job and
    its log; Slurm cancels the runs that wait on it; the baseline's runs finish."""
    folder = on_cluster("failing")
    bad = ["--set", "mlm.steps=30", "--set", "mlm.lr=1e6"]
    args = grid(tiny_backbone, data_root, *TINY, *bad, methods="baseline,mlm")
    code, out, _ = run(capsys, *args, *ON_SLURM)
    assert code == 1, out
    assert [r.parts[-3] for r in records(folder)] == ["baseline"]
    failures = [json.loads(f.read_text()) for f in (folder / "results" / "failed").glob("*.json")]
    stage = [f for f in failures if f["job"]["stage_only"]]
    assert len(stage) == 1 and "became nan" in stage[0]["cause"].lower()
    assert stage[0]["slurm"]["job_id"] and Path(stage[0]["slurm"]["log"]).is_file()
    runs = [f for f in failures if not f["job"]["stage_only"]]
    assert runs and all("its stage job failed" in f["cause"] for f in runs)
    assert "Slurm job" in out and "log:" in out
