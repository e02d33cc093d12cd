"""Repository hygiene: valid citation metadata, no copies of the licensed data mirror."""

import hashlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_citation_cff_is_valid():
    cffconvert = Path(sys.executable).parent / "cffconvert"
    proc = subprocess.run(
        [str(cffconvert), "--validate", "-i", str(REPO / "CITATION.cff")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_file_of_the_data_mirror_is_committed(data_root):
    mirror = {line.split()[0] for line in (data_root / "SHA256SUMS").read_text().splitlines()}
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout
    for name in filter(None, tracked.decode().split("\0")):
        path = REPO / name
        if path.is_file():
            assert hashlib.sha256(path.read_bytes()).hexdigest() not in mirror, (
                f"{name} copies ../shared/data"
            )


def test_layout_asked_for():
    for name in (
        "pyproject.toml",
        "bench",
        "baselines",
        "methods",
        "leaderboards",
        "results",
        "tests",
        "CITATION.cff",
        "README.md",
        "CONTRIBUTING.md",
        ".ci/run",
    ):
        assert (REPO / name).exists(), name
