"""Significance tests for comparing two systems: paired over test examples, and over seeds.

* Paired bootstrap over test examples (Koehn 2004; Berg-Kirkpatrick et al. 2012): resample the
  test set with replacement, recompute the corpus metric for both systems on the same sample;
  two-sided p = (1 + #{|δ* − δ| ≥ |δ|}) / (n + 1), and a 95% percentile interval of δ. Accuracy
  and entity F1 work from per-example sufficient statistics (correctness; entity tp/fp/fn), so
  resampling is a sum over rows. BLEU and chrF++ use sacreBLEU's paired bootstrap (Moses'
  test, ``sacrebleu --paired-bs``) on sacreBLEU's per-sentence statistics, with its indices
  and score functions but summed as one matrix product (`translation_bootstrap`: the same
  p-values, a test checks); `translation_test` is sacreBLEU's own API, with approximate
  randomisation (``--paired-ar``).
* Over seeds: Almost Stochastic Order (Dror et al. 2019; del Barrio et al. 2018) as the
  ``deepsig`` package computes it, vectorised: ε_min < 0.5 says A is stochastically larger.
* Holm's step-down correction across the comparisons of one table.

Exercise: ``python -c "from bench.report.significance import holm; print(holm({'a': 0.01, 'b': 0.04}))"``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

SAMPLES = 1000
CHUNK = 1000  # translation resamples drawn at once (bounded memory; the same indices)
SEED = 12345  # sacreBLEU's default seed, so the two kinds of test agree in spirit


def holm(pvalues: dict[Hashable, float]) -> dict[Hashable, float]:
    """Holm-adjusted p-values (monotone step-down; family-wise error control)."""
    order = sorted(pvalues, key=pvalues.__getitem__)
    m, running, out = len(order), 0.0, {}
    for i, key in enumerate(order):
        running = max(running, min(1.0, (m - i) * pvalues[key]))
        out[key] = running
    return out


def _bootstrap(
    stat_a: np.ndarray, stat_b: np.ndarray, metric, n: int, seed: int
) -> dict[str, float]:
    """Paired bootstrap of ``metric(column sums)`` over rows of per-example statistics.

    Resampling rows uniformly with replacement draws each distinct row (a, b) a
    Multinomial(rows, its share) number of times, so a resample is drawn as counts over the
    distinct rows (a handful for accuracy: four; tens for entity counts) instead of ``rows``
    indices: the same bootstrap distribution, at a cost independent of the test-set size."""
    rng = np.random.default_rng(seed)
    rows, width = len(stat_a), stat_a.shape[1]
    observed = metric(stat_a.sum(0)) - metric(stat_b.sum(0))
    kinds, counts = np.unique(np.hstack([stat_a, stat_b]), axis=0, return_counts=True)
    sums = rng.multinomial(rows, counts / rows, size=n) @ kinds  # exact: small integers
    deltas = np.array([metric(s[:width]) - metric(s[width:]) for s in sums])
    p = (1 + np.sum(np.abs(deltas - observed) >= abs(observed))) / (n + 1)
    low, high = np.percentile(deltas, [2.5, 97.5])
    return {
        "delta": float(observed),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": float(p),
    }


def accuracy_test(
    pred_a: Sequence[Any],
    pred_b: Sequence[Any],
    gold: Sequence[Any],
    n: int = SAMPLES,
    seed: int = SEED,
) -> dict[str, float]:
    """Paired bootstrap of accuracy (A − B)."""
    a = np.array([[p == g] for p, g in zip(pred_a, gold, strict=True)], dtype=float)
    b = np.array([[p == g] for p, g in zip(pred_b, gold, strict=True)], dtype=float)
    return _bootstrap(a, b, lambda s: s[0] / len(gold), n, seed)


def entity_sets(tags: Sequence[Sequence[str]]) -> list[set]:
    """Per sentence, its entities as seqeval's default (conlleval) mode reads them."""
    from seqeval.metrics.sequence_labeling import get_entities

    return [set(get_entities(list(t))) for t in tags]


def entity_counts(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], gold_sets: list | None = None
) -> np.ndarray:
    """Per sentence (true positives, predicted entities, gold entities), exact span match as
    seqeval's default (conlleval) mode; ``gold_sets`` (`entity_sets` of the gold) saves
    reading the gold again when many systems are counted against it."""
    gold_sets = entity_sets(gold) if gold_sets is None else gold_sets
    out = np.zeros((len(gold), 3))
    for i, (gs, ps) in enumerate(zip(gold_sets, entity_sets(pred), strict=True)):
        out[i] = (len(gs & ps), len(ps), len(gs))
    return out


def f1_from_counts(s: np.ndarray) -> float:
    tp, predicted, actual = s
    return 0.0 if tp == 0 else 2 * tp / (predicted + actual)


def f1_test(
    pred_a: Sequence[Sequence[str]],
    pred_b: Sequence[Sequence[str]],
    gold: Sequence[Sequence[str]],
    n: int = SAMPLES,
    seed: int = SEED,
) -> dict[str, float]:
    """Paired bootstrap of micro entity F1 (A − B)."""
    return f1_test_counts(entity_counts(gold, pred_a), entity_counts(gold, pred_b), n, seed)


def f1_test_counts(
    counts_a: np.ndarray, counts_b: np.ndarray, n: int = SAMPLES, seed: int = SEED
) -> dict[str, float]:
    """`f1_test` from `entity_counts` computed beforehand (a baseline's, compared with every
    method, are counted once)."""
    return _bootstrap(counts_a, counts_b, f1_from_counts, n, seed)


def translation_metric(name: str):
    """sacreBLEU's metric object for ``bleu`` or ``chrf++`` (default settings, as the records')."""
    from sacrebleu.metrics import BLEU, CHRF

    return {"bleu": BLEU, "chrf++": lambda: CHRF(word_order=2)}[name]()


_WITH_REFS: dict[tuple, Any] = {}  # (metric, references) -> sacreBLEU metric, refs read once


def translation_stats(name: str, hyps: Sequence[str], refs: Sequence[str]) -> np.ndarray:
    """sacreBLEU's per-sentence sufficient statistics of ``bleu`` or ``chrf++`` (one row per
    sentence: a corpus score is a function of their column sums). The references' n-grams are
    read once per test set and metric (sacreBLEU's reference cache), not once per system."""
    key = (name, tuple(refs))
    if key not in _WITH_REFS:
        if len(_WITH_REFS) >= 64:  # bounded: a long-lived process scores many test sets
            _WITH_REFS.clear()
        metric = translation_metric(name)
        metric._ref_cache = metric._cache_references([list(refs)])
        _WITH_REFS[key] = metric
    metric = _WITH_REFS[key]
    return np.array(metric._extract_corpus_statistics(list(hyps), None), dtype=float)


def translation_bootstrap(
    stats_a: np.ndarray, stats_b: np.ndarray, name: str, n: int = SAMPLES, seed: int = SEED
) -> dict[str, float]:
    """sacreBLEU's paired bootstrap of A against B (Moses' bootstrap-hypothesis-difference-
    significance test, ``sacrebleu --paired-bs``) on `translation_stats`.

    The same resample indices (NumPy's ``default_rng(seed).choice``, drawn CHUNK resamples at a
    time, which yields the same sequence), the same float32 sums and sacreBLEU's own score
    function, so the p-value is sacreBLEU's; only the sums are one matrix product of draw
    counts instead of a fancy-indexed copy per resample, and only the metric asked for is
    computed. p = (1 + #{|δ*| − mean|δ*| > |δ|}) / (n + 1)."""
    metric = translation_metric(name)
    rng = np.random.default_rng(seed)
    rows = len(stats_a)
    score_a = metric._compute_score_from_stats(stats_a.sum(0)).score
    score_b = metric._compute_score_from_stats(stats_b.sum(0)).score
    diffs = np.empty(n)
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        idx = rng.choice(rows, size=(size, rows), replace=True)
        offsets = (idx + rows * np.arange(size)[:, None]).ravel()
        drawn = np.bincount(offsets, minlength=size * rows).reshape(size, rows).astype(float)
        sums_a, sums_b = drawn @ stats_a, drawn @ stats_b  # float32: sacreBLEU's resamples
        scores = resample_scores(metric, np.vstack([sums_a, sums_b]).astype(np.float32))
        diffs[start : start + size] = np.abs(scores[:size] - scores[size:])
    centred = diffs - diffs.mean()
    p = (1 + np.sum(centred > abs(score_a - score_b))) / (n + 1)
    return {"a": score_a, "b": score_b, "delta": score_a - score_b, "p_value": float(p)}


def resample_scores(metric: Any, sums: np.ndarray) -> np.ndarray:
    """sacreBLEU's ``metric._compute_score_from_stats(row).score`` for every row of float32
    statistic sums at once, bit for bit: the float32 and float64 steps of its scalar code in the
    same order, its ``math.log``/``math.exp`` (a test checks equality on edge-case rows). The
    per-row calls were most of `bench paper`'s time (two per resample, 10,000 resamples).
    Only `translation_metric`'s settings are replicated; any other metric is refused."""
    from sacrebleu.metrics import BLEU, CHRF

    if isinstance(metric, BLEU) and (
        metric.smooth_method,
        metric.max_ngram_order,
        metric.effective_order,
    ) == ("exp", 4, False):
        return _bleu_rows(sums)
    if isinstance(metric, CHRF) and (metric.beta, metric.eps_smoothing) == (2, False):
        return _chrf_rows(sums)
    raise ValueError(
        f"resample_scores replicates sacreBLEU's default BLEU and chrF++ only: {metric}"
    )


def _bleu_rows(s: np.ndarray) -> np.ndarray:
    """`BLEU.compute_bleu` (exp smoothing, 4-grams, no effective order) per row."""
    sys_len, ref_len = s[:, 0].astype(np.int64), s[:, 1].astype(np.int64)
    correct, total = s[:, 2:6].astype(float), s[:, 6:10].astype(float)  # float32 -> exact
    bp = np.ones(len(s))
    short = sys_len < ref_len
    ratio = 1 - ref_len[short] / np.maximum(sys_len[short], 1)
    bp[short] = np.where(sys_len[short] > 0, _map(math.exp, ratio), 0.0)
    precisions = np.zeros((len(s), 4))
    alive, smooth = np.ones(len(s), bool), np.ones(len(s))
    for k in range(4):
        alive &= total[:, k] != 0  # sacreBLEU stops at the first order with no n-grams
        zero = alive & (correct[:, k] == 0)
        smooth = np.where(zero, smooth * 2, smooth)
        with np.errstate(divide="ignore", invalid="ignore"):
            precisions[:, k] = np.where(
                zero, 100.0 / (smooth * total[:, k]), 100.0 * correct[:, k] / total[:, k]
            )
        precisions[~alive, k] = 0.0
    logs = np.where(precisions == 0, -9999999999.0, 0.0)
    positive = precisions > 0
    logs[positive] = _map(math.log, precisions[positive])
    summed = ((logs[:, 0] + logs[:, 1]) + logs[:, 2]) + logs[:, 3]  # Python's sum, in order
    score = bp * _map(math.exp, summed / 4)
    return np.where((correct != 0).any(1), score, 0.0)


def _chrf_rows(s: np.ndarray) -> np.ndarray:
    """`CHRF._compute_f_score` (β = 2, effective-order averaging, no eps smoothing) per row."""
    orders = s.shape[1] // 3
    avg_prec, avg_rec, effective = np.zeros(len(s)), np.zeros(len(s)), np.zeros(len(s), int)
    for i in range(orders):
        n_hyp, n_ref, n_match = s[:, 3 * i], s[:, 3 * i + 1], s[:, 3 * i + 2]  # float32
        both = (n_hyp > 0) & (n_ref > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            prec, rec = n_match / n_hyp, n_match / n_ref  # float32 divisions, as sacreBLEU's
        avg_prec += np.where(both, prec.astype(float), 0.0)
        avg_rec += np.where(both, rec.astype(float), 0.0)
        effective += both
    divisor = np.maximum(effective, 1)
    avg_prec = np.where(effective > 0, avg_prec / divisor, 0.0)
    avg_rec = np.where(effective > 0, avg_rec / divisor, 0.0)
    nonzero = (avg_prec + avg_rec) != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        score = ((5 * avg_prec) * avg_rec) / ((4 * avg_prec) + avg_rec)
    return np.where(nonzero, 100 * score, 0.0)


def _map(fn, values: np.ndarray) -> np.ndarray:
    return np.fromiter(map(fn, values.tolist()), float, len(values))


def translation_test(
    hyps_a: Sequence[str],
    hyps_b: Sequence[str],
    refs: Sequence[str],
    test_type: str = "bs",
    n: int = SAMPLES,
) -> dict[str, dict[str, float]]:
    """sacreBLEU's own paired test (``bs`` bootstrap or ``ar`` approximate randomisation) of A
    against B on BLEU and chrF++: per metric, the scores, δ, B-vs-A p-value and signature.
    The leaderboards use `translation_bootstrap` (same bootstrap p-values, much faster)."""
    from sacrebleu.significance import PairedTest

    test = PairedTest(
        [("B", list(hyps_b)), ("A", list(hyps_a))],
        {"bleu": translation_metric("bleu"), "chrf++": translation_metric("chrf++")},
        [list(refs)],
        test_type=test_type,
        n_samples=n,
    )
    signatures, results = test()
    out = {}
    for metric, name in (("bleu", "BLEU"), ("chrf++", "chrF2++")):  # sacreBLEU's display names
        base, system = results[name]
        out[metric] = {
            "a": system.score,
            "b": base.score,
            "delta": system.score - base.score,
            "p_value": system.p_value,
            "signature": str(signatures[name]),
        }
    return out


def aso(
    scores_a: Sequence[float],
    scores_b: Sequence[float],
    seed: int = SEED,
    iterations: int = 1000,
    dt: float = 0.005,
    confidence: float = 0.95,
) -> float:
    """ε_min of Almost Stochastic Order (A over B) on per-seed scores: an upper confidence
    bound on the share of the quantile range where A falls below B. Below 0.5: A is
    stochastically larger (0: everywhere); 0.5 or more: no such claim. With two or three seeds
    the bound is loose, so ε_min often sits at 1 even where A's mean is higher: read it as "not
    shown", not as "B always better"; the caller says how many seeds there were.

    The algorithm and defaults of ``deepsig.aso`` (Ulmer et al. 2022), computed over all
    bootstrap iterations at once: the same per-iteration seeds (seed + i, NumPy's legacy
    generator) and the same quantile functions give deepsig's numbers (tests check it) about a
    hundred times faster, which matters when a table holds hundreds of comparisons."""
    from scipy.stats import norm

    a, b = np.sort(np.asarray(scores_a, float)), np.sort(np.asarray(scores_b, float))
    t = np.arange(dt, 1, dt)
    ratio = _violation_ratios(a[None, :], b[None, :], t, dt)[0]
    draws_a, draws_b = _aso_draws(seed, iterations, len(a), len(b))
    samples_a = np.sort(a[_quantile_index(draws_a, len(a))], axis=1)
    samples_b = np.sort(b[_quantile_index(draws_b, len(b))], axis=1)
    samples = _violation_ratios(samples_a, samples_b, t, dt)
    const = np.sqrt(len(a) * len(b) / (len(a) + len(b)))
    sigma = np.std(const * (samples - ratio))
    return float(np.clip(ratio - sigma / const * norm.ppf(1 - confidence), 0, 1))


@functools.lru_cache(maxsize=64)
def _aso_draws(seed: int, iterations: int, n_a: int, n_b: int) -> tuple[np.ndarray, np.ndarray]:
    """deepsig's uniform draws per iteration (seeded seed + 1, seed + 2, ...): the same for
    every comparison of as many seeds, so a table draws them once (read-only)."""
    draws_a = np.empty((iterations, n_a))
    draws_b = np.empty((iterations, n_b))
    for i in range(iterations):
        state = np.random.RandomState(seed + i + 1)
        draws_a[i] = state.uniform(0, 1, n_a)
        draws_b[i] = state.uniform(0, 1, n_b)
    draws_a.flags.writeable = draws_b.flags.writeable = False
    return draws_a, draws_b


def _quantile_index(p: np.ndarray, n: int) -> np.ndarray:
    """Index into sorted scores of the empirical quantile function at p (deepsig's)."""
    return np.clip(np.ceil(n * p).astype(int) - 1, 0, n - 1)


def _violation_ratios(a: np.ndarray, b: np.ndarray, t: np.ndarray, dt: float) -> np.ndarray:
    """ε_W2 (Dror et al. 2019, eq. 4-5) of each row pair of sorted samples: the share of the
    squared Wasserstein distance where A's quantiles fall below B's (0.5 where equal)."""
    f = a[:, _quantile_index(t, a.shape[1])]
    g = b[:, _quantile_index(t, b.shape[1])]
    diff = g - f
    total = np.sum(diff**2 * dt, axis=1)
    diff[f >= g] = 0
    violated = np.sum(diff[:, 1:] ** 2 * dt, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total == 0, 0.5, violated / total)
