"""The diagnostics table (`bench paper`, a spec of ``kind = "diagnostics"``): the numbers that
explain a method's result rather than report it, read from the records' method reports and
training curves, one row per (backbone, task, setting, method, diagnostic), one column per
language, each value the mean over the trainings that made it (a zero-shot training's records of
every target language and selection count once):

- +MLM: held-out masked-LM perplexity per language, before -> after the stage;
- +alignment: FLORES sentence retrieval accuracy (mean of both directions), before -> after;
- +adversarial: the discriminators' sentence accuracy over training (at each quarter of the
  steps, best, final) against a constant guess (the majority language's share), and their
  loss, pooled over languages (column ``all``);
- +back-translation: the translator's own chrF++ and BLEU on dev, both directions, and the
  number of synthetic rows it made.

Exercise: ``bench paper --out /tmp/generated`` (leaderboards/me5-diagnostics.toml).
"""

from __future__ import annotations

import json
from collections import defaultdict
from statistics import mean
from typing import Any

ALL = "all"  # a value pooled over languages


def _mlm(report: dict[str, Any]) -> list[tuple[str, str, tuple[float, float]]]:
    ppl = report.get("heldout_perplexity", {})
    before, after = ppl.get("before", {}), ppl.get("after", {})
    return [
        ("held-out perplexity, before → after", lang, (before[lang], after[lang])) for lang in after
    ]


def _alignment(report: dict[str, Any]) -> list[tuple[str, str, tuple[float, float]]]:
    got = report.get("retrieval", {})
    before, after = got.get("before", {}), got.get("after", {})
    name = f"{got.get('test_set', 'FLORES')} retrieval acc. %, before → after"
    return [(name, lang, (100 * before[lang]["mean"], 100 * after[lang]["mean"])) for lang in after]


def _backtranslation(report: dict[str, Any]) -> list[tuple[str, str, float]]:
    out = []
    for lang, one in report.get("languages", {}).items():
        out.append(("synthetic rows", lang, float(one.get("rows", 0))))
        for direction, scores in (one.get("translator_dev") or {}).items():
            if isinstance(scores, dict):  # "eng-swa": {"bleu": .., "chrf++": ..}
                src, _, tgt = direction.partition("-")
                way = "en→xx" if src == "eng" else "xx→en"
                lang_of = tgt if src == "eng" else src
                out.append((f"translator dev {way} chrF++", lang_of, scores["chrf++"]))
                out.append((f"translator dev {way} BLEU", lang_of, scores["bleu"]))
    return out


def _adversarial(curve: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    logged = [p for p in curve if "disc_accuracy" in p]
    if not logged:
        return []
    last = logged[-1]
    best = max(p["disc_accuracy"] for p in logged)
    quarters = tuple(  # over training: the logged point nearest each quarter of the steps
        100 * min(logged, key=lambda p: abs(p["step"] - q * last["step"] / 4))["disc_accuracy"]
        for q in (1, 2, 3, 4)
    )
    out = [
        ("discriminator sentence acc. %, best", ALL, 100 * best),
        ("discriminator sentence acc. % at ¼ → ½ → ¾ → end of training", ALL, quarters),
    ]
    if "disc_majority" in last:  # logged since 2026-12 (older records: not known)
        out.append(("discriminator: constant guess %", ALL, 100 * last["disc_majority"]))
    if "disc_loss" in last:
        out.append(("discriminator loss (nats), final", ALL, last["disc_loss"]))
    return out


def training_diagnostics(record: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """(plug-in, diagnostic, language, value) of one record's training."""
    reports = record.get("method_reports", {})
    out = []
    for plugin, read in (("mlm", _mlm), ("alignment", _alignment)):
        if isinstance(reports.get(plugin), dict):
            out += [(plugin, *d) for d in read(reports[plugin])]
    if isinstance(reports.get("backtranslation"), dict):
        out += [("backtranslation", *d) for d in _backtranslation(reports["backtranslation"])]
    if "adversarial" in reports:
        out += [("adversarial", *d) for d in _adversarial(record["training"].get("curve", []))]
    return out


def diagnostic_rows(runs: list[Any]) -> list[dict[str, Any]]:
    """One row per (backbone, task, setting, method, plug-in, diagnostic, language): the mean
    over trainings, and how many trainings."""
    seen, values = set(), defaultdict(list)
    for run in runs:
        c = run.config
        training = (c["backbone"], c["method"], c["task"], c["setting"], c["seed"])
        training += (run.cost.get("shared_by") or (c["lang"],),)
        if training in seen:
            continue
        seen.add(training)
        record = json.loads(run.path.read_text())
        for plugin, name, lang, value in training_diagnostics(record):
            key = (c["backbone"], c["task"], c["setting"], c["method"], plugin, name, lang)
            values[key].append(value)
    rows = []
    for (backbone, task, setting, method, plugin, name, lang), got in sorted(values.items()):
        rows.append(
            {
                "backbone": backbone,
                "task": task,
                "setting": setting,
                "method": method,
                "diagnostic": f"+{plugin}: {name}",
                "lang": lang,
                "value": mean_value(got),
                "trainings": len(got),
            }
        )
    return rows


def mean_value(got: list[Any]) -> Any:
    """The mean of a diagnostic's values: numbers, or (before, after) pairs element-wise."""
    if isinstance(got[0], tuple):
        return tuple(mean(v[i] for v in got) for i in range(len(got[0])))
    return mean(got)


def value_text(value: Any) -> str:
    def one(x: float) -> str:
        if x == int(x):
            return f"{x:.0f}"
        return f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}"  # a loss or a BLEU near 0: two places

    return " → ".join(one(v) for v in value) if isinstance(value, tuple) else one(value)


def diagnostics_markdown(rows: list[dict[str, Any]], langs: list[str]) -> str:
    """The rows as one Markdown table, languages as columns (``all``: pooled)."""
    import pandas as pd

    if not rows:
        return "no records of a method with diagnostics yet\n"
    df = pd.DataFrame([{**r, "value": value_text(r["value"])} for r in rows])
    keys = ["backbone", "task", "setting", "method", "diagnostic"]
    table = df.pivot_table(index=keys, columns="lang", values="value", aggfunc="first")
    table["trainings"] = df.groupby(keys)["trainings"].max()
    order = [lang for lang in ["eng", *langs, ALL] if lang in table.columns]
    table = table[[*order, "trainings"]].reset_index()
    table.columns.name = None
    return table.fillna("").to_markdown(index=False) + "\n\n" + LEGEND + "\n"


LEGEND = (
    "Values: mean over the trainings of the row (a zero-shot training's records count once); "
    "stages shared by seeds (a stage's own seed is fixed) give the same value to each. "
    "Perplexity: masked-LM on held-out lines of each language. Retrieval: nearest-neighbour "
    "accuracy of mean-pooled sentence vectors, both directions averaged. Discriminator: the "
    "sentence-level language classifier behind gradient reversal, its accuracy over the last "
    "logging interval against the share of the most frequent language (a constant guess); "
    "below the guess, the encoder is winning. Its loss (cross-entropy, the last interval's "
    "mean) tells a discriminator that reads language from one that only knows the languages' "
    "shares: the latter scores their entropy (English half of each batch and three targets "
    "sharing the rest: 0.5 ln 2 + 0.5 ln 6 = 1.24 nats; four languages alike: ln 4 = 1.39). "
    "Translator dev: the suite's en↔xx model that "
    "makes the synthetic data, on the first 200 lines of each dev direction, beam 4."
)


def diagnostics_csv(rows: list[dict[str, Any]]) -> str:
    import pandas as pd

    flat = []
    for r in rows:  # a (before, after) pair: value = after; a path over training: value = end
        v = r["value"]
        path = v if isinstance(v, tuple) else (v,)
        before = path[0] if len(path) == 2 else None
        over = " → ".join(f"{x:g}" for x in path) if len(path) > 2 else None
        flat.append({**r, "value": path[-1], "before": before, "over_training": over})
    return pd.DataFrame(flat).to_csv(index=False)
