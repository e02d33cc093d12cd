"""A run's training recipe: the trainer's defaults, then the backbone spec's recipe for the task,
then ``--set`` overrides, checked and cast to `TrainConfig`'s types.

Exercise: ``bench backbone list`` (the recipes), ``bench run --set lr=3e-5 --dry-run``.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from bench.core.errors import BenchError
from bench.data.task import Task
from bench.train.backbone import Backbone
from bench.train.trainer import TrainConfig


def train_config(
    backbone: Backbone, task: Task, seed: int, overrides: dict[str, str]
) -> tuple[TrainConfig, int]:
    """Defaults -> backbone recipe -> --set overrides; returns (TrainConfig, max_length)."""
    values: dict[str, Any] = {**backbone.recipe(task.name), **overrides}
    max_length = int(values.pop("max_length", 128))
    max_length = min(max_length, backbone.max_length or max_length)
    known = {f.name: f.type for f in fields(TrainConfig)}
    cfg = TrainConfig(seed=seed)
    for key, raw in values.items():
        if key not in known:
            raise BenchError(
                f"unknown setting --set {key}",
                hint=f"known: max_length, {', '.join(sorted(known))}",
            )
        default = getattr(cfg, key)
        cast = type(default) if default is not None else int
        try:
            cfg = replace(cfg, **{key: cast(raw)})
        except ValueError:
            raise BenchError(f"--set {key}={raw}: expected a {cast.__name__}") from None
    return cfg, max_length
