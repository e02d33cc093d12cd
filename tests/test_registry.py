import pytest

from bench.core.errors import BenchError
from bench.core.registry import Registry


def test_lookup_by_name_and_alias():
    reg: Registry[int] = Registry("thing")
    reg.add("alpha", 1, aliases=("a",))
    assert reg.get("alpha") == 1
    assert reg.get("a") == 1
    assert reg.canonical("a") == "alpha"
    assert "a" in reg and "b" not in reg
    assert list(reg) == [1] and len(reg) == 1


def test_duplicates_are_refused():
    reg: Registry[int] = Registry("thing")
    reg.add("alpha", 1, aliases=("a",))
    with pytest.raises(ValueError, match="twice"):
        reg.add("a", 2)


def test_unknown_name_suggests_the_closest():
    reg: Registry[int] = Registry("task")
    reg.add("masakhaner", 1)
    reg.add("xnli", 2)
    with pytest.raises(BenchError) as err:
        reg.get("masakaner")
    assert "unknown task 'masakaner' (did you mean 'masakhaner'?)" in err.value.message
    assert "masakhaner, xnli" in err.value.hint
