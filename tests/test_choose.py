"""`bench choose`: a search's values are chosen on the dev split the setting allows (zero-shot:
English dev), never on test, and checked against the backbone spec."""

from __future__ import annotations

import pytest

from bench.core.errors import BenchError
from bench.report.choose import Candidate, choose, report, spec_disagreements
from bench.runs.grid import Spec
from tests.records import fake_record

SPEC = Spec(methods=["baseline", "mlm"], tasks="xnli", search={"mlm.steps": [250, 1000]})


def write(results, method, steps, selection, lang, dev, test):
    methods = {"methods": {"mlm": {"steps": steps, "lr": 5e-5}}} if method != "baseline" else {}
    fake_record(
        results,
        method=method,
        lang=lang,
        selection=selection,
        metrics={"accuracy": test},
        train={"lr": 1e-4},
        config=methods,
        record={"selection": {"split": selection, "key": selection, "step": 10, "score": dev}},
    )


def test_the_choice_is_made_on_english_dev_never_on_test(tmp_path):
    for lang in ("swa", "yor"):
        write(tmp_path, "baseline", 0, "source-dev", lang, 0.60, 0.50)
        # 250 steps: better English dev, worse test; 1000 steps: the reverse
        write(tmp_path, "mlm", 250, "source-dev", lang, 0.62, 0.40)
        write(tmp_path, "mlm", 1000, "source-dev", lang, 0.61, 0.70)
        write(tmp_path, "mlm", 1000, "target-dev", lang, 0.90, 0.70)  # the oracle's column
    found, chosen = choose(SPEC, tmp_path)
    assert chosen["mlm"].values == (("mlm.steps", 250),)
    by_steps = {c.values: c for c in found if c.method == "mlm"}
    assert by_steps[(("mlm.steps", 1000),)].oracle == pytest.approx(90.0)
    assert by_steps[(("mlm.steps", 250),)].records == 2
    text = report(SPEC, tmp_path)
    assert "[methods.mlm]\nsteps = 250" in text and "+2.00" in text


def test_ties_go_to_the_value_listed_first(tmp_path):
    for steps in (1000, 250):
        write(tmp_path, "mlm", steps, "source-dev", "swa", 0.61, 0.5)
    assert choose(SPEC, tmp_path)[1]["mlm"].values == (("mlm.steps", 250),)


def test_no_records_and_a_disagreeing_spec_are_said(tmp_path):
    with pytest.raises(BenchError, match="no records of this search"):
        choose(SPEC, tmp_path)
    chosen = {"mlm": Candidate("mlm", (("mlm.steps", 123),), 1.0, None, 1.0, 1)}
    [line] = spec_disagreements("me5_small:ablation", chosen)
    assert line.startswith("mlm.steps: chosen 123, baselines/me5_small.toml has")


def test_a_setting_added_after_a_record_reads_as_its_default(tmp_path):
    """mlm.precision entered configs only when set (ADDED_LATER): a record without it ran with
    the default, and is a candidate of the search that lists it."""
    spec = Spec(methods=["mlm"], tasks="xnli", search={"mlm.precision": ["fp32", "amp-bf16"]})
    write(tmp_path, "mlm", 250, "source-dev", "swa", 0.61, 0.5)
    _, chosen = choose(spec, tmp_path)
    assert chosen["mlm"].values == (("mlm.precision", "fp32"),)


def test_the_report_shows_what_explains_each_candidate(tmp_path):
    import json

    write(tmp_path, "mlm", 250, "source-dev", "swa", 0.61, 0.5)
    (path,) = (tmp_path / "runs").rglob("*.json")
    record = json.loads(path.read_text())
    record["method_reports"] = {
        "mlm": {"heldout_perplexity": {"before": {"swa": 600.0}, "after": {"swa": 300.0}}}
    }
    path.write_text(json.dumps(record))
    assert "held-out perplexity, before → after 600 → 300" in report(SPEC, tmp_path)
