"""The README's main command through the installed console script (integration tier)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.integration
def test_readme_main_command(data_root):
    bench = shutil.which("bench") or str(Path(sys.executable).parent / "bench")
    env = {**os.environ, "BENCH_DATA_ROOT": str(data_root)}
    proc = subprocess.run(
        [bench, "run", "--method", "full", "--langs", "sw,yo,ha"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    # Training has not landed (issue #3): the command must say so and not pretend success.
    assert proc.returncode == 3, proc.stderr
    assert "Nothing was trained" in proc.stderr
    rows = [
        line
        for line in proc.stdout.splitlines()
        if line.split()[:1] in (["xnli"], ["masakhaner"], ["flores"])
    ]
    # xnli 2 English + 3x2 target; masakhaner the same; flores 3x4 (train, dev, test, NTREX).
    assert len(rows) == 8 + 8 + 12
    assert sum(" MT" in row for row in rows) == 4
