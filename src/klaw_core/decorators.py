"""``@result``: the function boundary where ``.bail()`` returns early.

A function decorated with :func:`result` may call ``.bail()`` on any ``Result``
or ``Option``: an ``Err``/``Nothing`` is returned from the decorated function
at once (see :mod:`klaw_core.propagate`), an ``Ok``/``Some`` gives its value.
Works on plain and ``async`` functions alike.

The signature is kept for type checkers with :class:`typing.ParamSpec` (a call
with a wrong argument is still a type error) and for runtime introspection with
:func:`functools.wraps` (``inspect.signature``, ``__wrapped__``, ``__doc__``),
without a third-party decorator library: msgspec is the only runtime
dependency.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, overload

from klaw_core._variants import Propagate

if TYPE_CHECKING:
    from klaw_core._variants import Err, Nothing, Ok, Some

__all__ = ["result"]

P = ParamSpec("P")
R = TypeVar("R", bound="Ok[Any] | Err[Any] | Some[Any] | Nothing")


@overload
def result(func: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]: ...
@overload
def result(func: Callable[P, R]) -> Callable[P, R]: ...
def result(func: Callable[P, Any]) -> Callable[P, Any]:
    """Catch ``.bail()`` inside ``func`` and return the propagated ``Err``/``Nothing``.

    ``func`` must be declared to return a ``Result`` (or ``Option``) whose error
    side covers everything it bails with; the decorator cannot check that.
    Exceptions other than :class:`~klaw_core.propagate.Propagate` pass through.

    Args:
        func: a function or ``async`` function returning a ``Result``/``Option``.

    Returns:
        A wrapper with the same signature, sync or async like ``func``.

    Example:
        >>> from klaw_core.result import Err, Ok, Result
        >>> def parse(text: str) -> Result[int, str]:
        ...     return Ok(int(text)) if text.isdigit() else Err(f"not a number: {text!r}")
        >>> @result
        ... def total(a: str, b: str) -> Result[int, str]:
        ...     return Ok(parse(a).bail() + parse(b).bail())
        >>> total("2", "40"), total("2", "x")
        (Ok(value=42), Err(error="not a number: 'x'"))
    """
    if inspect.iscoroutinefunction(func):
        coroutine_function = cast("Callable[P, Coroutine[Any, Any, Any]]", func)

        @functools.wraps(func)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            try:
                return await coroutine_function(*args, **kwargs)
            except Propagate as stop:
                return stop.value

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        try:
            return func(*args, **kwargs)
        except Propagate as stop:
            return stop.value

    return wrapper
