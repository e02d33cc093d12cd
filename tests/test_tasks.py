"""Every task loads for every shipped language from the real mirror, with real counts."""

from collections import Counter

import pytest

from bench.core.errors import BenchError
from bench.data.language import get_language, languages, parse_langs
from bench.data.task import SOURCE_LANGUAGE, TASKS, get_task, parse_setting, parse_tasks

TARGETS = ["swa", "yor", "hau"]
# Every registered target language x every task that covers it: new ones are tested automatically.
COVERED = [
    (task.name, lang.code)
    for task in parse_tasks(None)
    for lang in languages()
    if lang.code != SOURCE_LANGUAGE and task.coverage(lang)
]


def _checksums(data_root):
    sums = {}
    for line in (data_root / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name.strip()] = digest
    return sums


def test_the_shipped_targets_are_covered_by_every_task():
    assert {(t, c) for t in TASKS.names() for c in TARGETS} <= set(COVERED)


@pytest.mark.parametrize(("task", "code"), COVERED)
def test_every_split_of_every_task_loads(task, code, data_root):
    """Parametrized over the registries: a new task or language is tested automatically."""
    task_obj, sums = get_task(task), _checksums(data_root)
    for setting in task_obj.settings:
        setting = "few-shot:10" if setting == "few-shot" else setting
        for role, lang, split in task_obj.plan(get_language(code), setting):
            loaded = task_obj.load(lang, split, setting, data_root)
            prov = loaded.provenance
            assert len(loaded) == prov["rows"] > 0, (role, split)
            assert len(prov["sha256"]) == 64
            # Provenance file checksums are the mirror's own published SHA-256 sums.
            for rel, digest in prov["files"].items():
                assert sums[rel] == digest, rel


def test_published_counts(data_root):
    ner = get_task("masakhaner")
    assert len(ner.load("ha", "test", "in-language", data_root)) == 1633
    assert [
        len(ner.load("sw", s, "in-language", data_root)) for s in ("train", "validation", "test")
    ] == [6593, 942, 1883]
    assert len(ner.load("yo", "test", "in-language", data_root)) == 1964
    flores = get_task("flores")
    for code in TARGETS:
        test = flores.load(code, "test", root=data_root)
        assert len(test) == 1012
        assert test.provenance["codes"][0] == "eng_Latn"
    xnli = get_task("xnli").load("sw", "test", root=data_root)
    assert len(xnli) == 5010
    assert Counter(xnli.dataset["label"]) == {
        "entailment": 1670,
        "neutral": 1670,
        "contradiction": 1670,
    }
    assert xnli.provenance["machine_translated"] is False


def test_mafand_pairs(data_root):
    flores = get_task("flores")
    counts = {c: len(flores.load(c, "train", root=data_root)) for c in TARGETS}
    assert counts == {"swa": 30782, "yor": 6644, "hau": 5865}
    pair = flores.load("ha", "train", root=data_root).dataset[0]
    assert pair["src"].startswith("#FreeAmade") and "Mozambiƙue" in pair["tgt"]


def test_flores_validation_prefers_flores_dev(data_root):
    flores = get_task("flores")
    assert flores.load("ha", "validation", root=data_root).provenance["source"] == "flores200"
    assert len(flores.load("ha", "validation", root=data_root)) == 997
    # Only English and Hausa FLORES dev are mirrored: Swahili selects on MAFAND dev.
    assert flores.load("sw", "validation", root=data_root).provenance["source"] == "mafand"
    assert len(flores.load("sw", "test:ntrex128", root=data_root)) == 1997


def test_xnli_offline_train_and_heldout_dev_are_disjoint(data_root):
    xnli = get_task("xnli")
    train = xnli.load("en", "train", root=data_root)
    dev = xnli.load("en", "validation", root=data_root)
    assert (len(train), len(dev)) == (1998, 492)
    assert not set(train.dataset["prompt_id"]) & set(dev.dataset["prompt_id"])
    assert Counter(dev.dataset["label"]) == {
        "entailment": 164,
        "neutral": 164,
        "contradiction": 164,
    }
    assert dev.provenance["subset"] == "dev, promptID % 5 == 0"


@pytest.mark.parametrize("code", ["yo", "ha"])
def test_machine_translated_test_sets_are_flagged(code, data_root):
    loaded = get_task("xnli").load(code, "test", root=data_root)
    assert loaded.provenance["source"] == "xnli_mt"
    assert loaded.provenance["machine_translated"] is True


def test_zero_shot_ner_uses_the_transfer_label_set(data_root):
    ner = get_task("masakhaner")
    zero = set().union(*ner.load("ha", "test", "zero-shot", data_root).dataset["tags"])
    full = set().union(*ner.load("ha", "test", "in-language", data_root).dataset["tags"])
    assert "B-DATE" not in zero and "B-DATE" in full
    assert {t.split("-")[-1] for t in zero} == {"O", "PER", "ORG", "LOC"}


def test_loading_twice_gives_the_same_checksum(data_root):
    a = get_task("masakhaner").load("yo", "test", "in-language", data_root)
    b = get_task("masakhaner").load("yo", "test", "in-language", data_root)
    assert a.provenance["sha256"] == b.provenance["sha256"]
    other = get_task("masakhaner").load("yo", "test", "zero-shot", data_root)
    assert other.provenance["sha256"] != a.provenance["sha256"]


def test_plans():
    ner = get_task("masakhaner")
    roles = [(role, lang.code, split) for role, lang, split in ner.plan(get_language("ha"))]
    assert roles == [
        ("train", "eng", "train"),
        ("source-dev", "eng", "validation"),
        ("target-dev", "hau", "validation"),
        ("test", "hau", "test"),
    ]
    in_lang = [role for role, _, _ in ner.plan(get_language("ha"), "in-language")]
    assert in_lang == ["train", "target-dev", "test"]
    assert "few-shot-train" in [role for role, _, _ in ner.plan(get_language("ha"), "few-shot:10")]


@pytest.mark.parametrize(
    ("task", "lang", "split", "setting", "message"),
    [
        ("xnli", "sw", "train", None, "xnli has no Swahili training data"),
        ("masakhaner", "ha", "train", "zero-shot", "zero-shot masakhaner trains on English"),
        ("flores", "en", "test", None, "English is the source side of flores"),
        ("xnli", "sw", "test", "in-language", "xnli has no 'in-language' setting"),
        ("masakhaner", "sw", "test", "few-shot", "invalid setting 'few-shot'"),
        ("masakhaner", "sw", "dev", None, "unknown split 'dev' for masakhaner"),
    ],
)
def test_bad_requests(task, lang, split, setting, message, data_root):
    with pytest.raises(BenchError, match=message):
        get_task(task).load(lang, split, setting, data_root)


def test_setting_parser():
    assert str(parse_setting("few-shot:100", ("zero-shot", "few-shot"))) == "few-shot:100"
    with pytest.raises(BenchError, match="invalid setting"):
        parse_setting("few-shot:x", ("few-shot",))


def test_missing_file_under_a_data_root(tmp_path):
    with pytest.raises(BenchError, match=r"missing data file .*masakhaner2-transfer/hau/test.txt"):
        get_task("masakhaner").load("ha", "test", root=tmp_path)


def test_registry_is_the_fixed_three():
    assert TASKS.names() == ["flores", "masakhaner", "xnli"]
    assert [t.name for t in parse_tasks("xnli, flores")] == ["xnli", "flores"]
    assert [lang.code for lang in parse_langs("sw")] == ["swa"]
