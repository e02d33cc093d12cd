"""The contamination guard on synthetic cases and on the real LACUNA corpus."""

import pytest

from bench.data.contamination import Guard, evaluation_sentences, normalise
from bench.data.language import parse_langs
from bench.data.source import SOURCES, load


def test_normalise_ignores_tokenisation_case_and_punctuation():
    assert normalise("Rais Samia , alisema : ' Tutashinda ' .") == normalise(
        "rais Samia, alisema: 'Tutashinda'."
    )
    assert normalise("Ọ̀yọ́") == normalise("ọ̀yọ́")  # NFKC + casefold keep the tone marks
    assert normalise("Ọ̀yọ́") != normalise("Oyo")


def test_guard_exact_substring_and_short_sentences():
    long_sentence = "Shujaa Mwakilishi John Lewis atazikwa Alhamisi huko Atlanta ."
    guard = Guard({"ner/test": [long_sentence, "Habari"]}, min_chars=30)
    corpus = [
        "Shujaa Mwakilishi John Lewis atazikwa Alhamisi huko Atlanta.",  # exact after normalising
        "Habari za asubuhi. Shujaa Mwakilishi John Lewis atazikwa Alhamisi huko Atlanta.",  # inside
        "Habari",  # a short sentence matches a whole line only ...
        "Habari njema kutoka Dodoma leo asubuhi",  # ... never inside a longer one
        "Mvua kubwa imenyesha jijini Dar es Salaam.",
    ]
    kept, report = guard.clean("lacuna/swa", corpus)
    assert report.contaminated == [0, 1, 2]
    assert kept == corpus[3:]
    assert report.hits == {"ner/test": 2}
    assert report.eval_sets == {"ner/test": 2}


@pytest.mark.parametrize(("code", "at_least"), [("swa", 1709), ("hau", 1400), ("yor", 1400)])
def test_lacuna_holds_masakhaner_test_sentences(code, at_least, data_root):
    """The mirror's README: 1,709 of 1,883 Swahili test sentences occur verbatim in LACUNA."""
    langs = parse_langs(code)
    guard = Guard(evaluation_sentences(langs, data_root))
    lines = load(SOURCES.get("lacuna"), (code,), "train", data_root).dataset["text"]
    kept, report = guard.clean(f"lacuna/{code}", lines)
    assert report.hits[f"masakhaner2/{code}/test"] >= at_least
    assert report.removed == len(lines) - len(kept) > at_least
    # After cleaning, nothing of any evaluation set is left.
    assert guard.check("cleaned", kept).removed == 0
    assert all(v == 0 for v in guard.check("cleaned", kept).hits.values())


def test_evaluation_sets_cover_every_task(data_root):
    names = evaluation_sentences(parse_langs("ha"), data_root)
    assert {name.split("/")[0] for name in names} == {
        "masakhaner2",
        "masakhaner2_transfer",
        "xnli_mt",
        "flores200",
        "ntrex128",
    }
    assert len(names["flores200/eng_Latn-hau_Latn/test"]) == 2 * 1012
    assert len(names["flores200/eng_Latn-hau_Latn/validation"]) == 2 * 997
    # Swahili has no FLORES dev in the mirror: MAFAND dev selects checkpoints, so it is guarded.
    assert "mafand/en-swa/validation" in evaluation_sentences(parse_langs("sw"), data_root)
