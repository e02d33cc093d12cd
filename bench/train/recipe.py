"""A run's training recipe: the trainer's defaults, then the backbone spec's recipe for the task,
then ``--set`` overrides, checked and cast to `TrainConfig`'s types. A few recipe keys shape the
model or its evaluation rather than its optimisation (`MODEL_OPTIONS`: a translation decoder's depth,
its beam width, the precision of dev and test predictions): they go into the run's config as
``model`` (only when set, so other run ids stay as they were) and to the task kind's ``build``
(`EVAL_OPTIONS` to the evaluation instead).

Exercise: ``bench backbone list`` (the recipes), ``bench run --set lr=3e-5 --dry-run``.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from bench.core.errors import BenchError
from bench.data.task import Task
from bench.train.backbone import Backbone
from bench.train.trainer import TrainConfig

# key -> (type, the task kinds it applies to, what it does)
ALL_KINDS = ("sequence-pair-classification", "token-classification", "translation")
MODEL_OPTIONS: dict[str, tuple[type, tuple[str, ...], str]] = {
    "decoder_layers": (int, ("translation",), "decoder depth: the backbone's first N layers"),
    "beams": (int, ("translation",), "beam width of the test translations (1: greedy)"),
    "eval_precision": (str, ALL_KINDS, "dev and test predictions: fp32 (default) or amp-bf16"),
    "dev_rows": (int, ALL_KINDS, "rows of each dev split scored at an evaluation (fixed sample)"),
}
EVAL_OPTIONS = ("eval_precision", "dev_rows")  # read by the evaluation, not by the kind's build()
CHOICES = {"eval_precision": ("fp32", "amp-bf16")}


def model_options(backbone: Backbone, task: Task, overrides: dict[str, str]) -> dict[str, Any]:
    """The recipe's model-shaping keys for `task` (after ``--set``), checked and cast."""
    values: dict[str, Any] = {**backbone.recipe(task.name), **overrides}
    out: dict[str, Any] = {}
    for key, (cast, kinds, what) in MODEL_OPTIONS.items():
        if key not in values:
            continue
        if task.kind not in kinds:
            raise BenchError(
                f"{key} ({what}) does not apply to task {task.name} ({task.kind})",
                hint=f"it applies to {', '.join(kinds)} tasks; drop it from --set or the recipe",
            )
        try:
            out[key] = cast(values[key])
        except ValueError:
            raise BenchError(f"{key}={values[key]}: expected a {cast.__name__}") from None
        if key in CHOICES and out[key] not in CHOICES[key]:
            raise BenchError(f"{key}={out[key]}: expected one of {', '.join(CHOICES[key])}")
        if cast is int and out[key] < 1:
            raise BenchError(f"{key}={out[key]}: expected a positive number")
    return out


def model_shape(options: dict[str, Any]) -> dict[str, Any]:
    """The model options a task kind's ``build`` takes: `options` less the evaluation ones."""
    return {k: v for k, v in options.items() if k not in EVAL_OPTIONS}


def train_config(
    backbone: Backbone, task: Task, seed: int, overrides: dict[str, str]
) -> tuple[TrainConfig, int]:
    """Defaults -> backbone recipe -> --set overrides; returns (TrainConfig, max_length)."""
    values: dict[str, Any] = {**backbone.recipe(task.name), **overrides}
    for key in MODEL_OPTIONS:  # model_options() reads these
        values.pop(key, None)
    max_length = int(values.pop("max_length", 128))
    max_length = min(max_length, backbone.max_length or max_length)
    known = {f.name: f.type for f in fields(TrainConfig)}
    cfg = TrainConfig(seed=seed)
    for key, raw in values.items():
        if key not in known:
            raise BenchError(
                f"unknown setting --set {key}",
                hint=f"known: max_length, {', '.join(sorted([*known, *MODEL_OPTIONS]))}",
            )
        default = getattr(cfg, key)
        cast = type(default) if default is not None else int
        try:
            cfg = replace(cfg, **{key: cast(raw)})
        except ValueError:
            raise BenchError(f"--set {key}={raw}: expected a {cast.__name__}") from None
    return cfg, max_length
