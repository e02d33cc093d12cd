"""Significance tests: each checked against a case whose answer is known."""

from __future__ import annotations

import random

import pytest
from seqeval.metrics import f1_score

from bench.significance import (
    accuracy_test,
    aso,
    entity_counts,
    f1_from_counts,
    f1_test,
    holm,
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


def test_bootstrap_resamples_rows_as_a_loop_would():
    """The matrix form of the paired bootstrap equals resampling rows one sample at a time."""
    import numpy as np

    from bench.significance import _bootstrap

    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 3, size=(40, 3)).astype(float), rng.integers(0, 3, size=(40, 3))
    result = _bootstrap(a, b.astype(float), f1_from_counts, 50, seed=9)
    idx = np.random.default_rng(9).integers(0, 40, size=(50, 40))
    deltas = [f1_from_counts(a[i].sum(0)) - f1_from_counts(b[i].sum(0)) for i in idx]
    assert result["ci_low"] == pytest.approx(np.percentile(deltas, 2.5), abs=1e-12)
    assert result["ci_high"] == pytest.approx(np.percentile(deltas, 97.5), abs=1e-12)
