import pytest

from bench.core.errors import BenchError
from bench.data.language import get_language, languages, parse_langs
from bench.data.task import get_task
from tests.conftest import KINYARWANDA


def test_shipped_languages():
    assert [lang.code for lang in languages()] == ["eng", "hau", "ibo", "swa", "yor", "zul"]
    swa = get_language("sw")
    assert (swa.code, swa.name, swa.script) == ("swa", "Swahili", "Latn")
    assert swa.code_in("flores200") == "swh_Latn"
    assert swa.code_in("xnli") == "sw" and swa.code_in("masakhaner2") == "swa"
    assert swa.code_in("lacuna") == "swa"


def test_parse_langs_accepts_aliases_and_keeps_order():
    assert [lang.code for lang in parse_langs("sw,yo,ha")] == ["swa", "yor", "hau"]
    assert [lang.code for lang in parse_langs(" hau , ha,swa")] == ["hau", "swa"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sx", "unknown language 'sx' (did you mean 'sw'?)"),
        ("", "no language given"),
        ("sw,klingon", "unknown language 'klingon'"),
    ],
)
def test_bad_language_values(spec, message):
    with pytest.raises(
        BenchError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")
    ):
        parse_langs(spec)


def test_extra_language_folder(extra_languages):
    extra_languages("kin", KINYARWANDA)
    assert get_language("rw").name == "Kinyarwanda"
    assert (
        get_task("masakhaner").coverage(get_language("kin")) == "masakhaner2_transfer | masakhaner2"
    )


def test_language_without_data_for_a_task(extra_languages):
    extra_languages("kin", KINYARWANDA)
    with pytest.raises(BenchError) as err:
        get_task("xnli").plan(get_language("kin"))
    assert "Kinyarwanda (kin) has no data for task 'xnli'" in err.value.message
    assert "tasks it has: masakhaner" in err.value.hint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            KINYARWANDA.replace('masakhaner2 = "kin"', 'masakhanr2 = "kin"'),
            "unknown dataset 'masakhanr2' (did you mean 'masakhaner2'?)",
        ),
        (
            KINYARWANDA.replace('script = "Latn"', 'script = "latin"'),
            "script 'latin' must be an ISO 15924 code",
        ),
        (KINYARWANDA.replace('name = "Kinyarwanda"', ""), "missing required field 'name'"),
        (
            KINYARWANDA.replace('code = "kin"', 'code = "rw"'),
            "code 'rw' must be a lowercase ISO 639-3 code",
        ),
        ("familly = 1\n" + KINYARWANDA, "unknown field 'familly' (did you mean 'family'?)"),
        (KINYARWANDA.replace("[datasets]", "[datasets"), "malformed TOML"),
        (
            KINYARWANDA + '\n[monolingual]\nmafand = "kin"\n',
            "'mafand' (translation) belongs in [datasets]",
        ),
    ],
)
def test_malformed_language_files_name_the_file(extra_languages, text, message):
    path = extra_languages("kin", text)
    with pytest.raises(BenchError) as err:
        languages()
    assert str(path) in err.value.message
    assert message in err.value.message
