"""``Some``/``Nothing``: every combinator on both variants, matching, equality, pickling."""

from __future__ import annotations

import pickle

import msgspec
import pytest

from klaw_core.option import Nothing, Option, Some
from klaw_core.propagate import Propagate
from klaw_core.result import Err, Ok
from klaw_core.runtime.errors import UnwrapError


def find(mapping: dict[str, int], key: str) -> Option[int]:
    return Some(mapping[key]) if key in mapping else Nothing()


def test_variants_are_frozen_msgspec_structs() -> None:
    assert issubclass(Some, msgspec.Struct)
    assert issubclass(Nothing, msgspec.Struct)
    with pytest.raises(AttributeError):
        Some(1).value = 2  # type: ignore[misc]


def test_equality_every_nothing_is_equal() -> None:
    assert Nothing() == Nothing()
    assert hash(Nothing()) == hash(Nothing())
    assert Some(1) == Some(1)
    assert Some(1) != Some(2)
    assert Some(None) != Nothing()
    assert Option[int] == (Some[int] | Nothing)


def test_match_statement() -> None:
    def describe(o: Option[int]) -> str:
        match o:
            case Some(value):
                return f"some {value}"
            case Nothing():
                return "nothing"

    assert [describe(find({"a": 1}, k)) for k in "ab"] == ["some 1", "nothing"]


def test_predicates() -> None:
    assert (Some(0).is_some(), Some(0).is_none()) == (True, False)
    assert (Nothing().is_some(), Nothing().is_none()) == (False, True)


def test_unwrapping() -> None:
    assert Some(3).unwrap() == 3
    assert Some(3).expect("x") == 3
    assert Some(3).unwrap_or(0) == 3
    assert Some(3).unwrap_or_else(lambda: 0) == 3
    assert Nothing().unwrap_or(0) == 0
    assert Nothing().unwrap_or_else(lambda: 7) == 7
    with pytest.raises(UnwrapError, match=r"called unwrap\(\) on Nothing\(\)") as info:
        Nothing().unwrap()
    assert info.value.result == Nothing()
    with pytest.raises(UnwrapError, match=r"^no user$"):
        Nothing().expect("no user")


def test_map_family() -> None:
    inc = lambda v: v + 1  # noqa: E731
    assert Some(1).map(inc) == Some(2)
    assert Nothing().map(inc) == Nothing()
    assert Some(1).map_or(0, inc) == 2
    assert Nothing().map_or(0, inc) == 0
    assert Some(1).map_or_else(lambda: -1, inc) == 2
    assert Nothing().map_or_else(lambda: -1, inc) == -1


def test_and_then_or_else_filter() -> None:
    table = {"a": 1, "b": 2}

    def next_key(v: int) -> Option[int]:
        return find(table, "ab"[v % 2])

    assert Some(0).and_then(next_key) == Some(1)
    assert Some(1).and_then(lambda v: Nothing()) == Nothing()
    assert Nothing().and_then(next_key) == Nothing()
    assert Nothing().or_else(lambda: Some(9)) == Some(9)
    assert Some(1).or_else(lambda: Some(9)) == Some(1)
    assert Some(4).filter(lambda v: v > 3) == Some(4)
    assert Some(2).filter(lambda v: v > 3) == Nothing()
    assert Nothing().filter(lambda v: True) == Nothing()


def test_inspect_calls_only_on_some() -> None:
    seen: list[object] = []
    assert Some(1).inspect(seen.append) == Some(1)
    assert Nothing().inspect(seen.append) == Nothing()
    assert seen == [1]


def test_conversion_to_result() -> None:
    assert Some(1).ok_or("missing") == Ok(1)
    assert Nothing().ok_or("missing") == Err("missing")
    assert Some(1).ok_or_else(lambda: "missing") == Ok(1)
    assert Nothing().ok_or_else(lambda: "missing") == Err("missing")


def test_bail() -> None:
    assert Some(5).bail() == 5
    with pytest.raises(Propagate) as info:
        Nothing().bail()
    assert info.value.value == Nothing()


def test_pickle_round_trip() -> None:
    for value in (Some(1), Some(("a", [2])), Nothing()):
        assert pickle.loads(pickle.dumps(value)) == value
    with pytest.raises(Propagate) as info:
        Nothing().bail()
    again = pickle.loads(pickle.dumps(info.value))
    assert isinstance(again, Propagate)
    assert again.value == Nothing()
