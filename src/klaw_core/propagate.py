"""Early return for ``Result``/``Option``: the ``?`` operator of Rust, in Python.

``Err(...).bail()`` and ``Nothing().bail()`` raise :class:`Propagate` carrying
themselves; the :func:`klaw_core.decorators.result` decorator catches it at the
function boundary and returns the carried value. ``Ok(v).bail()`` and
``Some(v).bail()`` simply return ``v``. So a chain of fallible steps reads as
straight-line code::

    @result
    def load(path: str) -> Result[Config, str]:
        text = read(path).bail()      # returns early with read()'s Err
        return parse(text)

Why a ``BaseException`` and not an ``Exception``: ``bail()`` is control flow,
like ``return``. A broad ``except Exception:`` between ``bail()`` and the
decorator (logging, retry helpers, ...) must not swallow the early return and
turn it into something else, for the same reason that ``asyncio.CancelledError``
and ``GeneratorExit`` are not ``Exception`` subclasses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from klaw_core.option import Nothing
    from klaw_core.result import Err

__all__ = ["Propagate"]


class Propagate(BaseException):
    """Carries an ``Err`` or ``Nothing`` from ``.bail()`` up to the nearest ``@result``.

    Args:
        value: the ``Err``/``Nothing`` to return from the decorated function.

    Attributes:
        value: the carried ``Err``/``Nothing``.

    Example:
        >>> from klaw_core.result import Err
        >>> try:
        ...     Err("no such file").bail()
        ... except Propagate as stop:
        ...     stop.value
        Err(error='no such file')
    """

    def __init__(self, value: Err[Any] | Nothing) -> None:
        super().__init__(value)
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.value,))
