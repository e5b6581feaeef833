"""``Ok``/``Err``: every combinator on both variants, matching, equality, pickling."""

from __future__ import annotations

import gc
import pickle
import weakref

import msgspec
import pytest

from klaw_core.option import Nothing, Some
from klaw_core.propagate import Propagate
from klaw_core.result import Err, Ok, Result
from klaw_core.runtime.errors import UnwrapError


def parse(text: str) -> Result[int, str]:
    return Ok(int(text)) if text.lstrip("-").isdigit() else Err(f"bad: {text}")


def test_variants_are_frozen_msgspec_structs() -> None:
    assert issubclass(Ok, msgspec.Struct)
    assert issubclass(Err, msgspec.Struct)
    with pytest.raises(AttributeError):
        Ok(1).value = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Err("x").error = "y"  # type: ignore[misc]


def test_equality_and_hashing_compare_variant_and_payload() -> None:
    assert Ok(1) == Ok(1)
    assert Ok(1) != Ok(2)
    assert Ok(1) != Err(1)
    assert Err("e") == Err("e")
    assert len({Ok(1), Ok(1), Err(1)}) == 2


def test_generic_alias_subscripts_at_runtime() -> None:
    assert Ok[int](3) == Ok(3)
    assert Result[int, str] == (Ok[int] | Err[str])


def test_match_statement() -> None:
    def describe(r: Result[int, str]) -> str:
        match r:
            case Ok(0):
                return "zero"
            case Ok(value):
                return f"ok {value}"
            case Err(error):
                return f"err {error}"

    assert [describe(parse(t)) for t in ("0", "5", "x")] == ["zero", "ok 5", "err bad: x"]
    assert Ok.__match_args__ == ("value",)
    assert Err.__match_args__ == ("error",)


def test_predicates_and_conversions_to_option() -> None:
    assert (Ok(1).is_ok(), Ok(1).is_err()) == (True, False)
    assert (Err(1).is_ok(), Err(1).is_err()) == (False, True)
    assert Ok(1).ok() == Some(1)
    assert Ok(1).err() == Nothing()
    assert Err("e").ok() == Nothing()
    assert Err("e").err() == Some("e")


def test_unwrapping_ok() -> None:
    ok = Ok(5)
    assert ok.unwrap() == 5
    assert ok.expect("needed") == 5
    assert ok.unwrap_or(0) == 5
    assert ok.unwrap_or_else(len) == 5
    assert ok.bail() == 5
    with pytest.raises(UnwrapError, match=r"called unwrap_err\(\) on Ok\(value=5\)") as info:
        ok.unwrap_err()
    assert info.value.result is ok
    with pytest.raises(UnwrapError, match=r"wanted an error: Ok\(value=5\)"):
        ok.expect_err("wanted an error")


def test_unwrapping_err() -> None:
    err = Err("boom")
    assert err.unwrap_err() == "boom"
    assert err.expect_err("unused") == "boom"
    assert err.unwrap_or(0) == 0
    assert err.unwrap_or_else(len) == 4
    with pytest.raises(UnwrapError, match=r"called unwrap\(\) on Err\(error='boom'\)") as info:
        err.unwrap()
    assert info.value.result is err
    assert info.value.__cause__ is None
    with pytest.raises(UnwrapError, match=r"config missing: Err\(error='boom'\)"):
        err.expect("config missing")


def test_unwrap_of_an_exception_chains_it() -> None:
    cause = KeyError("k")
    with pytest.raises(UnwrapError) as info:
        Err(cause).unwrap()
    assert info.value.__cause__ is cause
    with pytest.raises(UnwrapError) as info:
        Err(cause).expect("lookup")
    assert info.value.__cause__ is cause


def test_map_family() -> None:
    double = lambda v: v * 2  # noqa: E731
    assert Ok(2).map(double) == Ok(4)
    assert Err(2).map(double) == Err(2)
    assert Ok(2).map_err(double) == Ok(2)
    assert Err(2).map_err(double) == Err(4)
    assert Ok(2).map_or(0, double) == 4
    assert Err(2).map_or(0, double) == 0
    assert Ok(2).map_or_else(lambda e: -1, double) == 4
    assert Err(2).map_or_else(lambda e: -e, double) == -2


def test_and_then_chains_until_the_first_err() -> None:
    def half(v: int) -> Result[int, str]:
        return Ok(v // 2) if v % 2 == 0 else Err(f"odd: {v}")

    assert Ok(8).and_then(half).and_then(half) == Ok(2)
    assert Ok(6).and_then(half).and_then(half) == Err("odd: 3")
    assert Err("first").and_then(half) == Err("first")


def test_or_else_recovers() -> None:
    def retry(e: str) -> Result[int, int]:
        return Ok(0) if e == "soft" else Err(len(e))

    assert Err("soft").or_else(retry) == Ok(0)
    assert Err("hard!").or_else(retry) == Err(5)
    assert Ok(1).or_else(retry) == Ok(1)


def test_inspect_calls_only_on_its_variant() -> None:
    seen: list[object] = []
    assert Ok(1).inspect(seen.append).inspect_err(seen.append) == Ok(1)
    assert Err(2).inspect(seen.append).inspect_err(seen.append) == Err(2)
    assert seen == [1, 2]


def test_bail_on_err_raises_propagate_carrying_it() -> None:
    err = Err("stop")
    with pytest.raises(Propagate) as info:
        err.bail()
    assert info.value.value is err
    assert not isinstance(info.value, Exception)  # a broad `except Exception` cannot swallow it


def test_pickle_round_trip() -> None:
    for value in (Ok(1), Ok([1, {"a": 2}]), Err("e"), Err(ValueError("v"))):
        back = pickle.loads(pickle.dumps(value))
        assert type(back) is type(value)
        if isinstance(value, Err) and isinstance(value.error, ValueError):
            assert back.error.args == value.error.args
        else:
            assert back == value


def test_err_holding_its_own_traceback_cycle_is_collected() -> None:
    """Err is GC-tracked: an exception whose traceback reaches the Err is a cycle."""

    class Marker(Exception):
        pass

    def fail() -> Err[Marker]:
        try:
            raise Marker
        except Marker as exc:
            result = Err(exc)
            exc.keep = result  # type: ignore[attr-defined]
            return result

    ref = weakref.ref(fail().error)
    gc.collect()
    assert ref() is None
