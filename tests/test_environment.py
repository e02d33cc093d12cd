"""The pinned environment is the one installed, and all ten real dependencies import."""

import importlib
from importlib.metadata import version
from pathlib import Path

import pytest

CONSTRAINTS = Path(__file__).resolve().parents[1] / "requirements" / "constraints.txt"
# distribution -> module: the ten dependencies the suite is built on
REQUIRED = {
    "torch": "torch",
    "transformers": "transformers",
    "datasets": "datasets",
    "sacrebleu": "sacrebleu",
    "unbabel-comet": "comet",
    "seqeval": "seqeval",
    "pandas": "pandas",
    "tabulate": "tabulate",
    "typer": "typer",
    "deepspeed": "deepspeed",
}


def _pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, pinned = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = pinned.strip()
    return pins


@pytest.mark.parametrize("dist", REQUIRED)
def test_dependency_is_pinned_installed_and_imports(dist):
    pinned = _pins()[dist]
    assert version(dist).split("+")[0] == pinned, (
        f"{dist} {version(dist)} is not the pinned {pinned}"
    )
    importlib.import_module(REQUIRED[dist])


def test_runtime_facts_behind_the_pins():
    import numpy
    import pyarrow
    import torch

    assert numpy.__version__.startswith("1.")  # unbabel-comet pins numpy<2
    assert int(pyarrow.__version__.split(".")[0]) < 21  # numpy<2 needs pyarrow<21 at run time
    assert torch.__version__.endswith("+cpu") or torch.cuda.is_available()
