"""``@result``: early return with ``.bail()`` in plain and async functions."""

from __future__ import annotations

import asyncio
import inspect
import sys

import pytest

import klaw_core
from klaw_core.decorators import result
from klaw_core.option import Nothing, Option, Some
from klaw_core.result import Err, Ok, Result


def parse(text: str) -> Result[int, str]:
    return Ok(int(text)) if text.isdigit() else Err(f"not a number: {text!r}")


@result
def add(a: str, b: str = "0") -> Result[int, str]:
    """Add two numbers given as text."""
    return Ok(parse(a).bail() + parse(b).bail())


@result
async def add_later(a: str, b: str) -> Result[int, str]:
    """Add two numbers given as text, after a pause."""
    await asyncio.sleep(0)
    first = parse(a).bail()
    await asyncio.sleep(0)
    return Ok(first + parse(b).bail())


def test_sync_ok_and_early_err() -> None:
    assert add("2", "40") == Ok(42)
    assert add("2") == Ok(2)
    assert add("x", "40") == Err("not a number: 'x'")
    assert add("2", b="y") == Err("not a number: 'y'")


async def test_async_ok_and_early_err() -> None:
    assert await add_later("1", "2") == Ok(3)
    assert await add_later("1", "z") == Err("not a number: 'z'")


def test_wrapper_keeps_name_doc_signature_and_kind() -> None:
    assert add.__name__ == "add"
    assert add.__doc__ == "Add two numbers given as text."
    assert str(inspect.signature(add)) == str(inspect.signature(add.__wrapped__))  # type: ignore[attr-defined]
    assert list(inspect.signature(add).parameters) == ["a", "b"]
    assert not inspect.iscoroutinefunction(add)
    assert inspect.iscoroutinefunction(add_later)
    assert add_later.__name__ == "add_later"


def test_option_bail_returns_nothing() -> None:
    @result
    def first_even(values: list[int]) -> Option[int]:
        head = (Some(values[0]) if values else Nothing()).bail()
        return Some(head) if head % 2 == 0 else Nothing()

    assert first_even([4, 1]) == Some(4)
    assert first_even([]) == Nothing()


def test_other_exceptions_pass_through() -> None:
    @result
    def broken() -> Result[int, str]:
        raise KeyError("real bug")

    with pytest.raises(KeyError):
        broken()


def test_broad_except_exception_does_not_swallow_bail() -> None:
    @result
    def careless() -> Result[int, str]:
        try:
            Err("early").bail()
        except Exception:  # the point: this must not catch the early return
            return Err("swallowed")
        return Ok(0)

    assert careless() == Err("early")


def test_each_decorated_function_catches_its_own_bail() -> None:
    @result
    def inner(text: str) -> Result[int, str]:
        return Ok(parse(text).bail() * 2)

    @result
    def outer(text: str) -> Result[str, str]:
        value = inner(text)
        if value == Err("not a number: 'q'"):
            return Ok("inner returned its own Err")
        return Ok(str(value.bail()))

    assert outer("3") == Ok("6")
    assert outer("q") == Ok("inner returned its own Err")


def test_undecorated_helpers_propagate_to_the_nearest_decorated_caller() -> None:
    def helper(text: str) -> int:
        return parse(text).bail()

    @result
    def caller(text: str) -> Result[int, str]:
        return Ok(helper(text) + 1)

    assert caller("1") == Ok(2)
    assert caller("?") == Err("not a number: '?'")


def test_methods_can_be_decorated() -> None:
    class Calculator:
        offset = 10

        @result
        def shifted(self, text: str) -> Result[int, str]:
            return Ok(parse(text).bail() + self.offset)

    assert Calculator().shifted("5") == Ok(15)
    assert Calculator().shifted("five") == Err("not a number: 'five'")


def test_top_level_result_is_the_module_and_decorates() -> None:
    import klaw_core.result as module

    assert module is sys.modules["klaw_core.result"]
    assert klaw_core.result is module
    assert module.Ok is Ok
    assert module.Err is Err
    assert module.Result is Result
    from klaw_core.result import Err as ErrAgain

    assert ErrAgain is Err
    assert klaw_core.Ok is Ok
    assert klaw_core.Result is Result
    assert klaw_core.Option is Option


def test_the_module_called_is_the_decorator() -> None:
    from klaw_core import result as top

    @top
    def half(n: int) -> Result[int, str]:
        return Ok(n // 2) if n % 2 == 0 else Err("odd")

    @top
    def quarter(n: int) -> Result[int, str]:
        return Ok(half(half(n).bail()).bail())

    @top
    async def later(n: int) -> Result[int, str]:
        return Ok(half(n).bail())

    assert quarter(8) == Ok(2)
    assert quarter(6) == Err("odd")
    assert asyncio.run(later(3)) == Err("odd")
    assert inspect.signature(quarter) == inspect.signature(quarter.__wrapped__)
