"""The analysis scripts behind README findings: their measuring parts on inputs with a known
answer (the scripts themselves need me5_small and a kept training)."""

from __future__ import annotations

import importlib.util

import torch

from bench.core.paths import REPO


def script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_discriminator_probe_learns_what_can_be_learned_and_nothing_else():
    probe = script("discriminator_probe").probe
    gen = torch.Generator().manual_seed(0)
    centres = 3 * torch.randn(4, 16, generator=gen)  # four well-separated "languages"
    separable = {i: centres[i] + torch.randn(200, 16, generator=gen) for i in range(4)}
    test_x = torch.cat([centres[i] + torch.randn(50, 16, generator=gen) for i in range(4)])
    test_y = torch.arange(4).repeat_interleave(50)
    learned = probe(separable, (test_x, test_y), lr=1e-2, steps=100, report=[100])
    assert learned[100] > 0.9
    same = {i: torch.randn(200, 16, generator=gen) for i in range(4)}  # one distribution
    chance = probe(same, (torch.randn(200, 16, generator=gen), test_y), 1e-2, 100, [100])
    assert chance[100] < 0.4  # 4 classes: chance is 25%
    slow = probe(separable, (test_x, test_y), lr=1e-6, steps=100, report=[100])
    assert slow[100] < learned[100]  # the learning rate is the probe's question


def test_the_embedding_reset_puts_back_exactly_the_rows_asked_for():
    reset_rows = script("embedding_reset_check").reset_rows
    pretrained = torch.arange(10, dtype=torch.float).unsqueeze(1).repeat(1, 3)  # row p = p
    rows = torch.tensor([7, 2, 5, 9])  # the compact vocabulary: row i holds piece rows[i]
    read = {2, 9}  # the pieces the English task reads
    for mode, expected in [
        ("trained", [-1, -1, -1, -1]),
        ("reset-untrained-rows", [7, -1, 5, -1]),
        ("reset-all-rows", [7, 2, 5, 9]),
    ]:
        weight = torch.full((4, 3), -1.0)  # "trained" values, unlike every pretrained row
        assert reset_rows(weight, rows, pretrained, read, mode) == sum(e >= 0 for e in expected)
        assert weight[:, 0].tolist() == expected and (weight == weight[:, :1]).all()


def test_the_retrieval_check_tells_an_offset_per_language_from_lost_information():
    scores = script("retrieval_check").scores
    gen = torch.Generator().manual_seed(0)
    meaning = torch.randn(100, 16, generator=gen)  # what a line and its translation share
    en = meaning + 0.1 * torch.randn(100, 16, generator=gen)
    xx = meaning + 0.1 * torch.randn(100, 16, generator=gen)
    clean = scores(xx, en)
    assert clean["retrieval_raw"] > 95 and clean["retrieval_centred"] > 95
    assert abs(clean["mean_cosine_unrelated"]) < 0.2
    own = [10 * torch.randn(1, 16, generator=gen) for _ in range(2)]  # a shift per language
    shifted = scores(xx + own[0], en + own[1])
    assert shifted["retrieval_raw"] < 20 < 95 < shifted["retrieval_centred"]
    shared = scores(xx + own[0], en + own[0])  # one direction in every vector: anisotropy
    assert shared["mean_cosine_unrelated"] > 0.9 and shared["retrieval_raw"] > 95
    lost = scores(torch.randn(100, 16, generator=gen), en)  # the translations carry nothing
    assert lost["retrieval_centred"] < 10


def test_the_mkl_shim_puts_mkl_on_a_non_generic_path(tmp_path):
    """cpu_numerics' `mkl-intel-path` variant: under the shim MKL reports a vectorised path
    (> 0) on any x86-64 CPU with AVX2; without it, a non-Intel CPU reports 0 (generic)."""
    import os
    import platform
    import subprocess
    import sys

    import pytest

    numerics = script("cpu_numerics")
    shim = numerics.build_shim(tmp_path)
    if shim is None or platform.machine() != "x86_64":
        pytest.skip("needs a C compiler on x86-64")
    probe = [
        sys.executable,
        "-c",
        "import sys; sys.path.insert(0, "
        f"{str(REPO / 'scripts')!r}); import cpu_numerics; print(cpu_numerics.mkl_path())",
    ]
    default = int(subprocess.run(probe, capture_output=True, text=True, check=True).stdout)
    env = dict(os.environ, LD_PRELOAD=str(shim))
    shimmed = int(subprocess.run(probe, env=env, capture_output=True, text=True, check=True).stdout)
    assert shimmed > 0 and shimmed >= default
