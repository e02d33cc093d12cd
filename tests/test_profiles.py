"""Recipe profiles (`me5_small:ablation`): named variants of a backbone's recipes, recorded in
the runs they make, so runs under other recipes never share their run ids or table rows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.core.errors import BenchError
from bench.data.source import data_root as resolve_root
from bench.runs.plan import groups_for
from bench.runs.request import resolve
from bench.runs.runner import pending
from bench.train.backbone import _parse, backbones

SPEC = """
name = "b"
title = "t"
architecture = "bert"
hub_id = "org/b"
[recipes.xnli]
lr = 1e-4
epochs = 4
[profiles.short]
about = "fewer epochs"
[profiles.short.xnli]
epochs = 1
"""


def test_a_profile_changes_only_its_keys(tmp_path):
    path = tmp_path / "b.toml"
    path.write_text(SPEC)
    base = _parse(path)
    short = base.with_profile("short")
    assert short.recipe("xnli") == {"lr": 1e-4, "epochs": 1} and short.label == "b:short"
    assert base.recipe("xnli") == {"lr": 1e-4, "epochs": 4} and base.label == "b"
    with pytest.raises(BenchError, match="no recipe profile 'shrt' \\(did you mean 'short'"):
        base.with_profile("shrt")
    path.write_text(SPEC + "[profiles.short.flores]\nepochs = 1\n")
    with pytest.raises(BenchError, match=r"b.toml: \[profiles.short.flores\] changes a recipe"):
        _parse(path)


def test_every_profile_of_a_shipped_backbone_resolves():
    for spec in backbones():
        for name in spec.profiles:
            chosen = spec.with_profile(name)
            assert set(chosen.recipes) == set(spec.recipes)


def test_a_profile_is_recorded_and_gives_other_run_ids(tiny_backbone, data_root, isolated_outputs):
    request = resolve(backbone=str(tiny_backbone), tasks="xnli", langs="sw", seeds="1")
    group = groups_for(request, resolve_root(str(data_root)))[0][0]
    plain = pending(group, request, data_root, isolated_outputs)[0]
    profiled = replace(
        request.backbone,
        profile="short",
        recipes={
            **request.backbone.recipes,
            "xnli": {**request.backbone.recipes["xnli"], "epochs": 1},
        },
    )
    short = pending(group, replace(request, backbone=profiled), data_root, isolated_outputs)[0]
    assert plain.keys() == short.keys()
    for key in plain:
        (c0, p0), (c1, p1) = plain[key], short[key]
        assert "profile" not in c0 and c1["profile"] == "short" and c1["train"]["epochs"] == 1
        assert p0 != p1  # another run id: never taken for the plain recipe's record
