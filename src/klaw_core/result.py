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
        """Return True: this is the success variant.

        Returns:
            ``True``; ``Err.is_ok()`` returns ``False``.
        """
        return True

    def is_err(self) -> Literal[False]:
        """Return False: this is not the error variant.

        Returns:
            ``False``; ``Err.is_err()`` returns ``True``.
        """
        return False

    def ok(self) -> Some[T_co]:
        """Return the value as an :data:`~klaw_core.option.Option`.

        Returns:
            ``Some(value)``; ``Err.ok()`` returns ``Nothing()``, dropping the error.
        """
        from klaw_core.option import Some

        return Some(self.value)

    def err(self) -> Nothing:
        """Return the error as an :data:`~klaw_core.option.Option`: an ``Ok`` holds none.

        Returns:
            ``Nothing()``; ``Err.err()`` returns ``Some(error)``.
        """
        from klaw_core.option import Nothing

        return Nothing()

    def unwrap(self) -> T_co:
        """Return the value; ``Err.unwrap()`` raises :class:`UnwrapError` instead.

        Returns:
            ``value``.
        """
        return self.value

    def expect(self, message: str) -> T_co:
        """Return the value; ``Err.expect()`` raises with ``message`` instead.

        Args:
            message: what ``Err.expect`` puts in its :class:`UnwrapError`; unused here.

        Returns:
            ``value``.
        """
        return self.value

    def unwrap_err(self) -> NoReturn:
        """Raise :class:`UnwrapError`: an ``Ok`` holds no error.

        Raises:
            UnwrapError: always.
        """
        raise UnwrapError(self, f"called unwrap_err() on {self!r}")

    def expect_err(self, message: str) -> NoReturn:
        """Raise :class:`UnwrapError` with ``message``: an ``Ok`` holds no error.

        Args:
            message: the start of the error's text, followed by ``": Ok(value=...)"``.

        Raises:
            UnwrapError: always.
        """
        raise UnwrapError(self, f"{message}: {self!r}")

    def unwrap_or(self, default: object) -> T_co:
        """Return the value, ignoring ``default``.

        Args:
            default: what ``Err.unwrap_or`` returns instead; unused here.

        Returns:
            ``value``.
        """
        return self.value

    def unwrap_or_else(self, op: Callable[[Any], object]) -> T_co:
        """Return the value without calling ``op``.

        Args:
            op: ``Err.unwrap_or_else`` calls it with the error to compute a
                value; never called here.

        Returns:
            ``value``.
        """
        return self.value

    def map(self, op: Callable[[T_co], U]) -> Ok[U]:
        """Transform the value.

        Args:
            op: called with the value; its result becomes the new value.

        Returns:
            ``Ok(op(value))``; ``Err.map`` returns the ``Err`` unchanged.
        """
        return Ok(op(self.value))

    def map_err(self, op: Callable[[Any], object]) -> Ok[T_co]:
        """Return self unchanged: there is no error to transform.

        Args:
            op: ``Err.map_err`` calls it with the error; never called here.

        Returns:
            This ``Ok``.
        """
        return self

    def map_or(self, default: object, op: Callable[[T_co], U]) -> U:
        """Return ``op(value)``, ignoring ``default``.

        Args:
            default: what ``Err.map_or`` returns instead; unused here.
            op: called with the value.

        Returns:
            ``op(value)``, not wrapped in ``Ok``.
        """
        return op(self.value)

    def map_or_else(self, default_op: Callable[[Any], object], op: Callable[[T_co], U]) -> U:
        """Return ``op(value)`` without calling ``default_op``.

        Args:
            default_op: ``Err.map_or_else`` calls it with the error; never called here.
            op: called with the value.

        Returns:
            ``op(value)``, not wrapped in ``Ok``.
        """
        return op(self.value)

    def and_then(self, op: Callable[[T_co], Ok[U] | Err[F]]) -> Ok[U] | Err[F]:
        """Chain a second fallible step on the value.

        Args:
            op: called with the value; returns the next ``Ok`` or ``Err``.

        Returns:
            ``op(value)`` as it is (not wrapped again); ``Err.and_then`` skips
            ``op`` and returns the ``Err``.
        """
        return op(self.value)

    def or_else(self, op: Callable[[Any], object]) -> Ok[T_co]:
        """Return self unchanged: there is nothing to recover from.

        Args:
            op: ``Err.or_else`` calls it with the error to try to recover;
                never called here.

        Returns:
            This ``Ok``.
        """
        return self

    def inspect(self, op: Callable[[T_co], object]) -> Ok[T_co]:
        """Call ``op(value)`` for its side effect (a log line, a metric) and return self.

        Args:
            op: called with the value; what it returns is ignored.

        Returns:
            This ``Ok``, so the call fits in a chain.
        """
        op(self.value)
        return self

    def inspect_err(self, op: Callable[[Any], object]) -> Ok[T_co]:
        """Return self unchanged without calling ``op``.

        Args:
            op: ``Err.inspect_err`` calls it with the error; never called here.

        Returns:
            This ``Ok``.
        """
        return self

    def bail(self) -> T_co:
        """Return the value; ``Err.bail()`` propagates to the enclosing ``@result`` instead.

        Returns:
            ``value``.
        """
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
        """Return False: this is not the success variant.

        Returns:
            ``False``; ``Ok.is_ok()`` returns ``True``.
        """
        return False

    def is_err(self) -> Literal[True]:
        """Return True: this is the error variant.

        Returns:
            ``True``; ``Ok.is_err()`` returns ``False``.
        """
        return True

    def ok(self) -> Nothing:
        """Return the value as an :data:`~klaw_core.option.Option`: an ``Err`` holds none.

        Returns:
            ``Nothing()``, dropping the error; ``Ok.ok()`` returns ``Some(value)``.
        """
        from klaw_core.option import Nothing

        return Nothing()

    def err(self) -> Some[E_co]:
        """Return the error as an :data:`~klaw_core.option.Option`.

        Returns:
            ``Some(error)``; ``Ok.err()`` returns ``Nothing()``.
        """
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

        Args:
            message: the start of the error's text, followed by
                ``": Err(error=...)"``; say what was expected to succeed.

        Raises:
            UnwrapError: always, chained to ``error`` if it is an exception.
        """
        raise self._unwrap_error(f"{message}: {self!r}")

    def unwrap_err(self) -> E_co:
        """Return the error; ``Ok.unwrap_err()`` raises :class:`UnwrapError` instead.

        Returns:
            ``error``.
        """
        return self.error

    def expect_err(self, message: str) -> E_co:
        """Return the error; ``Ok.expect_err()`` raises with ``message`` instead.

        Args:
            message: what ``Ok.expect_err`` puts in its :class:`UnwrapError`; unused here.

        Returns:
            ``error``.
        """
        return self.error

    def unwrap_or(self, default: U) -> U:
        """Return ``default`` in place of the missing value.

        Args:
            default: the fallback value; evaluated by the caller even for an
                ``Ok``, so use :meth:`unwrap_or_else` when it is costly.

        Returns:
            ``default``; ``Ok.unwrap_or`` returns its value.
        """
        return default

    def unwrap_or_else(self, op: Callable[[E_co], U]) -> U:
        """Compute a value in place of the missing one, from the error.

        Args:
            op: called with the error; what it returns is returned.

        Returns:
            ``op(error)``; ``Ok.unwrap_or_else`` returns its value.
        """
        return op(self.error)

    def map(self, op: Callable[[Any], object]) -> Err[E_co]:
        """Return self unchanged: there is no value to transform.

        Args:
            op: ``Ok.map`` calls it with the value; never called here.

        Returns:
            This ``Err``.
        """
        return self

    def map_err(self, op: Callable[[E_co], F]) -> Err[F]:
        """Transform the error, for example to wrap it in a domain exception.

        Args:
            op: called with the error; its result becomes the new error.

        Returns:
            ``Err(op(error))``; ``Ok.map_err`` returns the ``Ok`` unchanged.
        """
        return Err(op(self.error))

    def map_or(self, default: U, op: Callable[[Any], object]) -> U:
        """Return ``default`` without calling ``op``.

        Args:
            default: the result in place of ``op(value)``.
            op: ``Ok.map_or`` calls it with the value; never called here.

        Returns:
            ``default``.
        """
        return default

    def map_or_else(self, default_op: Callable[[E_co], U], op: Callable[[Any], object]) -> U:
        """Return ``default_op(error)`` without calling ``op``.

        Args:
            default_op: called with the error; its result is returned.
            op: ``Ok.map_or_else`` calls it with the value; never called here.

        Returns:
            ``default_op(error)``.
        """
        return default_op(self.error)

    def and_then(self, op: Callable[[Any], object]) -> Err[E_co]:
        """Return self unchanged: the chain stops at the first ``Err``.

        Args:
            op: the next step; ``Ok.and_then`` calls it, never called here.

        Returns:
            This ``Err``.
        """
        return self

    def or_else(self, op: Callable[[E_co], Ok[U] | Err[F]]) -> Ok[U] | Err[F]:
        """Try to recover from the error.

        Args:
            op: called with the error; returns ``Ok`` when it recovered, or an
                ``Err`` (the same or a new error) when it did not.

        Returns:
            ``op(error)`` as it is; ``Ok.or_else`` returns the ``Ok`` unchanged.
        """
        return op(self.error)

    def inspect(self, op: Callable[[Any], object]) -> Err[E_co]:
        """Return self unchanged without calling ``op``.

        Args:
            op: ``Ok.inspect`` calls it with the value; never called here.

        Returns:
            This ``Err``.
        """
        return self

    def inspect_err(self, op: Callable[[E_co], object]) -> Err[E_co]:
        """Call ``op(error)`` for its side effect (a log line, a metric) and return self.

        Args:
            op: called with the error; what it returns is ignored.

        Returns:
            This ``Err``, so the call fits in a chain.
        """
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
