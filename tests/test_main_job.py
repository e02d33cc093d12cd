"""The README's main command through the installed console script (integration tier)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.integration
def test_readme_main_command_plans_every_task_on_the_offline_default(data_root):
    """`bench run --method full --langs sw,yo,ha` with no hub: the offline default backbone,
    the four plug-ins in order, one training per task, setting and seed (zero-shot trainings
    shared by the three targets), nothing trained under --dry-run."""
    bench = shutil.which("bench") or str(Path(sys.executable).parent / "bench")
    env = {**os.environ, "BENCH_DATA_ROOT": str(data_root), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [bench, "run", "--method", "full", "--langs", "sw,yo,ha", "--dry-run"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("backbone: me5_small (default: the hub is unreachable")
    assert "method: full (mlm -> alignment -> backtranslation -> adversarial)" in out
    rows = [
        line.split()
        for line in out.splitlines()
        if line.split()[:1] in (["xnli"], ["masakhaner"], ["flores"])
    ]
    assert {(r[0], r[1]) for r in rows} == {
        ("xnli", "zero-shot"),
        ("masakhaner", "zero-shot"),
        ("flores", "in-language"),
    }
    zero_shot = [r for r in rows if r[1] == "zero-shot"]
    assert all(r[2] == "eng" and r[3] == "swa,yor,hau" for r in zero_shot)
    assert len(rows) == 2 * 5 + 3 * 5  # seeds 1-5: two shared zero-shot tasks, flores per language
