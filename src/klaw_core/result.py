"""Result type: ``Ok[T] | Err[E]`` for explicit error handling.

A function that can fail in an expected way returns ``Ok(value)`` or
``Err(error)`` instead of raising, so the failure is part of its signature and a
type checker makes the caller deal with it. The non-blocking channel calls use
it: ``try_send`` returns ``Ok(None)`` or ``Err(ChannelFull(...))``.

Note:
    Ok/Err are intended for in-process control flow and executor/task APIs.
    For channel/Ray wire messages, use domain-specific msgspec.Struct schemas
    or the WireEnvelope types from klaw_core.runtime.channels.wire.
    Do not expose Result directly over the wire: its shape (a struct per
    variant, a Python exception or arbitrary object as the error) is not part
    of the versioned wire format, and a peer in another language or version
    could not decode it.

Both variants are frozen ``msgspec.Struct`` s with an explicit ``Generic`` base
(Python 3.11: no PEP 695), covariant in their parameter, so an
``Ok[Dog]`` is an ``Ok[Animal]``. They are garbage-collector tracked on purpose:
an ``Err`` holding an exception whose traceback reaches the frame holding the
``Err`` is a reference cycle, and an untracked (``gc=False``) struct would leak
it. They work with ``match``::

    match await tx.try_send(item):
        case Ok():
            ...
        case Err(ChannelFull()):
            ...

Combinators follow Rust's names (``map``, ``and_then``, ``unwrap_or``, ...);
``ok()``/``err()`` return an :mod:`~klaw_core.option` value, and ``.bail()``
returns the value or propagates the ``Err`` to the nearest ``@result``
(:mod:`klaw_core.decorators`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, TypeAlias, TypeVar

import msgspec

from klaw_core.propagate import Propagate
from klaw_core.runtime.errors import UnwrapError

if TYPE_CHECKING:
    from klaw_core.option import Nothing, Some

__all__ = ["Err", "Ok", "Result"]

T = TypeVar("T")
E = TypeVar("E")
T_co = TypeVar("T_co", covariant=True)
E_co = TypeVar("E_co", covariant=True)
U = TypeVar("U")
F = TypeVar("F")


class Ok(msgspec.Struct, Generic[T_co], frozen=True):
    """The success variant of :data:`Result`, holding ``value``.

    Example:
        >>> r = Ok(2).map(lambda v: v * 10)
        >>> r, r.is_ok(), r.unwrap_or(0)
        (Ok(value=20), True, 20)
        >>> match r:
        ...     case Ok(v):
        ...         print("got", v)
        got 20
    """

    value: T_co

    def is_ok(self) -> Literal[True]:
        """Return True: this is the success variant."""
        return True

    def is_err(self) -> Literal[False]:
        """Return False: this is not the error variant."""
        return False

    def ok(self) -> Some[T_co]:
        """Return ``Some(value)``."""
        from klaw_core.option import Some

        return Some(self.value)

    def err(self) -> Nothing:
        """Return ``Nothing()``: an ``Ok`` holds no error."""
        from klaw_core.option import Nothing

        return Nothing()

    def unwrap(self) -> T_co:
        """Return the value."""
        return self.value

    def expect(self, message: str) -> T_co:
        """Return the value (``message`` is only used by ``Err.expect``)."""
        return self.value

    def unwrap_err(self) -> NoReturn:
        """Raise :class:`UnwrapError`: an ``Ok`` holds no error.

        Raises:
            UnwrapError: always.
        """
        raise UnwrapError(self, f"called unwrap_err() on {self!r}")

    def expect_err(self, message: str) -> NoReturn:
        """Raise :class:`UnwrapError` with ``message``: an ``Ok`` holds no error.

        Raises:
            UnwrapError: always.
        """
        raise UnwrapError(self, f"{message}: {self!r}")

    def unwrap_or(self, default: object) -> T_co:
        """Return the value (``default`` is for the ``Err`` variant)."""
        return self.value

    def unwrap_or_else(self, op: Callable[[Any], object]) -> T_co:
        """Return the value (``op`` is for the ``Err`` variant)."""
        return self.value

    def map(self, op: Callable[[T_co], U]) -> Ok[U]:
        """Return ``Ok(op(value))``."""
        return Ok(op(self.value))

    def map_err(self, op: Callable[[Any], object]) -> Ok[T_co]:
        """Return self unchanged (``op`` maps the error of an ``Err``)."""
        return self

    def map_or(self, default: object, op: Callable[[T_co], U]) -> U:
        """Return ``op(value)``."""
        return op(self.value)

    def map_or_else(self, default_op: Callable[[Any], object], op: Callable[[T_co], U]) -> U:
        """Return ``op(value)`` (``default_op`` is for the ``Err`` variant)."""
        return op(self.value)

    def and_then(self, op: Callable[[T_co], Ok[U] | Err[F]]) -> Ok[U] | Err[F]:
        """Return ``op(value)``: chain a second fallible step."""
        return op(self.value)

    def or_else(self, op: Callable[[Any], object]) -> Ok[T_co]:
        """Return self unchanged (``op`` recovers from an ``Err``)."""
        return self

    def inspect(self, op: Callable[[T_co], object]) -> Ok[T_co]:
        """Call ``op(value)`` for its side effect and return self."""
        op(self.value)
        return self

    def inspect_err(self, op: Callable[[Any], object]) -> Ok[T_co]:
        """Return self unchanged (``op`` is for the ``Err`` variant)."""
        return self

    def bail(self) -> T_co:
        """Return the value (``Err.bail()`` propagates instead)."""
        return self.value


class Err(msgspec.Struct, Generic[E_co], frozen=True):
    """The failure variant of :data:`Result`, holding ``error``.

    Example:
        >>> r = Err("disk full")
        >>> r.is_err(), r.unwrap_or(0), r.map(lambda v: v * 10)
        (True, 0, Err(error='disk full'))
        >>> r.unwrap()
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.UnwrapError: called unwrap() on Err(error='disk full')
    """

    error: E_co

    def is_ok(self) -> Literal[False]:
        """Return False: this is not the success variant."""
        return False

    def is_err(self) -> Literal[True]:
        """Return True: this is the error variant."""
        return True

    def ok(self) -> Nothing:
        """Return ``Nothing()``: an ``Err`` holds no value."""
        from klaw_core.option import Nothing

        return Nothing()

    def err(self) -> Some[E_co]:
        """Return ``Some(error)``."""
        from klaw_core.option import Some

        return Some(self.error)

    def unwrap(self) -> NoReturn:
        """Raise :class:`UnwrapError` (chained to ``error`` if it is an exception).

        Raises:
            UnwrapError: always.
        """
        raise self._unwrap_error(f"called unwrap() on {self!r}")

    def expect(self, message: str) -> NoReturn:
        """Raise :class:`UnwrapError` with ``message``.

        Raises:
            UnwrapError: always.
        """
        raise self._unwrap_error(f"{message}: {self!r}")

    def unwrap_err(self) -> E_co:
        """Return the error."""
        return self.error

    def expect_err(self, message: str) -> E_co:
        """Return the error (``message`` is only used by ``Ok.expect_err``)."""
        return self.error

    def unwrap_or(self, default: U) -> U:
        """Return ``default``."""
        return default

    def unwrap_or_else(self, op: Callable[[E_co], U]) -> U:
        """Return ``op(error)``."""
        return op(self.error)

    def map(self, op: Callable[[Any], object]) -> Err[E_co]:
        """Return self unchanged (``op`` maps the value of an ``Ok``)."""
        return self

    def map_err(self, op: Callable[[E_co], F]) -> Err[F]:
        """Return ``Err(op(error))``."""
        return Err(op(self.error))

    def map_or(self, default: U, op: Callable[[Any], object]) -> U:
        """Return ``default``."""
        return default

    def map_or_else(self, default_op: Callable[[E_co], U], op: Callable[[Any], object]) -> U:
        """Return ``default_op(error)``."""
        return default_op(self.error)

    def and_then(self, op: Callable[[Any], object]) -> Err[E_co]:
        """Return self unchanged: the chain stops at the first ``Err``."""
        return self

    def or_else(self, op: Callable[[E_co], Ok[U] | Err[F]]) -> Ok[U] | Err[F]:
        """Return ``op(error)``: try to recover."""
        return op(self.error)

    def inspect(self, op: Callable[[Any], object]) -> Err[E_co]:
        """Return self unchanged (``op`` is for the ``Ok`` variant)."""
        return self

    def inspect_err(self, op: Callable[[E_co], object]) -> Err[E_co]:
        """Call ``op(error)`` for its side effect and return self."""
        op(self.error)
        return self

    def bail(self) -> NoReturn:
        """Return early from the enclosing ``@result`` function with this ``Err``.

        Raises:
            Propagate: always, carrying self; ``@result`` turns it into the
                function's return value.
        """
        raise Propagate(self)

    def _unwrap_error(self, message: str) -> UnwrapError:
        failure = UnwrapError(self, message)
        if isinstance(self.error, BaseException):
            failure.__cause__ = self.error
        return failure


Result: TypeAlias = Ok[T] | Err[E]
"""``Ok[T] | Err[E]``: use in annotations, e.g. ``def parse(s: str) -> Result[int, str]``."""
