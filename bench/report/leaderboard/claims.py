"""The claims table (`bench paper`, a spec of ``kind = "claims"``): each published claim of the
form "+X% <metric> on <task> for low-resource languages", checked against the records. One row
per (claim, backbone, method, metric): the change over the baseline per language and averaged
over the languages, absolute and relative, with a 95% interval over seeds, the paired bootstrap
after Holm's correction, the test sets (machine-translated ones flagged) and a verdict.

Exercise: ``bench paper --out /tmp/generated`` (leaderboards/claims.toml).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.core.errors import BenchError
from bench.report.leaderboard.compare import ALPHA, delta_variance
from bench.report.leaderboard.render import BUILD_LEGEND, build_mark

CLAIM_KEYS = {"claim", "task", "setting", "selection", "metrics", "relative"}

# What backbones are for, said beside their rows (the tiny ones only check the pipeline).
PURPOSE = {"tiny_xlmr": "tiny_xlmr (pipeline check)", "tiny_bert": "tiny_bert (pipeline check)"}


def check_claims(spec: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """The spec's ``[[claims]]``, every field present and nothing else."""
    claims = spec.get("claims")
    if not claims:
        raise BenchError(f"{where}: a claims table needs at least one [[claims]] entry")
    for i, claim in enumerate(claims, 1):
        missing, unknown = CLAIM_KEYS - set(claim), set(claim) - CLAIM_KEYS
        if missing or unknown:
            raise BenchError(
                f"{where}: claim {i} "
                + (f"lacks {', '.join(sorted(missing))}" if missing else "")
                + (" and " if missing and unknown else "")
                + (f"has unknown field(s) {', '.join(sorted(unknown))}" if unknown else ""),
                hint=f"each [[claims]] entry has exactly: {', '.join(sorted(CLAIM_KEYS))}",
            )
    return claims


def claim_rows(
    rows: list[dict[str, Any]], claims: list[dict[str, Any]], langs: list[str], methods: list[str]
) -> list[dict[str, Any]]:
    """Long on purpose: one pass that reads like the table's definition (the legend's words).

    `rows` are `compare.build`'s; the Holm correction is redone over this table's comparisons
    (one family per backbone: the claims a reader checks together)."""
    from bench.report.significance import holm

    wanted = [  # copies: the Holm p of this table is added without touching `rows`
        dict(r)
        for r in rows
        if "p" in r
        and any(
            (r["task"], r["setting"], r["selection"]) == (c["task"], c["setting"], c["selection"])
            and r["metric"] in c["metrics"]
            for c in claims
        )
        and r["lang"] in langs
    ]
    for backbone in {r["backbone"] for r in wanted}:
        family = {i: r["p"] for i, r in enumerate(wanted) if r["backbone"] == backbone}
        family = {i: p for i, p in family.items() if not np.isnan(p)}
        for i, adjusted in holm(family).items():
            wanted[i]["p_claims"] = adjusted
    base = {
        (r["backbone"], r["task"], r["setting"], r["selection"], r["metric"], r["lang"]): r
        for r in rows
        if r["method"] == "baseline"
    }
    out = []
    for claim in claims:
        for backbone in sorted({r["backbone"] for r in wanted}):
            for method in [m for m in methods if m != "baseline"]:
                for metric in claim["metrics"]:
                    per_lang = {
                        r["lang"]: r
                        for r in wanted
                        if (r["backbone"], r["method"], r["task"], r["metric"])
                        == (backbone, method, claim["task"], metric)
                        and (r["setting"], r["selection"]) == (claim["setting"], claim["selection"])
                    }
                    if not per_lang:
                        continue
                    key = (backbone, claim["task"], claim["setting"], claim["selection"], metric)
                    bases = {lang: base[(*key, lang)] for lang in per_lang}
                    out.append(_row(claim, backbone, method, metric, langs, per_lang, bases))
    return out


def _row(
    claim: dict[str, Any],
    backbone: str,
    method: str,
    metric: str,
    langs: list[str],
    per_lang: dict[str, dict[str, Any]],
    bases: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """One claim row: the mean over languages of the change, its interval and the verdict."""
    variances, cells = {}, {}
    for lang, r in per_lang.items():
        variances[lang] = delta_variance(r, bases[lang])
        star = "*" if r.get("p_claims", 1.0) < ALPHA else ""
        cells[lang] = (
            f"{r['delta']:+.2f} ± {1.96 * np.sqrt(variances[lang]):.2f} "
            f"({r['relative']:+.1f}%){star}{build_mark(r)}"
        )
    n = len(per_lang)
    delta = float(np.mean([r["delta"] for r in per_lang.values()]))
    half = float(1.96 * np.sqrt(sum(variances.values())) / n)
    base_mean = float(np.mean([b["mean"] for b in bases.values()]))
    relative = 100 * delta / base_mean if base_mean else float("nan")
    significant = {lang: r.get("p_claims", 1.0) < ALPHA for lang, r in per_lang.items()}
    missing = [lang for lang in langs if lang not in per_lang]
    floor = [
        lang
        for lang, r in per_lang.items()
        if r["status"].startswith("invalid") or bases[lang]["status"].startswith("invalid")
    ]
    if missing:
        verdict = f"incomplete (no records for {', '.join(missing)})"
    elif floor:  # a relative change between collapsed scores says nothing about the claim
        verdict = f"not checkable: collapsed scores ({', '.join(floor)})"
    elif not any(significant.values()) or abs(delta) <= half:
        verdict = "not significant"
    elif relative >= claim["relative"] and all(
        significant[lang] and r["delta"] > 0 for lang, r in per_lang.items()
    ):
        verdict = "reproduced"
    else:
        verdict = "not reproduced"
    tests = ", ".join(
        lang + (" (MT)" if per_lang[lang]["mt"] else "") for lang in langs if lang in per_lang
    )
    return {
        "claim": claim["claim"],
        "backbone": PURPOSE.get(backbone, backbone),
        "method": method,
        "metric": f"{claim['task']} {metric}",
        "test sets": tests,
        "seeds": "–".join(sorted({str(r["seeds"]) for r in per_lang.values()})),
        "Δ (mean)": f"{delta:+.2f} ± {half:.2f}",
        "relative": f"{relative:+.1f}% ± {100 * half / base_mean:.1f}" if base_mean else "",
        **{lang: cells.get(lang, "") for lang in langs},
        "verdict": verdict,
        # unformatted, for the CSV
        "delta": delta,
        "half_width": half,
        "relative_pct": relative,
        "claimed_pct": claim["relative"],
        "other_build": any(r.get("other_build") for r in per_lang.values()),
    }


LEGEND = (
    "One row per claim, backbone, method and metric: the change of the method over the baseline "
    "of the same backbone, setting and checkpoint selection. Δ (mean) = the mean over the "
    "languages of the per-language change of means, ± the half-width of its 95% normal "
    "interval over seeds (1.96 √Σ(s_m²/n_m + s_b²/n_b) / L); relative = Δ (mean) over the mean "
    "baseline score (the baseline mean taken as fixed). Per-language cells: Δ ± 95% interval "
    f"(relative change); * = significant at {ALPHA} by the paired bootstrap ({{resamples:,}} "
    "resamples over the pooled test predictions of matching seeds; flores: sacreBLEU's) after "
    "Holm's correction across this table's comparisons of one backbone. Verdict: **not "
    "significant** when no language's change is significant or the interval of Δ (mean) "
    "contains 0; **not checkable** when the method's or the baseline's runs of a language "
    "collapsed to the task's floor (chance accuracy, BLEU ≤ 0.5: the ablation table's status); "
    "**reproduced** when the relative change reaches the claim and the change is a "
    "significant gain in every language; otherwise **not reproduced** (significant, but smaller "
    "than claimed, of the other sign, or not in every language). MT = machine-translated test "
    "set. Zero-shot claims are read with the checkpoint chosen on English dev (true zero-shot)."
)


def claims_markdown(rows: list[dict[str, Any]], langs: list[str], resamples: int) -> str:
    import pandas as pd

    if not rows:
        return "no method and baseline records to check the claims against yet\n"
    columns = ["claim", "backbone", "method", "metric", "test sets", "seeds", "Δ (mean)"]
    columns += ["relative", *langs, "verdict"]
    df = pd.DataFrame(rows)[columns]
    text = LEGEND.format(resamples=resamples)
    text += BUILD_LEGEND if any(r.get("other_build") for r in rows) else ""
    return df.to_markdown(index=False) + "\n\n" + text + "\n"


def claims_csv(rows: list[dict[str, Any]]) -> str:
    import pandas as pd

    return pd.DataFrame(rows).to_csv(index=False)
