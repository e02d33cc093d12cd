"""The claims table (`bench.report.leaderboard.claims`): verdicts from the statistics."""

from __future__ import annotations

import pytest

from bench.core.errors import BenchError
from bench.report.leaderboard.claims import check_claims, claim_rows, claims_markdown

LANGS = ["swa", "yor", "hau"]
CLAIM = {
    "claim": "+30% accuracy",
    "task": "xnli",
    "setting": "zero-shot",
    "selection": "source-dev",
    "metrics": ["acc"],
    "relative": 30,
}


def row(method, lang, mean, std=1.0, p=None, status="ok", seeds=3):
    r = {
        "backbone": "me5_small",
        "setting": "zero-shot",
        "selection": "source-dev",
        "method": method,
        "task": "xnli",
        "lang": lang,
        "metric": "acc",
        "mean": mean,
        "std": std,
        "seeds": seeds,
        "status": status,
        "mt": lang != "swa",
    }
    if p is not None:
        r.update(p=p, delta=mean - 40.0, relative=100 * (mean - 40.0) / 40.0)
    return r


def verdict(means, ps, status="ok", langs=LANGS):
    rows = [row("baseline", lang, 40.0) for lang in LANGS]
    rows += [
        row("full", lang, m, p=p, status=status)
        for lang, m, p in zip(langs, means, ps, strict=False)
    ]
    (out,) = claim_rows(rows, [CLAIM], LANGS, ["baseline", "full"])
    return out


def test_a_large_significant_gain_everywhere_reproduces_the_claim():
    out = verdict([55.0, 54.0, 53.0], [1e-4] * 3)
    assert out["verdict"] == "reproduced"
    assert out["relative_pct"] == pytest.approx(100 * 14.0 / 40.0)
    assert out["test sets"] == "swa, yor (MT), hau (MT)"


def test_a_significant_but_smaller_gain_does_not():
    assert verdict([44.0, 44.0, 44.0], [1e-4] * 3)["verdict"] == "not reproduced"  # +10%
    # large on average, but one language loses significantly
    assert verdict([70.0, 70.0, 35.0], [1e-4] * 3)["verdict"] == "not reproduced"


def test_no_significant_language_means_not_significant():
    assert verdict([55.0, 54.0, 53.0], [0.2, 0.3, 0.5])["verdict"] == "not significant"


def test_holm_runs_over_the_table_not_per_cell():
    # each p alone is below 0.05; three comparisons, Holm: 0.04 * 3 > 0.05 for the smallest
    assert verdict([55.0, 54.0, 53.0], [0.04, 0.045, 0.049])["verdict"] == "not significant"


def test_collapsed_runs_and_missing_languages_are_said():
    collapsed = verdict([55.0, 54.0, 53.0], [1e-4] * 3, status="invalid (3 of 3 collapsed)")
    assert collapsed["verdict"].startswith("not checkable")
    partial = verdict([55.0, 54.0], [1e-4] * 2, langs=["swa", "yor"])
    assert partial["verdict"] == "incomplete (no records for hau)"


def test_the_interval_averages_over_languages():
    out = verdict([50.0, 50.0, 50.0], [1e-4] * 3)
    # per language var = 1/3 + 1/3; mean over 3: 1.96 * sqrt(3 * 2/3) / 3
    assert out["half_width"] == pytest.approx(1.96 * (2.0**0.5) / 3)
    text = claims_markdown([out], LANGS, 10000)
    assert "| not reproduced |" in text and "10,000 resamples" in text  # +25% < 30%


def test_a_claim_spec_is_checked():
    with pytest.raises(BenchError, match="at least one"):
        check_claims({}, "x.toml")
    broken = {k: v for k, v in CLAIM.items() if k != "relative"} | {"gain": 1}
    with pytest.raises(BenchError, match="claim 1 lacks relative and has unknown field"):
        check_claims({"claims": [broken]}, "x.toml")
