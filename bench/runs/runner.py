"""Execute one training (a group) of a resolved request, as a recipe of named steps: start
(read the splits and the backbone) -> adapt (method stages) -> tokenize -> augment (synthetic
data) -> encode -> build the model -> fine-tune -> test and record: one run record per
(method, backbone, task, language, setting, selection, seed).

Zero-shot runs of several target languages share one fine-tuning on English (it is the same
model); every target's dev set is scored at each evaluation so source-dev and target-dev
selection both come from that one training. Exercise:
``bench run --method baseline --tasks xnli --langs sw --seeds 1``.
"""

from __future__ import annotations

import copy
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from bench.core.errors import BenchError
from bench.core.progress import bar
from bench.data.source import LoadedSplit
from bench.data.task import SOURCE_LANGUAGE
from bench.runs.inputs import data_checksums, encoded, prepare
from bench.runs.plan import Group
from bench.runs.records import (
    environment,
    keep_weights,
    peak_memory,
    record_path,
    run_id,
    write_record,
)
from bench.runs.request import Request
from bench.runs.stagecheck import check_stage_builds
from bench.train.backbone import Backbone
from bench.train.build import backbone_id, materialize
from bench.train.kinds import KINDS
from bench.train.kinds.common import dev_sample, eval_precision
from bench.train.method import Composition, Context
from bench.train.metrics import comet_directions
from bench.train.recipe import model_options, model_shape, train_config
from bench.train.trainer import TrainConfig, TrainResult, seed_everything, train


def base_config(
    group: Group,
    method: Composition,
    backbone: Backbone,
    root: Path | None,
    cfg: TrainConfig,
    max_length: int,
    checksums: dict[str, str],
    world: int,
    model: dict[str, Any] | None = None,
) -> dict[str, Any]:
    config = {
        "method": method.name,
        "backbone": backbone.name,
        "backbone_id": backbone_id(backbone, root),
        "task": group.task.name,
        "setting": group.setting,
        "seed": group.seed,
        "train": asdict(cfg),
        "max_length": max_length,
        "world_size": world,
        "data": dict(sorted(checksums.items())),
    }
    if compacts(backbone):  # set only where used: other run ids stay as they were
        config["compact_vocab"] = True
    # likewise: a recipe that shapes the model (a shallow decoder), a profile (me5_small:ablation)
    config |= {"model": model} if model else {}
    config |= {"profile": backbone.profile} if backbone.profile else {}
    if method.methods:  # the baseline's config (and so its run ids) stays as it was
        config["methods"] = method.config()
        config["adapted_to"] = sorted(lang.code for lang in (group.adapt_to or group.targets))
    return config


def compacts(backbone: Backbone) -> bool:
    """Whether runs on `backbone` cut the word embedding to the rows they use (`bench.train.vocab`;
    ``compact_vocab``; translation cuts the decoder's to the training and dev targets' too)."""
    return bool(backbone.package.get("compact_vocab"))


def record_config(base: dict[str, Any], lang: str, selection: str) -> dict[str, Any]:
    """A record's config: the shared training's, narrowed to the splits this record reads
    (so the run id does not depend on which other languages were run alongside)."""
    mine = ("train", "source-dev", f"target-dev:{lang}", f"test:{lang}", f"few-shot:{lang}")
    data = {role: sha for role, sha in base["data"].items() if role in mine}
    if selection != "target-dev":
        data.pop(f"target-dev:{lang}", None)
    if selection != "source-dev":
        data.pop("source-dev", None)
    return {**base, "data": data, "lang": lang, "selection": selection}


def pending(
    group: Group, request: Request, root: Path | None, results: Path
) -> tuple[dict, dict, TrainConfig, int]:
    """The records `group` would write that do not exist yet (all of them with ``--force``),
    as (lang, selection) -> (config, path); and the training's config, recipe, max length."""
    backbone = request.backbone
    cfg, max_length = train_config(backbone, group.task, group.seed, request.overrides)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    checksums = data_checksums(group, root)
    model = model_options(backbone, group.task, request.overrides)
    base = base_config(
        group, request.method, backbone, root, cfg, max_length, checksums, world, model
    )
    todo = {}
    for lang in group.targets:
        for sel in group.selections:
            config = record_config(base, lang.code, sel)
            path = record_path(results, config)
            if request.force or not path.is_file():
                todo[(lang.code, sel)] = (config, path)
    return todo, base, cfg, max_length


@dataclass
class Work:
    """One training under way: each step of `execute` fills in what the next one reads."""

    group: Group
    request: Request
    todo: dict[tuple[str, str], tuple[dict[str, Any], Path]]  # (lang, sel) -> (config, path)
    base: dict[str, Any]  # the training's config (its run id names the checkpoint folder)
    cfg: TrainConfig
    max_length: int
    splits: dict[str, LoadedSplit]  # role -> split (train, target-dev:swa, test:swa, ...)
    folder: Path  # the backbone's weights, then the adapted ones
    backbone_prov: dict[str, Any]
    ctx: Context
    kind: Any = None  # bench.train.kinds.<kind>: encode, build, predict, score
    labels: list[str] | None = None
    extra: Any = None  # labels (classification, tagging) or (source, target) codes
    encoded: dict[str, Any] = field(default_factory=dict)
    module: Any = None
    vocab: dict[str, Any] | None = None
    result: TrainResult | None = None

    @property
    def checkpoints(self) -> Path:
        return self.ctx.cache / "runs" / run_id(self.base)[:16]

    @property
    def options(self) -> dict[str, Any]:
        """The recipe's model options: shape, eval_precision, dev_rows (bench/train/recipe.py)."""
        return self.base.get("model", {})


def execute(
    group: Group,
    request: Request,
    root: Path | None,
    cache: Path,
    results: Path,
    stages_only: bool = False,
) -> list[Path]:
    """Fine-tune once for `group`, then test and record each (language, selection). With
    `stages_only`, build the method's adaptation stages and synthetic data, and stop."""
    _quiet_libraries()
    todo, base, cfg, max_length = pending(group, request, root, results)
    if not todo:
        return []
    work = start(group, request, todo, base, cfg, max_length, root, cache)
    adapt(work)  # continued MLM, alignment: cached stages shared by every task and seed
    tokenize(work)  # the (adapted) tokenizer, labels or translation tags
    augment(work)  # synthetic training rows: back-translation
    check_stage_builds(work.ctx.reports, results, work.base)  # the build its cells' records used
    if stages_only:
        return []
    encode(work)
    build_model(work)  # the task head, the compacted vocabulary, auxiliary objectives
    fine_tune(work)  # checkpoints kept by each selection split
    if work.base["world_size"] > 1 and torch.distributed.get_rank() != 0:
        return []
    written = test_and_record(work)
    if request.keep_weights is not None:  # else deleted: 130 MB a file on me5_small
        about = {"config": work.base, "backbone_folder": str(work.folder)}
        about |= {"best_step": work.result.best_step if work.result else {}}
        records = [path for _, path in work.todo.values()]
        keep_weights(work.checkpoints, request.keep_weights, about, records, work.ctx.tokenizer)
    shutil.rmtree(work.checkpoints, ignore_errors=True)
    return written


def _quiet_libraries() -> None:
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()


def start(
    group: Group,
    request: Request,
    todo: dict,
    base: dict[str, Any],
    cfg: TrainConfig,
    max_length: int,
    root: Path | None,
    cache: Path,
) -> Work:
    """Read the splits (checked against the checksums the run ids were made of) and the
    backbone's weights."""
    splits = prepare(group, root)
    for role, split in splits.items():
        if base["data"].get(role, split.provenance["sha256"]) != split.provenance["sha256"]:
            raise BenchError(f"{role}: the data changed while planning", hint="run again")
    folder, backbone_prov = materialize(request.backbone, root, cache)
    ctx = Context(
        task=group.task,
        setting=group.setting,
        seed=group.seed,
        train_lang=group.train_lang,
        targets=group.adapt_to or group.targets,
        backbone=request.backbone,
        root=root,
        cache=cache,
        backbone_key=base["backbone_id"],
        input_key=base["backbone_id"],
        max_length=max_length,
    )
    return Work(group, request, todo, base, cfg, max_length, splits, folder, backbone_prov, ctx)


def adapt(work: Work) -> None:
    for plugin in work.request.method.methods:
        adapted = plugin.adapt(work.folder, work.ctx)
        if adapted is not None:
            work.folder, work.ctx.reports[plugin.name] = adapted
            work.ctx.input_key = work.ctx.reports[plugin.name]["key"]


def tokenize(work: Work) -> None:
    from transformers import AutoTokenizer

    task, group = work.group.task, work.group
    work.kind = KINDS[task.kind]
    tokenizer = AutoTokenizer.from_pretrained(work.folder)
    work.labels = task.labels(task.setting(group.setting)) if task.labels else None
    # Translation directions and tags use the canonical codes: eng-hau, hau-eng.
    work.extra = (
        work.labels if work.labels is not None else (SOURCE_LANGUAGE, group.train_lang.code)
    )
    if task.kind == "translation":
        work.kind.add_tags(tokenizer, list(work.extra))
    work.ctx.tokenizer, work.ctx.extra = tokenizer, work.extra


def augment(work: Work) -> None:
    for plugin in work.request.method.methods:
        added = plugin.augment(work.ctx)
        if added is not None:
            work.splits[f"synthetic:{plugin.name}"], work.ctx.reports[plugin.name] = added


def encode(work: Work) -> None:
    work.encoded = {
        role: encoded(
            work.kind, split, work.ctx.tokenizer, work.max_length, work.extra, work.ctx.cache
        )
        for role, split in work.splits.items()
    }


def build_model(work: Work) -> None:
    seed_everything(work.group.seed)
    shape = model_shape(work.options)  # the recipe's model shape (translation: decoder depth)
    work.module = work.kind.build(work.folder, work.labels, work.ctx.tokenizer, **shape)
    for plugin in work.request.method.methods:  # auxiliary objectives (adversarial)
        work.module = plugin.wrap(work.module, work.ctx)
    if compacts(work.request.backbone):  # the same logits, a fraction of the rows to update
        from bench.train.vocab import compact_run  # (the wrappers' own texts included)

        work.vocab = compact_run(
            work.module, work.group.task.kind, work.encoded, work.ctx.tokenizer
        )


def fine_tune(work: Work) -> None:
    """Train on the train split (plus few-shot and synthetic rows), scoring every dev split
    a selection reads at each evaluation."""
    enc, tokenizer, extra = work.encoded, work.ctx.tokenizer, work.extra
    train_set = enc["train"]
    more = [v for r, v in enc.items() if r.startswith(("few-shot:", "synthetic:"))]
    if more:
        from datasets import concatenate_datasets

        train_set = concatenate_datasets([train_set, *more])

    devs = {
        r: dev_sample(enc[r], work.splits[r].dataset, work.options.get("dev_rows"))
        for r in enc
        if r == "source-dev" or r.startswith("target-dev:")
    }

    def evaluate(m: torch.nn.Module) -> dict[str, float]:
        with eval_precision(m, work.options.get("eval_precision")):
            return {
                r: work.kind.selection_score(m, e, d, tokenizer, extra)
                for r, (e, d) in devs.items()
            }

    g = work.group
    with bar(f"fine-tuning {g.task.name} {g.setting} {g.train_lang.code} seed {g.seed}") as tick:
        work.result = train(
            work.module,
            train_set,
            work.kind.collate(tokenizer),
            work.cfg,
            work.checkpoints,
            evaluate,
            progress=tick,
        )


def test_and_record(work: Work) -> list[Path]:
    """Each (language, selection): load the selected checkpoint, predict the test set, score,
    and write the record (two selections that chose one step share the predictions)."""
    env = environment()
    written = []
    tested: dict[tuple[str, int | None], tuple[Any, dict[str, Any]]] = {}
    result = work.result
    for (code, sel), (config, path) in work.todo.items():
        key = "source-dev" if sel == "source-dev" else f"target-dev:{code}"
        step = result.steps if sel == "last" else result.best_step.get(key)
        started = time.perf_counter()
        if (code, step) not in tested:
            weights = work.checkpoints / ("last.pt" if sel == "last" else f"best-{key}.pt")
            tested[(code, step)] = copy.deepcopy(predict_and_score(work, code, weights))
        preds, metrics = copy.deepcopy(tested[(code, step)])
        selection = {
            "split": sel,
            "key": key if sel != "last" else None,
            "step": step,
            "score": None if sel == "last" else result.best.get(key),
        }
        record = make_record(work, config, metrics, selection, code, env, started)
        write_record(path, record, preds)
        written.append(path)
    return written


def predict_and_score(work: Work, code: str, weights: Path) -> tuple[Any, dict[str, Any]]:
    test = work.splits[f"test:{code}"]
    work.module.load_state_dict(torch.load(weights, weights_only=True))
    work.module.eval()
    tokenizer, extra = work.ctx.tokenizer, work.extra
    with eval_precision(work.module, work.options.get("eval_precision")):
        preds = work.kind.predict(
            work.module, work.encoded[f"test:{code}"], test.dataset, tokenizer, extra
        )
    metrics = work.kind.score(preds, test.dataset, extra)
    if work.request.comet and work.group.task.kind == "translation":
        metrics["comet"] = comet_directions(work.request.comet, preds, test.dataset, extra)
    return preds, metrics


def make_record(
    work: Work,
    config: dict[str, Any],
    metrics: dict[str, Any],
    selection: dict[str, Any],
    code: str,
    env: dict[str, Any],
    started: float,
) -> dict[str, Any]:
    result, test = work.result, work.splits[f"test:{code}"]
    return {
        "run_id": run_id(config),
        "config": config,
        "metrics": metrics,
        "selection": selection,
        "machine_translated_test": bool(test.provenance["machine_translated"]),
        **({"method_reports": work.ctx.reports} if work.ctx.reports else {}),
        "data": {role: work.splits[role].provenance for role in config["data"]},
        "backbone": work.backbone_prov,
        "training": {
            "steps": result.steps,
            "wall_s": round(result.wall_s, 2),
            "tokens": result.tokens,
            "tokens_per_s": round(result.tokens / max(1e-9, result.wall_s), 1),
            "resumed_from": result.resumed_from,
            "row_sparse_embeddings": result.row_sparse,
            "curve": result.curve,
            "shared_by": sorted(lang.code for lang in work.group.targets),
            **({"vocab": work.vocab} if work.vocab else {}),
            **peak_memory(),
        },
        "test_wall_s": round(time.perf_counter() - started, 2),
        "environment": env,
    }
