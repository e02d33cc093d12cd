"""The diagnostics table (`bench paper`, kind = "diagnostics"): what explains a method's result,
read from the records' method reports and curves, a training counted once however many records
(target languages, selections) it wrote."""

from __future__ import annotations

import pytest

from bench.report import leaderboard as lb
from bench.report.leaderboard.collect import load_runs
from bench.report.leaderboard.diagnostics import diagnostic_rows
from tests.records import fake_record


def write(results, method, seed, lang, selection, reports, curve):
    training = {"curve": curve, "shared_by": ["swa", "yor"], "wall_s": 1.0}
    fake_record(
        results,
        method=method,
        seed=seed,
        lang=lang,
        selection=selection,
        metrics={"accuracy": 0.5},
        record={"method_reports": reports, "training": training},
    )


def reports(seed):
    return {
        "mlm": {"heldout_perplexity": {"before": {"swa": 600.0}, "after": {"swa": 400.0 + seed}}},
        "alignment": {
            "retrieval": {
                "before": {"swa": {"mean": 0.10}},
                "after": {"swa": {"mean": 0.20}},
                "test_set": "flores200 devtest",
            }
        },
        "adversarial": {"languages": ["eng", "swa", "yor"]},
        "backtranslation": {
            "languages": {
                "swa": {
                    "rows": 1000,
                    "translator_dev": {
                        "lines": 200,
                        "eng-swa": {"bleu": 1.5, "chrf++": 12.0},
                        "swa-eng": {"bleu": 2.5, "chrf++": 14.0},
                    },
                }
            }
        },
    }


def curve(final):
    return [
        {"step": 10, "loss": 1.0, "disc_accuracy": 0.6, "disc_majority": 0.66, "disc_loss": 0.9},
        {
            "step": 20,
            "loss": 1.0,
            "disc_accuracy": final,
            "disc_majority": 0.66,
            "disc_loss": final,
        },
    ]


def test_diagnostics_are_read_per_training_and_averaged(tmp_path, data_root):
    results = tmp_path / "results"
    for seed, final in ((1, 0.1), (2, 0.3)):
        for lang in ("swa", "yor"):  # one training, four records: counted once
            for selection in ("source-dev", "target-dev"):
                write(results, "full", seed, lang, selection, reports(seed), curve(final))
    rows = {(r["diagnostic"], r["lang"]): r for r in diagnostic_rows(load_runs(results))}
    ppl = rows[("+mlm: held-out perplexity, before → after", "swa")]
    assert ppl["value"] == (600.0, 401.5) and ppl["trainings"] == 2
    assert rows[("+adversarial: discriminator sentence acc. %, best", "all")]["value"] == 60.0
    assert rows[("+adversarial: discriminator: constant guess %", "all")]["value"] == 66.0
    assert rows[("+adversarial: discriminator loss (nats), final", "all")]["value"] == 0.2
    path = rows[
        ("+adversarial: discriminator sentence acc. % at ¼ → ½ → ¾ → end of training", "all")
    ]
    # logged at steps 10 and 20; quarters 5, 10, 15 (a tie: the earlier point), 20
    assert path["value"] == pytest.approx((60.0, 60.0, 60.0, 20.0))
    retrieval = rows[("+alignment: flores200 devtest retrieval acc. %, before → after", "swa")]
    assert retrieval["value"] == pytest.approx((10.0, 20.0))
    assert rows[("+backtranslation: translator dev xx→en chrF++", "swa")]["value"] == 14.0
    assert rows[("+backtranslation: translator dev en→xx BLEU", "swa")]["value"] == 1.5
    assert rows[("+backtranslation: synthetic rows", "swa")]["value"] == 1000

    spec = tmp_path / "diag.toml"
    spec.write_text('title = "D"\nkind = "diagnostics"\nlangs = ["swa", "yor"]\n')
    written = {p.name: p for p in lb.paper(results, data_root, tmp_path / "out", [spec])}
    text = written["diag.md"].read_text()
    assert " 600 → 401.5 " in text and " 10 → 20 " in text
    assert "1 trainings" not in text and "from 2 trainings" in text  # the provenance's count
    assert "diag.csv" in written


def test_records_of_methods_without_diagnostics_make_no_table(tmp_path, data_root):
    results = tmp_path / "results"
    write(results, "baseline", 1, "swa", "source-dev", {}, [{"step": 1, "loss": 1.0}])
    spec = tmp_path / "diag.toml"
    spec.write_text('title = "D"\nkind = "diagnostics"\n')
    (path,) = lb.paper(results, data_root, tmp_path / "out", [spec])
    assert path.read_text().endswith("no records of a method with diagnostics yet\n")
