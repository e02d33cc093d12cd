"""Ablation leaderboards over run records written here (real test sets, made-up predictions)."""

from __future__ import annotations

import importlib
import os
import random

import pytest

from bench.core.errors import BenchError
from bench.data.task import get_task
from bench.report import leaderboard as lb
from bench.report.leaderboard.claims import claim_rows, claims_markdown
from tests.records import fake_record


@pytest.fixture(scope="module")
def gold(data_root):
    return list(get_task("xnli").load("sw", "test", "zero-shot", data_root).dataset["label"])


def write(results, method, seed, preds, gold, **extra):
    config = {"profile": extra.pop("profile")} if "profile" in extra else {}
    config |= {"setting": extra.pop("setting")} if "setting" in extra else {}
    record = {"backbone": {"weights_sha256": extra.pop("weights", "w1")}}
    if "caveat" in extra:
        record["backbone"]["caveat"] = extra.pop("caveat")
    if "stage" in extra:
        record["method_reports"] = {method: {"key": "k", "weights_sha256": extra.pop("stage")}}
    fake_record(
        results,
        method=method,
        seed=seed,
        selection=extra.pop("selection", "source-dev"),
        metrics={"accuracy": sum(p == g for p, g in zip(preds, gold, strict=True)) / len(gold)},
        backbone=extra.pop("backbone", "tiny"),
        train={"lr": extra.pop("lr", 1e-4), "seed": seed},
        config=config,
        record=record,
        predictions=preds,
    )


def noisy(gold, right, seed):
    rng = random.Random(seed)
    labels = sorted(set(gold))
    return [g if rng.random() < right else rng.choice(labels) for g in gold]


def test_ablation_compares_methods_with_the_baseline(tmp_path, gold, data_root):
    for seed in (1, 2, 3):
        write(tmp_path, "baseline", seed, noisy(gold, 0.30, seed), gold)
        write(tmp_path, "mlm", seed, noisy(gold, 0.45, 10 + seed), gold)
        write(tmp_path, "adversarial", seed, noisy(gold, 0.30, 20 + seed), gold)
    rows = lb.build(lb.load_runs(tmp_path), data_root, samples=200)
    by = {r["method"]: r for r in rows}
    assert by["baseline"]["seeds"] == 3 and "delta" not in by["baseline"]
    assert by["mlm"]["delta"] > 5 and by["mlm"]["p_holm"] < 0.05 and by["mlm"]["aso"] < 0.5
    assert by["adversarial"]["p_holm"] > 0.05  # same accuracy, different noise
    assert by["adversarial"]["p_holm"] >= by["adversarial"]["p"]  # Holm never lowers p
    text = lb.markdown(rows)
    assert "| mlm " in text and "*]" in text and "†" in text  # significant; fewer than 5 seeds
    footer = lb.provenance(lb.load_runs(tmp_path), "bench paper")
    assert "9 run records from 9 trainings; seeds 1, 2, 3" in footer
    assert "tiny (weights w1)" in footer and "Regenerate: `bench paper`" in footer
    assert lb.csv(rows).splitlines()[0].startswith("backbone,setting,selection,method")


def test_comparisons_are_stored_and_reused_only_for_the_same_inputs(
    tmp_path, gold, data_root, monkeypatch, _comparison_store
):
    """A rerun reads a comparison back from disk instead of recomputing it (bench paper after
    one new record), gives the same rows, and never reuses one across different inputs."""
    compare = importlib.import_module("bench.report.leaderboard.compare")

    for seed in (1, 2):
        write(tmp_path, "baseline", seed, noisy(gold, 0.30, seed), gold)
        write(tmp_path, "mlm", seed, noisy(gold, 0.45, 10 + seed), gold)
    before = set(_comparison_store.iterdir())
    first = lb.build(lb.load_runs(tmp_path), data_root, samples=200)
    mine = set(_comparison_store.iterdir()) - before
    assert len(mine) == 1  # one comparison: mlm against the baseline
    calls = []
    real = compare._compare
    monkeypatch.setattr(compare, "_compare", lambda *a: calls.append(a) or real(*a))

    def rebuild(samples: int = 200):
        compare._COMPARISONS.clear()  # as a new process
        return lb.build(lb.load_runs(tmp_path), data_root, samples=samples)

    assert rebuild() == first and not calls  # read back, identical
    rebuild(samples=300)  # other inputs: computed, not read
    assert len(calls) == 1
    mine.pop().write_text("{broken")  # unreadable: computed again, not an error
    assert rebuild() == first and len(calls) == 2


def test_comparisons_in_worker_processes_equal_one_by_one(tmp_path, gold, data_root, monkeypatch):
    """`build` computes a table's comparisons in forked workers (one group per baseline
    cell); the seeded bootstraps give the rows they give one by one in this process."""
    compare = importlib.import_module("bench.report.leaderboard.compare")
    results = tmp_path / "results"
    draw = iter(range(100))
    for selection in ("source-dev", "target-dev"):
        for seed in (1, 2):
            for method, right in (("baseline", 0.3), ("mlm", 0.4), ("adversarial", 0.32)):
                preds = noisy(gold, right, next(draw))
                write(results, method, seed, preds, gold, selection=selection)
    runs = lb.load_runs(results)
    real = compare._compare

    def computed_where(*args):  # the process that computed a comparison leaves its pid
        (tmp_path / "pids" / f"{store}-{os.getpid()}").touch()
        return real(*args)

    monkeypatch.setattr(compare, "_compare", computed_where)
    (tmp_path / "pids").mkdir()

    def rows(workers: int) -> list:
        monkeypatch.setattr(compare, "_COMPARISONS", {})  # as a new process
        monkeypatch.setattr(compare, "_store_dir", lambda: tmp_path / store)
        return lb.build(runs, data_root, samples=200, workers=workers)

    store = "alone"
    alone = rows(1)
    store = "forked"
    forked = rows(2)
    assert alone == forked and len([r for r in forked if "p" in r]) == 4
    assert len(list((tmp_path / "forked").iterdir())) == 4  # each stored once
    pids = {p.name for p in (tmp_path / "pids").iterdir()}
    assert f"alone-{os.getpid()}" in pids and f"forked-{os.getpid()}" not in pids
    assert any(p.startswith("forked-") for p in pids)  # computed in the workers, not here


def test_collapsed_runs_follow_the_mlperf_rule(tmp_path, gold, data_root):
    write(tmp_path, "baseline", 1, noisy(gold, 0.5, 1), gold)
    write(tmp_path, "baseline", 2, noisy(gold, 0.5, 2), gold)
    write(tmp_path, "baseline", 3, noisy(gold, 0.0, 3), gold)  # at chance
    (row,) = lb.build(lb.load_runs(tmp_path), data_root, samples=50)
    assert row["status"] == "1 collapsed" and row["mean"] > 60 and len(row["scores"]) == 3
    write(tmp_path, "baseline", 4, noisy(gold, 0.0, 4), gold)
    (row,) = lb.build(lb.load_runs(tmp_path), data_root, samples=50)
    assert row["status"].startswith("invalid") and "✗" in lb.cell_text(row)


def test_a_lone_collapsed_run_is_an_invalid_cell_and_deltas_use_the_shown_means(
    tmp_path, gold, data_root
):
    """One seed, collapsed: nothing is left to exclude, so the cell is invalid and shows the
    run's score (it was 'nan'). A method's Δ is between the means the table shows: with one
    collapsed run excluded, not the mean of all runs."""
    for seed, right in ((1, 0.5), (2, 0.55), (3, 0.6)):
        write(tmp_path, "baseline", seed, noisy(gold, right, seed), gold)
    write(tmp_path, "mlm", 1, noisy(gold, 0.0, 11), gold)  # at chance
    rows = {r["method"]: r for r in lb.build(lb.load_runs(tmp_path), data_root, samples=20)}
    lone = rows["mlm"]
    assert lone["status"] == "invalid (1 of 1 collapsed)" and lone["mean"] == lone["scores"][0]
    assert "nan" not in lb.cell_text(lone) and "✗" in lb.cell_text(lone)
    for seed, right in ((2, 0.8), (3, 0.8)):
        write(tmp_path, "mlm", seed, noisy(gold, right, seed + 10), gold)
    rows = {r["method"]: r for r in lb.build(lb.load_runs(tmp_path), data_root, samples=20)}
    mlm, base = rows["mlm"], rows["baseline"]
    assert mlm["status"] == "1 collapsed" and mlm["mean"] > 70
    assert mlm["delta"] == pytest.approx(mlm["mean"] - base["mean"])
    assert mlm["relative"] == pytest.approx(100 * mlm["delta"] / base["mean"])


def test_identical_predictions_of_different_seeds_are_an_error(tmp_path, gold, data_root):
    preds = noisy(gold, 0.5, 1)
    write(tmp_path, "baseline", 1, preds, gold)
    write(tmp_path, "baseline", 2, preds, gold)
    with pytest.raises(BenchError, match="byte-identical predictions"):
        lb.build(lb.load_runs(tmp_path), data_root)


def test_collapsed_runs_predicting_one_label_may_agree_byte_for_byte(tmp_path, gold, data_root):
    """Two collapsed models (one label for every example) are identical without copying:
    not a provenance error; the cell shows the collapse instead."""
    for seed in (1, 2, 3):
        write(tmp_path, "adversarial", seed, [gold[0]] * len(gold), gold)
    rows = lb.build(lb.load_runs(tmp_path), data_root, samples=20)
    assert rows[0]["status"].startswith("invalid")
    assert lb.constant([["O", "O"], ["O"]]) and not lb.constant([["O", "B-PER"]])
    assert lb.constant({"eng-swa": ["a", "a"]}) and not lb.constant({"eng-swa": ["a", "b"]})


def test_records_disagreeing_on_config_in_one_cell_are_refused(tmp_path, gold, data_root):
    write(tmp_path, "baseline", 1, noisy(gold, 0.5, 1), gold)
    write(tmp_path, "baseline", 2, noisy(gold, 0.5, 2), gold, lr=3e-4)
    with pytest.raises(BenchError, match="disagree on train"):
        lb.build(lb.load_runs(tmp_path), data_root)


def test_runs_of_a_recipe_profile_are_rows_of_their_own(tmp_path, gold, data_root):
    write(tmp_path, "baseline", 1, noisy(gold, 0.5, 1), gold)
    write(tmp_path, "baseline", 1, noisy(gold, 0.4, 2), gold, lr=3e-4, profile="short")
    rows = lb.build(lb.load_runs(tmp_path), data_root, samples=50)  # not "disagree on train"
    assert sorted(r["backbone"] for r in rows) == ["tiny", "tiny:short"]
    assert [r.config["seed"] for r in lb.load_runs(tmp_path, backbone=["tiny:short"])] == [1]
    assert "profile" not in lb.load_runs(tmp_path, backbone=["tiny"])[0].config


def test_zero_shot_and_oracle_selection_sit_side_by_side(tmp_path, gold, data_root):
    for seed in (1, 2):
        for sel, right in (("source-dev", 0.3), ("target-dev", 0.4)):
            write(tmp_path, "baseline", seed, noisy(gold, right, seed), gold, selection=sel)
    rows = lb.build(lb.load_runs(tmp_path), data_root, samples=50)
    text = lb.markdown(rows)
    assert text.count("### tiny · zero-shot") == 1  # one table, both selections
    header = next(line for line in text.splitlines() if line.startswith("| method"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    assert cols[1:3] == ["xnli swa acc [en-dev]", "xnli swa acc [oracle]"]  # adjacent
    assert "xnli avg(swa) acc [oracle]" in cols


def test_averages_cover_the_languages_every_row_has():
    """A method run on fewer languages than the baseline is averaged with it over the same
    languages, not its baseline's five against its own three."""

    def row(method, lang, mean):
        return dict(backbone="tiny", setting="in-language", selection="target-dev",
                    method=method, task="flores", lang=lang, metric="en→xx chrF++", mean=mean,
                    std=0.0, seeds=3, scores=[mean] * 3, status="ok", mt=False)  # fmt: skip

    rows = [row("baseline", lang, m) for lang, m in (("hau", 6), ("swa", 8), ("zul", 20))]
    rows += [row("mlm", "hau", 7), row("mlm", "swa", 9)]
    (table,) = lb.ablation_frame(rows).values()
    assert table.loc["baseline", "flores avg(hau,swa) en→xx chrF++"] == "7.00"
    assert table.loc["mlm", "flores avg(hau,swa) en→xx chrF++"] == "8.00"
    rows.append(row("full", "zul", 5))  # no language every row has: no average column
    (table,) = lb.ablation_frame(rows).values()
    assert not [c for c in table.columns if "avg" in c]


def test_methods_trained_from_other_weights_than_the_baseline_are_refused(
    tmp_path, gold, data_root
):
    write(tmp_path, "baseline", 1, noisy(gold, 0.5, 1), gold)
    write(tmp_path, "mlm", 1, noisy(gold, 0.5, 2), gold, weights="w2")  # a rebuilt backbone
    with pytest.raises(BenchError, match="different weights of backbone tiny"):
        lb.build(lb.load_runs(tmp_path), data_root)


def test_one_method_adapted_from_two_stage_builds_is_refused(tmp_path, gold, data_root):
    write(tmp_path, "mlm", 1, noisy(gold, 0.5, 1), gold, stage="s1")
    write(tmp_path, "mlm", 2, noisy(gold, 0.5, 2), gold, stage="s2")  # rebuilt elsewhere
    with pytest.raises(
        BenchError, match="different builds of the adaptation stage k of mlm on xnli"
    ):
        lb.build(lb.load_runs(tmp_path), data_root)


def test_a_setting_adapted_from_another_stage_build_is_marked(tmp_path, gold, data_root):
    """The seeds of a cell share one build; another setting (or task) of the method may use
    another (its stages rebuilt on another CPU): its cells are marked § in every format."""
    for seed in (1, 2, 3):  # xnli has no in-language test set of its own: records suffice here
        write(
            tmp_path, "mlm", seed, noisy(gold, 0.5, seed), gold, stage="s1", setting="in-language"
        )
    for seed in (1, 2):
        write(tmp_path, "mlm", seed, noisy(gold, 0.6, 10 + seed), gold, stage="s2")
        write(tmp_path, "baseline", seed, noisy(gold, 0.5, 20 + seed), gold)
    rows = lb.build(lb.load_runs(tmp_path), data_root, samples=50)
    marked = {r["setting"]: r["other_build"] for r in rows if r["method"] == "mlm"}
    assert marked == {"zero-shot": True, "in-language": False}  # most runs used s1
    builds = {r["setting"]: r["stage_build"] for r in rows if r["method"] == "mlm"}
    assert builds["zero-shot"] != builds["in-language"] and all(builds.values())
    text = lb.markdown(rows)
    assert text.count("§") == 2  # the zero-shot cell, and the legend saying what it means
    assert "(n=2)†§" in text and "another build of its key" in text
    assert r"\S{}" in lb.latex(rows) and "another build of its key" in lb.html(rows)
    assert "other_build" in lb.csv(rows).splitlines()[0]
    same = [r for r in rows if r["setting"] == "in-language"]  # one build: no mark, no legend
    assert "§" not in lb.markdown(same) + lb.html(same)
    claim = dict(claim="+1%", task="xnli", setting="zero-shot", selection="source-dev",
                 metrics=["acc"], relative=1)  # fmt: skip
    (row,) = claim_rows(rows, [claim], ["swa"], ["baseline", "mlm"])  # marked there too
    assert row["swa"].endswith("§")
    assert "another build of its key" in claims_markdown([row], ["swa"], 50)


def test_translators_are_named_by_the_machine_that_built_them():
    """Back-translation's reports name no translator checksum: their build is the CPU that ran
    the record (where the translator was built), so a rebuild elsewhere counts as another."""
    from bench.runs.records import stage_builds_of

    def rec(cpu):
        bt = {"languages": {"swa": {"key": "b1", "translator": "t1"}}}
        reports = {"backtranslation": bt, "mlm": {"key": "k", "weights_sha256": "a"}}
        return {"environment": {"hardware": {"cpu": cpu}}, "method_reports": reports}

    assert stage_builds_of(rec("Xeon")) == (("k", "a"), ("t1", "built on Xeon"))
    assert stage_builds_of(rec("EPYC")) != stage_builds_of(rec("Xeon"))


def test_latex_and_html_outputs_are_deterministic(tmp_path, gold, data_root):
    for seed in (1, 2):
        write(tmp_path, "baseline", seed, noisy(gold, 0.30, seed), gold)
        write(tmp_path, "mlm", seed, noisy(gold, 0.45, 10 + seed), gold)
    rows = lb.build(lb.load_runs(tmp_path), data_root, samples=100)
    tex = lb.latex(rows)
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"\textbf{" in tex
    assert tex.index(r"\textbf{") > tex.index("mlm &")  # the better method is bold
    page = lb.html(rows)
    assert page.startswith("<!doctype html>") and "<svg" in page and 'id="view"' in page
    assert "http://" not in page and "https://" not in page  # self-contained: no network
    again = lb.build(lb.load_runs(tmp_path), data_root, samples=100)
    assert lb.latex(again) == tex and lb.html(again) == page and lb.csv(again) == lb.csv(rows)


def test_the_csv_keeps_every_float_exactly(tmp_path, gold, data_root):
    """The pages round the CSV's numbers once; a CSV rounded itself would round them twice."""
    import csv
    import io

    for seed in (1, 2):
        write(tmp_path, "baseline", seed, noisy(gold, 0.30, seed), gold)
        write(tmp_path, "mlm", seed, noisy(gold, 0.45, 10 + seed), gold)
    rows = lb.build(lb.load_runs(tmp_path), data_root, samples=100)
    parsed = list(csv.DictReader(io.StringIO(lb.csv(rows))))
    for row, back in zip(rows, parsed, strict=True):
        for key in ("mean", "std", "delta", "relative"):
            if isinstance(row.get(key), float):
                assert float(back[key]) == row[key], (key, row[key], back[key])


def test_committed_paper_tables_are_generated_from_the_records(tmp_path, data_root):
    """leaderboards/generated/ is `bench paper` over results/: regenerated, never typed."""
    from bench.core.paths import REPO

    written = lb.paper(REPO / "results", data_root, tmp_path)
    assert written, "no table specs in leaderboards/"
    for path in written:
        committed = REPO / "leaderboards" / "generated" / path.name
        assert committed.is_file() and committed.read_text() == path.read_text(), (
            f"{committed} is stale: run `bench paper`"
        )


def test_headline_is_the_change_of_full_over_the_baseline(tmp_path, gold, data_root):
    for seed in (1, 2, 3):
        write(tmp_path, "baseline", seed, noisy(gold, 0.30, seed), gold)
        write(tmp_path, "full", seed, noisy(gold, 0.50, 10 + seed), gold)
    text = lb.headline(lb.build(lb.load_runs(tmp_path), data_root, samples=100))
    assert "xnli acc" in text and "average Δ" in text and "%)*" in text


def test_the_provenance_repeats_the_backbones_caveat(tmp_path, gold):
    write(tmp_path, "baseline", 1, noisy(gold, 0.3, 1), gold, backbone="q", caveat="4-bit")
    write(tmp_path, "baseline", 1, noisy(gold, 0.3, 2), gold, weights="w2")
    footer = lb.provenance(lb.load_runs(tmp_path), "bench paper")
    assert "Backbones: q (weights w1; 4-bit), tiny (weights w2). " in footer


def test_headline_leaves_out_backbones_without_both_sides(tmp_path, gold, data_root):
    results = tmp_path / "results"
    for seed in (1, 2):
        write(results, "baseline", seed, noisy(gold, 0.30, seed), gold)
        write(results, "full", seed, noisy(gold, 0.50, 10 + seed), gold)
        write(results, "baseline", seed, noisy(gold, 0.4, 20 + seed), gold, backbone="other")
    spec = tmp_path / "headline.toml"
    spec.write_text(
        'title = "h"\nkind = "headline"\nmethods = ["baseline", "full"]\nsamples = 50\n'
    )
    written = {p.name: p for p in lb.paper(results, data_root, tmp_path / "out", [spec])}
    text = written["headline.md"].read_text()
    assert "xnli acc" in text and "Backbones: tiny (" in text and "other" not in text
    page = written["headline.html"].read_text()  # the same page as the ablation's, and listed
    assert "tiny · xnli" in page and "other ·" not in page
    assert 'href="headline.html"' in written["index.html"].read_text()


def test_a_leave_one_out_table_compares_each_row_with_full(tmp_path, gold, data_root):
    """reference = "full": every other row's Δ, interval and bootstrap are against `full`."""
    import csv
    import io

    results = tmp_path / "results"
    for seed in (1, 2, 3):
        write(results, "baseline", seed, noisy(gold, 0.30, seed), gold)
        write(results, "full", seed, noisy(gold, 0.50, 10 + seed), gold)
        write(results, "full-no-mlm", seed, noisy(gold, 0.52, 20 + seed), gold)
    spec = tmp_path / "loo.toml"
    spec.write_text(
        'title = "loo"\nkind = "headline"\nreference = "full"\nformats = ["md", "csv"]\n'
        'methods = ["full", "baseline", "full-no-mlm"]\nsamples = 200\n'
    )
    written = {p.name: p for p in lb.paper(results, data_root, tmp_path / "out", [spec])}
    rows = list(csv.DictReader(io.StringIO(written["loo.csv"].read_text())))
    mean = {r["method"]: float(r["mean"]) for r in rows}
    for row in rows:
        if row["method"] != "full":
            assert row["reference"] == "full"
            assert float(row["delta"]) == pytest.approx(mean[row["method"]] - mean["full"])
    assert float(next(r for r in rows if r["method"] == "baseline")["delta"]) < -10
    text = written["loo.md"].read_text()
    assert "change of the row's method over `full`" in text and "| method" in text
    assert "full-no-mlm" in text and "s_full²/n_full" in text
    assert "loo.html" not in written  # the pages say "Δ vs baseline": not for this table
    spec.write_text('title = "x"\nkind = "ablation"\nreference = "full"\n')
    with pytest.raises(BenchError, match='is for a table of kind = "headline"'):
        lb.load_spec(spec)
    spec.write_text(
        'title = "x"\nkind = "headline"\nreference = "mlm"\nformats = ["md"]\nmethods = ["full"]\n'
    )
    with pytest.raises(BenchError, match="'mlm' is not one of its methods"):
        lb.load_spec(spec)


def test_a_bad_table_spec_is_a_clear_error(tmp_path):
    spec = tmp_path / "x.toml"
    spec.write_text('title = "x"\ncolour = "red"\n')
    with pytest.raises(BenchError, match="unknown field"):
        lb.load_spec(spec)
    spec.write_text('title = "x"\nkind = "pie"\n')
    with pytest.raises(BenchError, match="kind must be"):
        lb.load_spec(spec)


def test_published_references_are_listed_apart_with_their_sources(tmp_path):
    refs = lb.references(["masakhaner"], ["swa"])
    xlmr = next(r for r in refs if r["model"] == "XLM-R base")
    assert xlmr["values"] == {"swa": 92.16} and "MasakhaNER 2.0" in xlmr["source"]
    text = lb.references_markdown(refs)
    assert "not runs of this suite" in text and "swa 92.16 ± 0.16" in text
    assert "byte-identical to AfriBERTa" in text  # mBERT only with its caveat, no number
    assert lb.references(["flores"], ["zul"]) == []
    bad = tmp_path / "refs.toml"
    bad.write_text('[[reference]]\nmodel = "x"\n')
    with pytest.raises(BenchError, match="lacks metric, source, task, values"):
        lb.references(path=bad)


def test_a_claims_spec_checks_each_method_against_the_claim(tmp_path, gold, data_root):
    """`bench paper` with a claims spec: a row per method, the verdict from real bootstraps."""
    results = tmp_path / "results"
    for seed in (1, 2, 3):
        write(results, "baseline", seed, noisy(gold, 0.30, seed), gold)
        write(results, "full", seed, noisy(gold, 0.60, 10 + seed), gold)  # ~+40% accuracy
        write(results, "mlm", seed, noisy(gold, 0.33, 20 + seed), gold)
        write(results, "full", seed, noisy(gold, 0.6, 30 + seed), gold, selection="target-dev")
    spec = tmp_path / "claims.toml"
    spec.write_text(
        'title = "c"\nkind = "claims"\nlangs = ["swa"]\nmethods = ["baseline", "mlm", "full"]\n'
        'samples = 200\n[[claims]]\nclaim = "+30% accuracy"\ntask = "xnli"\n'
        'setting = "zero-shot"\nselection = "source-dev"\nmetrics = ["acc"]\nrelative = 30\n'
    )
    written = {p.name: p for p in lb.paper(results, data_root, tmp_path / "out", [spec])}
    lines = written["claims.md"].read_text().splitlines()
    full = next(line for line in lines if "| full " in line)
    mlm = next(line for line in lines if "| mlm " in line)
    assert full.split("|")[-2].strip() == "reproduced"
    assert mlm.split("|")[-2].strip() in ("not reproduced", "not significant")  # ~+3 points
    assert sum("| full " in line for line in lines) == 1  # the oracle selection is not read
    assert "claims.csv" in written
    spec.write_text('title = "c"\nkind = "ablation"\n[[claims]]\nclaim = "x"\n')
    with pytest.raises(BenchError, match="belong to a spec of kind"):
        lb.load_spec(spec)


def test_a_declared_table_without_records_yet_says_so(tmp_path, data_root):
    """A grid's table is committed before its runs: `bench paper` writes "no records yet"."""
    spec = tmp_path / "later.toml"
    spec.write_text('title = "Later"\nkind = "ablation"\nbackbone = ["me5_small:ablation"]\n')
    (tmp_path / "results" / "runs").mkdir(parents=True)
    (path,) = lb.paper(tmp_path / "results", data_root, tmp_path / "out", [spec])
    assert path.read_text().endswith("# Later\n\nno records yet\n")
