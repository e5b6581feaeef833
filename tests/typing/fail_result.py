"""Misuses of @result and Result that mypy must reject (`# E: code` marks each error)."""

from __future__ import annotations

from klaw_core import Err, Ok, Result, result


@result
def add(a: str, b: str) -> Result[int, str]:
    return Ok(len(a) + len(b))


@result
async def add_later(a: str, b: str = "0") -> Result[int, str]:
    return Ok(len(a) + len(b))


@result  # E: arg-type
def not_a_result(a: int) -> int:
    return a


async def calls() -> None:
    add("1", 2)  # E: arg-type
    add("1")  # E: call-arg
    add("1", "2", c="3")  # E: call-arg
    await add_later(1)  # E: arg-type
    wrong: Result[str, str] = add("1", "2")  # E: assignment
    mapped: Result[int, str] = Ok(1).map(str)  # E: arg-type
    err: Err[int] = Err("text")  # E: arg-type
    print(wrong, mapped, err)
