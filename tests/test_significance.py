"""Significance tests: each checked against a case whose answer is known."""

from __future__ import annotations

import random

import numpy as np
import pytest
from seqeval.metrics import f1_score

from bench.report.significance import (
    accuracy_test,
    aso,
    entity_counts,
    f1_from_counts,
    f1_test,
    holm,
    translation_bootstrap,
    translation_stats,
    translation_test,
)


def test_holm_adjusts_step_down_and_stays_monotone():
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.5})
    assert adjusted == pytest.approx({"a": 0.04, "c": 0.09, "b": 0.09, "d": 0.5})
    assert holm({"x": 0.6, "y": 0.7}) == {"x": 1.0, "y": 1.0}


def test_accuracy_bootstrap_separates_a_better_system_from_noise():
    rng = random.Random(0)
    gold = [rng.randrange(3) for _ in range(600)]
    good = [g if rng.random() < 0.8 else (g + 1) % 3 for g in gold]
    weak = [g if rng.random() < 0.6 else (g + 1) % 3 for g in gold]
    result = accuracy_test(good, weak, gold, n=500)
    assert result["p_value"] < 0.01 and result["ci_low"] > 0 < result["delta"]
    assert result["ci_low"] <= result["delta"] <= result["ci_high"]
    same = accuracy_test(good, good, gold, n=200)
    assert same["delta"] == 0 and same["p_value"] == 1.0


def test_entity_f1_from_counts_equals_seqeval_and_bootstrap_is_paired():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"], ["B-LOC", "O"]] * 50
    pred = [["B-PER", "I-PER", "O", "O"], ["O", "B-ORG"], ["B-PER", "O"]] * 50
    assert f1_from_counts(entity_counts(gold, pred).sum(0)) == pytest.approx(f1_score(gold, pred))
    result = f1_test(gold, pred, gold, n=300)
    assert result["delta"] == pytest.approx(1 - f1_score(gold, pred)) and result["p_value"] < 0.01


def test_translation_paired_tests_use_sacrebleu():
    refs = ["the cat sat on the mat", "a dog barks loudly", "it rains in Kano today"] * 20
    close = ["the cat sat on the mat", "a dog barks loudly", "it rains in Kano"] * 20
    far = ["cat mat", "dog", "rain"] * 20
    for kind in ("bs", "ar"):
        result = translation_test(close, far, refs, test_type=kind, n=200)
        assert result["bleu"]["delta"] > 0 and result["bleu"]["p_value"] < 0.05
        assert result["chrf++"]["delta"] > 0 and f"{kind}:" in result["bleu"]["signature"]


@pytest.mark.parametrize("metric", ["bleu", "chrf++"])
def test_translation_bootstrap_gives_sacrebleus_p_values(metric):
    """The leaderboards' paired bootstrap (matrix-product sums) = sacreBLEU's --paired-bs,
    number for number, on systems near each other (p away from 0) and far apart; an odd
    resample count crosses a chunk boundary mid-draw."""
    rng = random.Random(3)
    words = [
        "the",
        "a",
        "cat",
        "dog",
        "sat",
        "ran",
        "on",
        "in",
        "mat",
        "house",
        "Kano",
        "rain",
        "today",
        "loudly",
        "barks",
    ]
    refs = [" ".join(rng.choices(words, k=rng.randint(3, 12))) for _ in range(150)]

    def noisy(p):
        return [
            " ".join(w if rng.random() > p else rng.choice(words) for w in r.split()) for r in refs
        ]

    a, b, c = noisy(0.30), noisy(0.33), noisy(0.7)
    pvalues = []
    for hyps_a, hyps_b, n in ((a, b, 1201), (a, c, 300), (b, a, 250)):
        expected = translation_test(hyps_a, hyps_b, refs, "bs", n)[metric]
        ours = translation_bootstrap(
            translation_stats(metric, hyps_a, refs),
            translation_stats(metric, hyps_b, refs),
            metric,
            n,
        )
        assert ours["p_value"] == expected["p_value"]
        assert (ours["a"], ours["b"]) == pytest.approx((expected["a"], expected["b"]), abs=1e-9)
        pvalues.append(ours["p_value"])
    assert pvalues[0] > 0.003 and pvalues[1] == 1 / 301  # near pair: some resamples reverse it


@pytest.mark.parametrize("metric", ["bleu", "chrf++"])
def test_resample_scores_are_sacrebleus_bit_for_bit(metric):
    """The vectorised corpus scores equal sacreBLEU's scalar ones exactly (not approximately:
    a p-value counts comparisons), on rows full of its edge cases (zero matches, orders with no
    n-grams, empty or short systems, counts past float32's exact integers)."""
    from sacrebleu.metrics import BLEU, CHRF

    from bench.report.significance import resample_scores, translation_metric

    rng = np.random.default_rng(0)
    width = 10 if metric == "bleu" else 24
    small = rng.integers(0, 4, size=(3000, width))  # many zeros: every branch
    large = rng.integers(0, 60_000_000, size=(500, width))  # float32 rounds these
    rows = np.vstack([small, large, rng.integers(0, 400, size=(3000, width))])
    if metric == "bleu":  # matches never exceed n-grams in real statistics; keep both kinds
        rows[::2, 2:6] = np.minimum(rows[::2, 2:6], rows[::2, 6:10])
    rows = rows.astype(np.float32)
    scorer = translation_metric(metric)
    expected = [scorer._compute_score_from_stats(r).score for r in rows]
    assert resample_scores(scorer, rows).tolist() == expected
    other = BLEU(smooth_method="floor") if metric == "bleu" else CHRF(eps_smoothing=True)
    with pytest.raises(ValueError, match="default BLEU and chrF"):  # settings it does not replay
        resample_scores(other, rows)


@pytest.mark.parametrize("metric", ["bleu", "chrf++"])
def test_translation_stats_read_each_test_sets_references_once_and_right(metric):
    """Statistics with sacreBLEU's reference cache (kept per test set) are those of a fresh
    metric given the references, for every test set in turn."""
    from bench.report.significance import translation_metric

    sets = {
        "one": ["the cat sat on the mat", "a dog barks loudly today"],
        "two": ["rain in Kano today", "the house is on the hill"],
    }
    hyps = ["the cat sat on a mat", "rain today in Kano"]
    for _ in range(2):  # the second round reads the cache
        for refs in sets.values():
            fresh = translation_metric(metric)._extract_corpus_statistics(hyps, [refs])
            assert translation_stats(metric, hyps, refs).tolist() == fresh


def test_almost_stochastic_order_over_seeds():
    better, worse = [71.2, 70.8, 71.5, 70.9, 71.1], [65.0, 64.2, 65.8, 64.9, 65.1]
    assert aso(better, worse) < 0.2
    assert aso(worse, better) > 0.8


def test_vectorised_aso_gives_deepsigs_numbers():
    """Our ASO is deepsig's algorithm over all bootstrap iterations at once: same ε_min."""
    import numpy as np
    from deepsig import aso as deepsig_aso

    rng = np.random.default_rng(7)
    cases = [
        (rng.normal(0, 1, 3), rng.normal(0.5, 1, 3)),
        (rng.normal(0, 1, 5), rng.normal(0, 1, 4)),  # unequal seed counts
        ([30.0, 31.0, 29.0], [20.0, 21.0, 22.0]),
        ([0.1, 0.2], [0.3, 0.4, 0.5]),
        ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]),  # no distance at all: 0.5
    ]
    with pytest.warns(UserWarning, match="Division by zero"):  # deepsig's, for the last case
        for a, b in cases:
            expected = deepsig_aso(np.array(a), np.array(b), seed=3, show_progress=False)
            assert aso(a, b, seed=3) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_bootstrap_over_distinct_rows_is_the_row_bootstrap():
    """Drawing counts of the distinct rows (multinomial) gives the distribution of resampling
    rows one index at a time: same percentiles and p-value within Monte-Carlo error."""
    import numpy as np

    from bench.report.significance import _bootstrap

    rng = np.random.default_rng(1)
    a = rng.integers(0, 3, size=(300, 3)).astype(float)
    b = np.clip(a + rng.integers(-1, 2, size=(300, 3)), 0, None)
    n = 20000
    ours = _bootstrap(a, b, f1_from_counts, n, seed=9)
    idx = np.random.default_rng(9).integers(0, 300, size=(n, 300))
    deltas = np.array([f1_from_counts(a[i].sum(0)) - f1_from_counts(b[i].sum(0)) for i in idx])
    observed = f1_from_counts(a.sum(0)) - f1_from_counts(b.sum(0))
    spread = deltas.std()
    assert ours["delta"] == observed
    assert ours["ci_low"] == pytest.approx(np.percentile(deltas, 2.5), abs=0.05 * spread)
    assert ours["ci_high"] == pytest.approx(np.percentile(deltas, 97.5), abs=0.05 * spread)
    p_loop = (1 + np.sum(np.abs(deltas - observed) >= abs(observed))) / (n + 1)
    assert 0.02 < p_loop < 0.98  # a case where p is neither floor nor one
    assert ours["p_value"] == pytest.approx(p_loop, abs=0.015)
