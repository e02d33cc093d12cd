"""Every upstream reader fails with the file (and line) named, never a traceback."""

import pytest

from bench.core.errors import BenchError
from bench.core.formats import read_conll, read_jsonl, read_parallel_lines, read_text, read_tsv
from bench.data.sources.masakhaner import FULL_TYPES, bio_labels

LABELS = frozenset(bio_labels(FULL_TYPES))


def test_conll_sentences_and_docstart(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(
        "-DOCSTART- O\n\nAbuja B-LOC\nni O\n\n\nJohn B-PER\nDoe I-PER\n", encoding="utf-8"
    )
    tokens, tags = read_conll(path, LABELS)
    assert tokens == [["Abuja", "ni"], ["John", "Doe"]]
    assert tags == [["B-LOC", "O"], ["B-PER", "I-PER"]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Abuja B-LOC\nni\n", ":2: malformed CoNLL line 'ni'"),
        ("Abuja B-LOC\nni O extra\n", ":2: malformed CoNLL line"),
        ("Abuja B-LOC\n\nAbuja B-CITY\n", ":3: unknown tag 'B-CITY'"),
    ],
)
def test_malformed_conll(tmp_path, content, message):
    path = tmp_path / "train.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BenchError, match=message) as err:
        read_conll(path, LABELS)
    assert str(path) in err.value.message


def test_non_utf8_names_the_line(tmp_path):
    path = tmp_path / "test.txt"
    path.write_bytes(b"Kano B-LOC\n" + "Caf\xe9 O\n".encode("latin-1"))
    with pytest.raises(BenchError, match=r"test.txt:2: not valid UTF-8 \(byte 0xe9") as err:
        read_text(path)
    assert "iconv" in err.value.hint


def test_missing_file_says_where_to_get_it(tmp_path):
    with pytest.raises(BenchError, match="missing data file .*nothing.txt") as err:
        read_text(tmp_path / "nothing.txt")
    assert "--data-root" in err.value.hint


def test_parallel_line_counts_must_agree(tmp_path):
    (tmp_path / "eng_Latn.devtest").write_text("a\nb\nc\n", encoding="utf-8")
    (tmp_path / "hau_Latn.devtest").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(
        BenchError,
        match="line counts differ: .*eng_Latn.devtest has 3 lines, .*hau_Latn.devtest has 2",
    ):
        read_parallel_lines(tmp_path / "eng_Latn.devtest", tmp_path / "hau_Latn.devtest")


def test_tsv_without_its_columns(tmp_path):
    path = tmp_path / "xnli.test.tsv"
    path.write_text("lang\tlabel\tpremise\nsw\tneutral\tx\n", encoding="utf-8")
    with pytest.raises(
        BenchError, match=r"xnli.test.tsv:1: missing column\(s\) language, gold_label"
    ):
        read_tsv(path, ("language", "gold_label", "sentence1"))


def test_tsv_row_with_missing_fields(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("a\tb\n1\t2\n3\n", encoding="utf-8")
    with pytest.raises(BenchError, match="x.tsv:3: expected 2 tab-separated fields"):
        read_tsv(path, ("a", "b"))


def test_jsonl_pairs_and_errors(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(
        '{"translation": {"en": "Hi", "hau": "Sannu"}}\n\n{"translation": {"en": "x"}}\n',
        encoding="utf-8",
    )
    with pytest.raises(BenchError, match="train.json:3: expected a JSON object"):
        read_jsonl(path, ("en", "hau"))
    path.write_text('{"translation": {"en": "Hi", "hau": "Sannu"}}\n', encoding="utf-8")
    assert read_jsonl(path, ("en", "hau")) == [{"en": "Hi", "hau": "Sannu"}]
