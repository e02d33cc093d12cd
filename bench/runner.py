"""Plan and execute ``bench run``: fine-tune a backbone on a task, select checkpoints, test,
and write one run record per (method, backbone, task, language, setting, selection, seed).

Zero-shot runs of several target languages share one fine-tuning on English (it is the same
model); every target's dev set is scored at each evaluation so source-dev and target-dev
selection both come from that one training. Exercise:
``bench run --method baseline --tasks xnli --langs sw --seeds 1``.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Any

import torch

from bench.backbone import Backbone, backbone_id, materialize
from bench.errors import BenchError
from bench.kinds import KINDS
from bench.language import Language, get_language
from bench.method import Composition, Context, parse_method, split_overrides
from bench.paths import cache_dir
from bench.progress import bar
from bench.results import environment, record_path, run_id, write_record
from bench.source import LoadedSplit
from bench.task import SOURCE_LANGUAGE, Task, get_task
from bench.trainer import TrainConfig, seed_everything, train

SELECTIONS = ("source-dev", "target-dev", "last")


@dataclass
class Group:
    """One fine-tuning and the records it produces."""

    task: Task
    setting: str
    seed: int
    train_lang: Language
    targets: list[Language]
    selections: list[str]
    adapt_to: list[Language] = field(default_factory=list)  # the request's languages
    configs: dict[tuple[str, str], dict[str, Any]] = field(
        default_factory=dict
    )  # (lang, sel) -> config


def default_selection(setting: str) -> str:
    return "source-dev" if setting.startswith("zero-shot") else "target-dev"


def _allowed(selection: str, setting: str) -> bool:
    return selection != "source-dev" or setting.startswith(("zero-shot", "few-shot"))


def check_selection(selection: str, setting: str) -> None:
    if selection not in SELECTIONS:
        raise BenchError(
            f"unknown selection '{selection}'", hint=f"use one of: {', '.join(SELECTIONS)}"
        )
    if selection == "source-dev" and not setting.startswith(("zero-shot", "few-shot")):
        raise BenchError(
            f"selection 'source-dev' needs English training data; {setting} trains on the target",
            hint="use target-dev or last",
        )


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


def selections_for(setting: str, selections: list[str] | None) -> list[str]:
    """The checkpoint selections a run of `setting` records: the setting's default, or those
    asked for (several asked for: each setting records those it allows)."""
    sels = selections or [default_selection(setting)]
    if len(sels) > 1:
        allowed = [x for x in sels if x in SELECTIONS and _allowed(x, setting)]
        sels = allowed or sels
    for sel in sels:
        check_selection(sel, setting)
    return sels


def plan_groups(
    task: Task,
    langs: list[Language],
    settings: list[str],
    seeds: list[int],
    selections: list[str] | None,
) -> list[Group]:
    groups = []
    for setting in settings:
        chosen = task.setting(setting)
        sels = selections_for(setting, selections)
        for seed in seeds:
            if chosen.name == "in-language" or task.name == "flores":
                groups += [
                    Group(task, setting, seed, lang, [lang], sels, list(langs)) for lang in langs
                ]
            else:
                source = get_language(SOURCE_LANGUAGE)
                groups.append(Group(task, setting, seed, source, list(langs), sels, list(langs)))
    return groups


def _load(task: Task, lang: Language, split: str, setting: str, root: Path | None) -> LoadedSplit:
    """Splits are read once per process: the seeds of a grid share them."""
    return _load_named(task.name, lang.code, split, setting, root)


@cache
def _load_named(task: str, lang: str, split: str, setting: str, root: Path | None) -> LoadedSplit:
    return get_task(task).load(lang, split, setting, root)


def roles(group: Group) -> list[tuple[str, Language, str]]:
    """(role, language, split) of every split the group reads (few-shot samples aside)."""
    out = [("train", group.train_lang, "train")]
    if group.train_lang.code == SOURCE_LANGUAGE and "source-dev" in group.selections:
        out.append(("source-dev", group.train_lang, "validation"))
    for lang in group.targets:
        if "target-dev" in group.selections:
            out.append((f"target-dev:{lang.code}", lang, "validation"))
        out.append((f"test:{lang.code}", lang, "test"))
    return out


def prepare(group: Group, root: Path | None) -> dict[str, LoadedSplit]:
    """Every split the group reads, keyed by role (``test:swa``, ``target-dev:swa`` ...)."""
    t, s = group.task, group.setting
    splits = {role: _load(t, lang, split, s, root) for role, lang, split in roles(group)}
    if t.setting(s).name == "few-shot":
        shots = t.setting(s).shots or 0
        for lang in group.targets:
            full = _load(t, lang, "train", s, root)
            picked = random.Random(group.seed).sample(range(len(full)), min(shots, len(full)))
            splits[f"few-shot:{lang.code}"] = LoadedSplit(
                full.dataset.select(sorted(picked)),
                {**full.provenance, "subset": f"{shots} sampled, seed {group.seed}"},
            )
    return splits


def encoded(
    kind: Any, split: LoadedSplit, tokenizer: Any, max_length: int, extra: Any, cache: Path
) -> Any:
    """`kind.encode` through a `datasets.map` cache file keyed by everything the result depends
    on (the split's content, the tokenizer, max length, labels/codes, the kind's source code),
    so the seeds and reruns of a grid tokenise each split once."""
    key = hashlib.sha256()
    for part in (
        split.provenance["sha256"],
        _tokenizer_identity(tokenizer),
        str(max_length),
        json.dumps(list(extra)),
        Path(inspect.getfile(kind)).read_text(),
    ):
        key.update(part.encode())
        key.update(b"\0")
    folder = cache / "encoded"
    folder.mkdir(parents=True, exist_ok=True)
    return kind.encode(
        split.dataset,
        tokenizer,
        max_length,
        extra,
        cache_file=str(folder / f"{kind.__name__.rsplit('.', 1)[-1]}-{key.hexdigest()[:20]}.arrow"),
    )


def _tokenizer_identity(tokenizer: Any) -> str:
    """The vocabulary, normalisation and added tokens; not the truncation/padding state that
    a call leaves on a fast tokenizer."""
    if not tokenizer.is_fast:
        return repr(tokenizer)
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    state.pop("truncation", None)
    state.pop("padding", None)
    return json.dumps(state, sort_keys=True)


def data_checksums(group: Group, root: Path | None) -> dict[str, str]:
    """role -> content SHA-256 of every split the group reads. Local splits whose files are
    unchanged since they were last parsed (same paths, sizes and modification times, same
    reader code) are not parsed again: a rerun that trains nothing stays fast."""
    if group.task.setting(group.setting).name == "few-shot" or root is None:
        return {role: split.provenance["sha256"] for role, split in prepare(group, root).items()}
    out = {}
    for role, lang, split in roles(group):
        ref = group.task.ref(lang, split, group.setting, root)
        if ref.source.files is None:
            out[role] = _load(group.task, lang, split, group.setting, root).provenance["sha256"]
            continue
        gone = ref.missing_files(root)
        if gone:  # `Task.missing` leaves such languages out of plans; this is the backstop
            raise BenchError(
                f"{ref.source.title} {split} of {lang.code} is missing: {root / gone[0]}",
                hint=f"`bench lang check {lang.code}` says which tasks its data allows",
            )
        files = [root / p for p in ref.source.files(ref.codes, ref.source.splits[ref.split])]
        stats = [[str(f), f.stat().st_size, f.stat().st_mtime_ns] for f in files]
        ident = [group.task.name, lang.code, split, group.setting, stats, _reader_version()]
        key = hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:24]
        memo = cache_dir() / "checksums" / f"{key}.json"
        if memo.is_file():
            out[role] = json.loads(memo.read_text())["sha256"]
            continue
        out[role] = _load(group.task, lang, split, group.setting, root).provenance["sha256"]
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"sha256": out[role], "ident": ident}))
        os.replace(tmp, memo)
    return out


@cache
def _reader_version() -> str:
    """A hash of the code that turns files into rows (sources, formats, tasks)."""
    here = Path(__file__).parent
    files = [here / "source.py", here / "formats.py", here / "task.py"]
    files += sorted((here / "sources").glob("*.py")) + sorted((here / "tasks").glob("*.py"))
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]


def base_config(
    group: Group,
    method: Composition,
    backbone: Backbone,
    root: Path | None,
    cfg: TrainConfig,
    max_length: int,
    checksums: dict[str, str],
    world: int,
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
    if method.methods:  # the baseline's config (and so its run ids) stays as it was
        config["methods"] = method.config()
        config["adapted_to"] = sorted(lang.code for lang in (group.adapt_to or group.targets))
    return config


def compacts(backbone: Backbone) -> bool:
    """Whether runs of `task` on `backbone` cut the word embedding to the rows they use
    (`bench.vocab`; the backbone spec's ``compact_vocab``; translation cuts the decoder's
    vocabulary to the training and dev targets' pieces too)."""
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


def composition(method: str, backbone: Backbone, overrides: dict[str, str]) -> Composition:
    """The method's plug-ins, configured: defaults <- the backbone's [methods.X] <- --set X.k=v."""
    return parse_method(method, split_overrides(overrides)[1], backbone.methods)


def pending(
    group: Group,
    method: str,
    backbone: Backbone,
    root: Path | None,
    results: Path,
    overrides: dict[str, str],
    force: bool,
) -> tuple[dict, dict, TrainConfig, int]:
    """The records `group` would write that do not exist yet (all of them if `force`)."""
    train_overrides = split_overrides(overrides)[0]
    cfg, max_length = train_config(backbone, group.task, group.seed, train_overrides)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    plugins = composition(method, backbone, overrides)
    checksums = data_checksums(group, root)
    base = base_config(group, plugins, backbone, root, cfg, max_length, checksums, world)
    todo = {}
    for lang in group.targets:
        for sel in group.selections:
            config = record_config(base, lang.code, sel)
            path = record_path(results, config)
            if force or not path.is_file():
                todo[(lang.code, sel)] = (config, path)
    return todo, base, cfg, max_length


def execute(
    group: Group,
    method: str,
    backbone: Backbone,
    root: Path | None,
    cache: Path,
    results: Path,
    overrides: dict[str, str],
    force: bool,
    comet: str | None = None,
    stages_only: bool = False,
) -> list[Path]:
    """Fine-tune once for `group`, then test and record each (language, selection).
    With `stages_only`, build the method's adaptation stages and synthetic data, and stop."""
    import datasets
    import transformers
    from transformers import AutoTokenizer

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()

    kind = KINDS[group.task.kind]
    todo, base, cfg, max_length = pending(group, method, backbone, root, results, overrides, force)
    if not todo:
        return []
    splits = prepare(group, root)
    for role, split in splits.items():  # the checksums the run id was made of are the data's
        if base["data"].get(role, split.provenance["sha256"]) != split.provenance["sha256"]:
            raise BenchError(f"{role}: the data changed while planning", hint="run again")
    folder, backbone_prov = materialize(backbone, root, cache)
    world = base["world_size"]
    plugins = composition(method, backbone, overrides)
    ctx = Context(
        task=group.task,
        setting=group.setting,
        seed=group.seed,
        train_lang=group.train_lang,
        targets=group.adapt_to or group.targets,
        backbone=backbone,
        root=root,
        cache=cache,
        backbone_key=base["backbone_id"],
        input_key=base["backbone_id"],
        max_length=max_length,
    )
    # --- adaptation stages (cached, shared by every task and seed) -------------------------
    for plugin in plugins.methods:
        adapted = plugin.adapt(folder, ctx)
        if adapted is not None:
            folder, ctx.reports[plugin.name] = adapted
            ctx.input_key = ctx.reports[plugin.name]["key"]
    # --- model and data -----------------------------------------------------------------
    tokenizer = AutoTokenizer.from_pretrained(folder)
    labels = group.task.labels(group.task.setting(group.setting)) if group.task.labels else None
    # Translation directions and tags use the canonical codes: eng-hau, hau-eng.
    extra = labels if labels is not None else (SOURCE_LANGUAGE, group.train_lang.code)
    if group.task.kind == "translation":
        kind.add_tags(tokenizer, list(extra))
    ctx.tokenizer, ctx.extra = tokenizer, extra
    for plugin in plugins.methods:  # synthetic training data (back-translation)
        added = plugin.augment(ctx)
        if added is not None:
            splits[f"synthetic:{plugin.name}"], ctx.reports[plugin.name] = added
    if stages_only:
        return []
    encode = {
        role: encoded(kind, split, tokenizer, max_length, extra, cache)
        for role, split in splits.items()
    }
    train_set = encode["train"]
    more = [v for r, v in encode.items() if r.startswith(("few-shot:", "synthetic:"))]
    if more:
        from datasets import concatenate_datasets

        train_set = concatenate_datasets([train_set, *more])
    seed_everything(group.seed)
    module = kind.build(folder, labels, tokenizer)
    vocab = None
    if compacts(backbone):  # the same logits, a fraction of the rows to update
        from bench.vocab import compact_run

        vocab = compact_run(module, group.task.kind, encode, tokenizer)
    for plugin in plugins.methods:  # auxiliary objectives during fine-tuning (adversarial)
        module = plugin.wrap(module, ctx)

    def evaluate(m: torch.nn.Module) -> dict[str, float]:
        keys = [r for r in encode if r == "source-dev" or r.startswith("target-dev:")]
        return {
            r: kind.selection_score(m, encode[r], splits[r].dataset, tokenizer, extra) for r in keys
        }

    # --- train ---------------------------------------------------------------------------
    work = cache / "runs" / run_id(base)[:16]
    title = f"{group.task.name} {group.setting} {group.train_lang.code} seed {group.seed}"
    with bar(f"fine-tuning {title}") as tick:
        result = train(
            module, train_set, kind.collate(tokenizer), cfg, work, evaluate, progress=tick
        )
    if world > 1 and torch.distributed.get_rank() != 0:
        return []
    # --- test and record -------------------------------------------------------------------
    env = environment()
    written = []
    tested: dict[tuple[str, int | None], tuple[Any, dict[str, Any]]] = {}
    for (code, sel), (config, path) in todo.items():
        key = "source-dev" if sel == "source-dev" else f"target-dev:{code}"
        step = result.steps if sel == "last" else result.best_step.get(key)
        started = time.perf_counter()
        test = splits[f"test:{code}"]
        if (code, step) in tested:  # two selections chose the same step: the same weights
            preds, metrics = copy.deepcopy(tested[(code, step)])
        else:
            weights = work / ("last.pt" if sel == "last" else f"best-{key}.pt")
            module.load_state_dict(torch.load(weights, weights_only=True))
            module.eval()
            preds = kind.predict(module, encode[f"test:{code}"], test.dataset, tokenizer, extra)
            metrics = kind.score(preds, test.dataset, extra)
            if comet and group.task.kind == "translation":
                metrics["comet"] = _comet(comet, preds, test.dataset, extra)
            tested[(code, step)] = copy.deepcopy((preds, metrics))
        record = {
            "run_id": run_id(config),
            "config": config,
            "metrics": metrics,
            "selection": {
                "split": sel,
                "key": key if sel != "last" else None,
                "step": result.steps if sel == "last" else result.best_step.get(key),
                "score": None if sel == "last" else result.best.get(key),
            },
            "machine_translated_test": bool(test.provenance["machine_translated"]),
            **({"method_reports": ctx.reports} if ctx.reports else {}),
            "data": {role: splits[role].provenance for role in config["data"]},
            "backbone": backbone_prov,
            "training": {
                "steps": result.steps,
                "wall_s": round(result.wall_s, 2),
                "tokens": result.tokens,
                "tokens_per_s": round(result.tokens / max(1e-9, result.wall_s), 1),
                "resumed_from": result.resumed_from,
                "row_sparse_embeddings": result.row_sparse,
                "curve": result.curve,
                "shared_by": sorted(lang.code for lang in group.targets),
                **({"vocab": vocab} if vocab else {}),
                **peak_memory(),
            },
            "test_wall_s": round(time.perf_counter() - started, 2),
            "environment": env,
        }
        write_record(path, record, preds)
        written.append(path)
    shutil.rmtree(work, ignore_errors=True)
    return written


def peak_memory() -> dict[str, int]:
    """The process's peak resident memory so far (MB: training and testing, the data and the
    model included) and, on a GPU, the peak of allocated device memory."""
    import resource

    out = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if torch.cuda.is_available():
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    return out


def _comet(
    model: str, preds: dict[str, list[str]], dataset: Any, codes: tuple[str, str]
) -> dict[str, Any]:
    from bench.metrics import comet_score

    forward = f"{codes[0]}-{codes[1]}"
    return {
        d: comet_score(
            model,
            dataset["src"] if d == forward else dataset["tgt"],
            hyps,
            dataset["tgt"] if d == forward else dataset["src"],
        )
        for d, hyps in preds.items()
    }


def summary_line(path: Path) -> str:
    rec = json.loads(path.read_text())
    c, m = rec["config"], rec["metrics"]
    if "accuracy" in m:
        score = f"accuracy {m['accuracy']:.4f}"
    elif "f1" in m:
        score = f"F1 {m['f1']:.4f}"
    else:
        score = "  ".join(
            f"{d} BLEU {v['bleu']:.2f} chrF++ {v['chrf++']:.2f}" for d, v in m.items()
        )
    flag = " [MT test]" if rec["machine_translated_test"] else ""
    return f"{c['task']:<10} {c['lang']} {c['setting']:<11} {c['selection']:<10} seed {c['seed']}: {score}{flag}"
