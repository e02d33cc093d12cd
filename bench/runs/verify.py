"""``bench verify``: rerun the training behind committed records into a scratch folder and
compare the two, bit for bit: metrics, per-example predictions, the loss curve, the checkpoint
each selection chose, the adaptation stages' weights; and name what differs between the
machine that made the records and this one (CPU and its instruction sets, packages, threads).

A record's config is planned again from its own fields (method, backbone and profile, task,
language, setting, selection, seed, the languages it was adapted to); recipe values that differ
from the backbone's current ones become ``--set`` items. The run id must come out the same,
else the code or the data changed since the record was made, and the command says which keys.
Exercise: ``bench verify results/runs/masakhaner/swa/me5_small/baseline/in-language/*seed4*.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError, terminate_as_exit
from bench.core.paths import REPO, cache_dir
from bench.core.tables import table
from bench.runs.plan import Group, groups_for
from bench.runs.records import environment, labelled, read_predictions, run_id, write_atomic
from bench.runs.request import Request, resolve
from bench.runs.runner import execute, pending


@dataclass
class Training:
    """One training to rerun, and the committed records it made that were asked about."""

    request: Request
    group: Group
    records: list[Path]


def read_record(path: Path) -> dict[str, Any]:
    """A run record, or a clear error naming the file."""
    if not path.is_file():
        raise BenchError(f"{path}: no such record", hint="give run records: results/runs/**/*.json")
    try:
        rec = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BenchError(f"{path}: not a run record ({err})") from None
    if not isinstance(rec, dict) or not {"run_id", "config", "metrics"} <= rec.keys():
        raise BenchError(
            f"{path}: not a run record (no run_id, config and metrics)",
            hint="give the records' .json files, not their predictions",
        )
    return rec


def flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"lr": 1e-4}}`` -> ``{"train.lr": 1e-4}``."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def set_items(planned: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    """The ``--set`` items that turn the config planned today into the recorded one: recipe
    values (``train.*``, ``max_length``, ``model.*``) and method settings (``methods.*``)."""
    now, then = flat(planned), flat(recorded)
    items = []
    for key, value in then.items():
        head, _, rest = key.partition(".")
        if now.get(key) == value or key == "train.seed":
            continue
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        if head in ("train", "model", "methods"):
            items.append(f"{rest}={text}")
        elif key == "max_length":
            items.append(f"max_length={text}")
    return items


def _plan(
    rec: dict[str, Any],
    backbone: str | None,
    root: Path | None,
    items: list[str],
    langs: list[str],
    selections: list[str],
) -> tuple[Request, Group, dict[str, Any], dict[str, Any]]:
    """(request, training, the record's config planned today, the training's config)."""
    c = rec["config"]
    name = backbone or (f"{c['backbone']}:{c['profile']}" if c.get("profile") else c["backbone"])
    scored = list((rec["metrics"].get("comet") or {}).values())  # direction -> score, model
    comet = scored[0].get("comet_model") if scored else None
    request = resolve(
        c["method"],
        ",".join(c.get("adapted_to") or langs),
        c["task"],
        name,
        str(c["seed"]),
        c["setting"],
        ",".join(selections),
        items,
        comet=comet,
        force=True,
    )
    for group in groups_for(request, root)[0]:
        found, base = pending(group, request, root, Path(tempfile.gettempdir()))[:2]
        if (c["lang"], c["selection"]) in found:
            return request, group, found[(c["lang"], c["selection"])][0], base
    raise BenchError(f"no training of today's plan writes a record for {c['lang']} {c['setting']}")


def plan(
    path: Path,
    backbone: str | None,
    root: Path | None,
    langs: list[str] | None = None,
    selections: list[str] | None = None,
) -> tuple[Request, Group, dict[str, Any]]:
    """The request, training and training config that remake the record at `path` with its
    run id (planned with the records' `langs` and `selections` that share its training, when
    given)."""
    rec = read_record(path)
    where = (langs or [rec["config"]["lang"]], selections or [rec["config"]["selection"]])
    request, group, config, base = _plan(rec, backbone, root, [], *where)
    items = set_items(config, rec["config"])
    if items:
        request, group, config, base = _plan(rec, backbone, root, items, *where)
    if run_id(config) != rec["run_id"]:
        now, then = flat(config), flat(rec["config"])
        keys = sorted(k for k in now.keys() | then.keys() if now.get(k) != then.get(k))
        made = rec.get("environment", {}).get("git", {}).get("commit") or "?"
        hint = (
            f"the code or the data changed since; check out the record's commit {made[:10]} "
            "and give the data root it was made from (data.* keys are checksums)"
        )
        if keys == ["world_size"]:
            ranks = rec["config"]["world_size"]
            hint = f"it was trained on {ranks} ranks: torchrun --nproc_per_node {ranks} -m bench verify ..."
        raise BenchError(
            f"{path}: this code plans another config for it (differs in {', '.join(keys)})",
            hint=hint,
        )
    return request, group, base


def trainings(paths: list[Path], backbone: str | None, root: Path | None) -> list[Training]:
    """Plan every record first (a bad one fails before any work). Records that differ only in
    language and selection are planned together, so that those of one training (a zero-shot
    training serves every target language and selection split) share its rerun."""
    shared: dict[str, tuple[set[str], set[str]]] = {}
    keys = {}
    for path in paths:
        c = read_record(path)["config"]
        keys[path] = json.dumps(
            {k: v for k, v in c.items() if k not in ("lang", "data", "selection")}, sort_keys=True
        )
        langs, sels = shared.setdefault(keys[path], (set(), set()))
        langs.add(c["lang"])
        sels.add(c["selection"])
    out: dict[str, Training] = {}
    for path in paths:
        langs, sels = shared[keys[path]]
        request, group, base = plan(path, backbone, root, sorted(langs), sorted(sels))
        out.setdefault(run_id(base), Training(request, group, [])).records.append(path)
    return list(out.values())


def first_divergence(old: list[dict], new: list[dict]) -> dict[str, Any] | None:
    """The first logged step whose loss differs, with both losses; None when none does."""
    for a, b in zip(old, new, strict=False):
        if a.get("loss") != b.get("loss"):
            return {"step": a.get("step"), "committed": a.get("loss"), "rerun": b.get("loss")}
    return None


def scores(metrics: dict[str, Any]) -> dict[str, float]:
    """The headline numbers of a record's metrics: accuracy or F1, else BLEU and chrF++ per
    translation direction."""
    if "accuracy" in metrics or "f1" in metrics:
        key = "accuracy" if "accuracy" in metrics else "f1"
        return {key: metrics[key]}
    return {
        f"{d} {m}": v[m]
        for d, v in metrics.items()
        if isinstance(v, dict)
        for m in ("bleu", "chrf++")
        if isinstance(v.get(m), int | float)
    }


def same_predictions(old: Path, new: Path, a: dict, b: dict) -> float:
    """The share of test examples predicted identically (1.0 when the files hash the same)."""
    if a["predictions"]["sha256"] == b["predictions"]["sha256"]:
        return 1.0
    pa, pb = read_predictions(old), read_predictions(new)
    if isinstance(pa, dict):  # translation: direction -> hypotheses
        pa = [x for k in sorted(pa) for x in pa[k]]
        pb = [x for k in sorted(pb) for x in pb[k]]
    same = sum(x == y for x, y in zip(pa, pb, strict=False))
    return same / max(1, len(pa))


def same_backbone(a: dict[str, Any], b: dict[str, Any]) -> bool | None:
    """Whether both runs fine-tuned the same backbone weights (None: the committed record
    predates ``backbone.weights_sha256``). A backbone built on the machine, like `tiny_bert`
    whose weights are not committed, is rebuilt by the rerun."""
    old = a.get("backbone", {}).get("weights_sha256")
    return None if old is None else old == b.get("backbone", {}).get("weights_sha256")


def shown(path: Path) -> str:
    """`path` relative to the repository when it lies in it (as the README quotes records)."""
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def compare(old: Path, new: Path) -> dict[str, Any]:
    """One committed record against its rerun."""
    a, b = json.loads(old.read_text()), json.loads(new.read_text())
    stages = {
        name: report.get("weights_sha256")
        == b.get("method_reports", {}).get(name, {}).get("weights_sha256")
        for name, report in a.get("method_reports", {}).items()
        if isinstance(report, dict) and report.get("weights_sha256")
    }
    identical = a["metrics"] == b["metrics"] and a["predictions"] == b["predictions"]
    return {
        "record": shown(old),
        "what": "{task} {lang} {backbone} {method} {setting} {selection} seed {seed}".format(
            **labelled(a["config"])
        ),
        "cell": {
            "backbone": labelled(a["config"])["backbone"],
            **{k: a["config"][k] for k in ("task", "method", "setting", "selection", "lang")},
        },
        "run_id": a["run_id"],
        "identical": identical,
        "scores": {k: [v, scores(b["metrics"]).get(k)] for k, v in scores(a["metrics"]).items()},
        "same_predictions": round(same_predictions(old, new, a, b), 6),
        "selected_step": [a["selection"].get("step"), b["selection"].get("step")],
        "loss_curve_diverges": first_divergence(a["training"]["curve"], b["training"]["curve"]),
        "backbone_weights_same": same_backbone(a, b),
        "stage_weights_same": stages,
        "training_wall_s": [a["training"]["wall_s"], b["training"]["wall_s"]],
        "machines": machines(a.get("environment", {}), b["environment"]),
    }


def machines(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What differs between the two records' environments (hardware, packages, threads)."""
    out: dict[str, Any] = {}
    for key in ("cpu", "isa", "torch_threads", "gpu"):
        a, b = old.get("hardware", {}).get(key), new["hardware"].get(key)
        if a != b:
            out[key] = [a, b]
    for name, b in new["packages"].items():
        a = old.get("packages", {}).get(name)
        if a != b:
            out[f"package {name}"] = [a, b]
    return out


def rerun(training: Training, root: Path | None, scratch: Path) -> tuple[list[Path], float]:
    """Train again into `scratch` (an empty results folder: the stage check has nothing to
    refuse, so a stage built here is used and compared)."""
    started = time.perf_counter()
    written = execute(training.group, training.request, root, cache_dir(), scratch)
    return written, time.perf_counter() - started


def verify(
    paths: list[Path],
    backbone: str | None,
    root: Path | None,
    out: Path | None,
    echo: Callable[[str], None],
) -> bool:
    """Rerun and compare every record of `paths`; True when every one came out identical."""
    plans = trainings([p.resolve() for p in paths], backbone, root)
    echo(
        f"{len(paths)} record(s), {len(plans)} training(s) to rerun on {environment()['hardware']['cpu']}"
    )
    results, reruns = [], []
    with terminate_as_exit():  # a killed rerun still removes its scratch folder
        for n, training in enumerate(plans, start=1):
            scratch = Path(tempfile.mkdtemp(prefix="verify-", dir=cache_dir()))
            try:
                written, wall = rerun(training, root, scratch)
                if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 compares for all
                    continue
                by_name = {p.name: p for p in written}
                for old in training.records:
                    if old.name not in by_name:
                        raise BenchError(f"the rerun wrote no record named {old.name}")
                    results.append(compare(old, by_name[old.name]))
                reruns.append(
                    {"records": [shown(p) for p in training.records], "wall_s": round(wall, 1)}
                )
                echo(f"[{n}/{len(plans)}] rerun in {wall:.0f} s")
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    echo(report(results))
    if out is not None:
        command = "bench verify " + " ".join(r["record"] for r in results)
        body = {"command": command, "environment": environment(), "reruns": reruns}
        body |= {"means": means(results), "records": results}
        write_atomic(out, (json.dumps(body, indent=1) + "\n").encode())
        echo(f"written: {out}")
    return all(r["identical"] for r in results)


def means(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The mean over the seeds given, committed and rerun, of each cell a table would show
    (task, backbone, method, setting, selection; per language, then over all languages), where a cell
    has two seeds or more: a rerun moves single runs; the means are what a reader sees."""
    cells: dict[tuple, list[dict[str, Any]]] = {}
    for r in results:
        c = r["cell"]
        head = (c["task"], c["backbone"], c["method"], c["setting"], c["selection"])
        cells.setdefault((*head, c["lang"]), []).append(r)
        cells.setdefault((*head, "all"), []).append(r)
    out = []
    for (task, backbone, method, setting, selection, lang), rs in cells.items():
        if len(rs) < 2:
            continue
        for key in rs[0]["scores"]:
            pairs = [r["scores"].get(key) for r in rs]
            if any(p is None or None in p for p in pairs):
                continue
            old, new = (statistics.mean(p[i] for p in pairs) for i in (0, 1))
            out.append(
                {
                    "cell": f"{task} {backbone} {method} {setting} {selection}",
                    "lang": lang,
                    "records": len(rs),
                    "score": key,
                    "committed": round(old, 6),
                    "rerun": round(new, 6),
                    "change": round(new - old, 6),
                }
            )
    return sorted(out, key=lambda m: (m["cell"], m["lang"] == "all", m["lang"]))


def report(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        diverges = r["loss_curve_diverges"]
        rows.append(
            {
                "record": r["what"],
                "verdict": "identical" if r["identical"] else "differs",
                "committed -> rerun": "; ".join(
                    f"{k} {a:.4f} -> {b:.4f}" if b is not None else f"{k} {a:.4f} -> ?"
                    for k, (a, b) in r["scores"].items()
                ),
                "same predictions": f"{100 * r['same_predictions']:.2f}%",
                "loss curve": f"diverges at step {diverges['step']}" if diverges else "same",
                "weights": ", ".join(
                    f"{k} {'same' if same else 'other'}"
                    for k, same in {
                        "backbone": r["backbone_weights_same"],
                        **r["stage_weights_same"],
                    }.items()
                    if same is not None
                )
                or "not recorded",
                "train s": "{} -> {}".format(*r["training_wall_s"]),
            }
        )
    lines = [table(rows)]
    if averaged := means(results):
        lines += ["", "means over the records given:", table(averaged)]
    differ = {k for r in results for k in r["machines"]}
    for key in sorted(differ):
        a, b = next(r["machines"][key] for r in results if key in r["machines"])
        a = "not recorded" if a is None else a
        lines.append(f"differs from the committed records' machine: {key}: {a} -> {b}")
    return "\n".join(lines)
