"""The variants of ``Result`` and ``Option`` and the ``.bail()`` signal, in one module.

``Ok.ok()`` returns a ``Some``, ``Nothing.ok_or()`` an ``Err``, and every
variant's ``.bail()`` raises :class:`Propagate` carrying an ``Err`` or a
``Nothing``: the four variants and the signal refer to each other, so they live
together here and nothing imports in a function body to dodge a cycle. The
public paths are the seeds' — :mod:`klaw_core.result` (``Ok``, ``Err``,
``Result``), :mod:`klaw_core.option` (``Some``, ``Nothing``, ``Option``) and
:mod:`klaw_core.propagate` (``Propagate``) — which re-export from here; each
class names its public module as ``__module__``, so reprs, pickles and the docs
show the path users import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Literal, NoReturn, TypeAlias, TypeVar

import msgspec

from klaw_core.runtime.errors import UnwrapError

__all__ = ["Err", "Nothing", "Ok", "Option", "Propagate", "Result", "Some"]

T = TypeVar("T")
E = TypeVar("E")
T_co = TypeVar("T_co", covariant=True)
E_co = TypeVar("E_co", covariant=True)
U = TypeVar("U")
F = TypeVar("F")


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
        return Some(self.value)

    def err(self) -> Nothing:
        """Return the error as an :data:`~klaw_core.option.Option`: an ``Ok`` holds none.

        Returns:
            ``Nothing()``; ``Err.err()`` returns ``Some(error)``.
        """
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
        return Nothing()

    def err(self) -> Some[E_co]:
        """Return the error as an :data:`~klaw_core.option.Option`.

        Returns:
            ``Some(error)``; ``Ok.err()`` returns ``Nothing()``.
        """
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


class Some(msgspec.Struct, Generic[T_co], frozen=True):
    """The present variant of :data:`Option`, holding ``value``.

    Example:
        >>> Some(3).map(lambda v: v + 1).filter(lambda v: v > 3)
        Some(value=4)
        >>> Some(3).ok_or("missing")
        Ok(value=3)
    """

    value: T_co

    def is_some(self) -> Literal[True]:
        """Return True: a value is present.

        Returns:
            ``True``; ``Nothing().is_some()`` returns ``False``.
        """
        return True

    def is_none(self) -> Literal[False]:
        """Return False: a value is present.

        Returns:
            ``False``; ``Nothing().is_none()`` returns ``True``.
        """
        return False

    def unwrap(self) -> T_co:
        """Return the value; ``Nothing.unwrap()`` raises :class:`UnwrapError` instead.

        Returns:
            ``value``.
        """
        return self.value

    def expect(self, message: str) -> T_co:
        """Return the value; ``Nothing.expect()`` raises with ``message`` instead.

        Args:
            message: what ``Nothing.expect`` puts in its :class:`UnwrapError`; unused here.

        Returns:
            ``value``.
        """
        return self.value

    def unwrap_or(self, default: object) -> T_co:
        """Return the value, ignoring ``default``.

        Args:
            default: what ``Nothing.unwrap_or`` returns instead; unused here.

        Returns:
            ``value``.
        """
        return self.value

    def unwrap_or_else(self, op: Callable[[], object]) -> T_co:
        """Return the value without calling ``op``.

        Args:
            op: ``Nothing.unwrap_or_else`` calls it to compute a value; never
                called here.

        Returns:
            ``value``.
        """
        return self.value

    def map(self, op: Callable[[T_co], U]) -> Some[U]:
        """Transform the value.

        Args:
            op: called with the value; its result becomes the new value, even
                when it is ``None``.

        Returns:
            ``Some(op(value))``; ``Nothing.map`` returns ``Nothing()``.
        """
        return Some(op(self.value))

    def map_or(self, default: object, op: Callable[[T_co], U]) -> U:
        """Return ``op(value)``, ignoring ``default``.

        Args:
            default: what ``Nothing.map_or`` returns instead; unused here.
            op: called with the value.

        Returns:
            ``op(value)``, not wrapped in ``Some``.
        """
        return op(self.value)

    def map_or_else(self, default_op: Callable[[], object], op: Callable[[T_co], U]) -> U:
        """Return ``op(value)`` without calling ``default_op``.

        Args:
            default_op: ``Nothing.map_or_else`` calls it; never called here.
            op: called with the value.

        Returns:
            ``op(value)``, not wrapped in ``Some``.
        """
        return op(self.value)

    def and_then(self, op: Callable[[T_co], Some[U] | Nothing]) -> Some[U] | Nothing:
        """Chain a second step that may find nothing.

        Args:
            op: called with the value; returns ``Some(...)`` or ``Nothing()``.

        Returns:
            ``op(value)`` as it is (not wrapped again); ``Nothing.and_then``
            skips ``op``.
        """
        return op(self.value)

    def or_else(self, op: Callable[[], object]) -> Some[T_co]:
        """Return self unchanged: a value is already present.

        Args:
            op: ``Nothing.or_else`` calls it for an alternative; never called here.

        Returns:
            This ``Some``.
        """
        return self

    def filter(self, predicate: Callable[[T_co], object]) -> Some[T_co] | Nothing:
        """Keep the value only if it passes ``predicate``.

        Args:
            predicate: called with the value; a truthy result keeps it.

        Returns:
            This ``Some`` if ``predicate(value)`` is truthy, else ``Nothing()``.
        """
        return self if predicate(self.value) else Nothing()

    def inspect(self, op: Callable[[T_co], object]) -> Some[T_co]:
        """Call ``op(value)`` for its side effect (a log line, a metric) and return self.

        Args:
            op: called with the value; what it returns is ignored.

        Returns:
            This ``Some``, so the call fits in a chain.
        """
        op(self.value)
        return self

    def ok_or(self, error: object) -> Ok[T_co]:
        """Convert to a :data:`~klaw_core.result.Result`, keeping the value.

        Args:
            error: the error ``Nothing.ok_or`` would wrap in ``Err``; unused here.

        Returns:
            ``Ok(value)``.
        """
        return Ok(self.value)

    def ok_or_else(self, op: Callable[[], object]) -> Ok[T_co]:
        """Convert to a :data:`~klaw_core.result.Result` without calling ``op``.

        Args:
            op: ``Nothing.ok_or_else`` calls it to build the error; never called here.

        Returns:
            ``Ok(value)``.
        """
        return Ok(self.value)

    def bail(self) -> T_co:
        """Return the value; ``Nothing.bail()`` propagates to the enclosing ``@result`` instead.

        Returns:
            ``value``.
        """
        return self.value


class Nothing(msgspec.Struct, frozen=True):
    """The absent variant of :data:`Option`.

    Example:
        >>> Nothing().map(lambda v: v + 1), Nothing().unwrap_or(0)
        (Nothing(), 0)
        >>> Nothing().ok_or("missing")
        Err(error='missing')
    """

    def is_some(self) -> Literal[False]:
        """Return False: no value is present.

        Returns:
            ``False``; ``Some.is_some()`` returns ``True``.
        """
        return False

    def is_none(self) -> Literal[True]:
        """Return True: no value is present.

        Returns:
            ``True``; ``Some.is_none()`` returns ``False``.
        """
        return True

    def unwrap(self) -> NoReturn:
        """Raise :class:`UnwrapError`: there is no value.

        Raises:
            UnwrapError: always.
        """
        raise UnwrapError(self, "called unwrap() on Nothing()")

    def expect(self, message: str) -> NoReturn:
        """Raise :class:`UnwrapError` with ``message``.

        Args:
            message: the error's whole text (unlike ``Err.expect``, nothing is
                appended); say what was expected to be there.

        Raises:
            UnwrapError: always.
        """
        raise UnwrapError(self, message)

    def unwrap_or(self, default: U) -> U:
        """Return ``default`` in place of the missing value.

        Args:
            default: the fallback value; evaluated by the caller even for a
                ``Some``, so use :meth:`unwrap_or_else` when it is costly.

        Returns:
            ``default``; ``Some.unwrap_or`` returns its value.
        """
        return default

    def unwrap_or_else(self, op: Callable[[], U]) -> U:
        """Compute a value in place of the missing one.

        Args:
            op: called with no arguments; what it returns is returned.

        Returns:
            ``op()``; ``Some.unwrap_or_else`` returns its value.
        """
        return op()

    def map(self, op: Callable[[Any], object]) -> Nothing:
        """Return self: there is nothing to transform.

        Args:
            op: ``Some.map`` calls it with the value; never called here.

        Returns:
            This ``Nothing``.
        """
        return self

    def map_or(self, default: U, op: Callable[[Any], object]) -> U:
        """Return ``default`` without calling ``op``.

        Args:
            default: the result in place of ``op(value)``.
            op: ``Some.map_or`` calls it with the value; never called here.

        Returns:
            ``default``.
        """
        return default

    def map_or_else(self, default_op: Callable[[], U], op: Callable[[Any], object]) -> U:
        """Return ``default_op()`` without calling ``op``.

        Args:
            default_op: called with no arguments; its result is returned.
            op: ``Some.map_or_else`` calls it with the value; never called here.

        Returns:
            ``default_op()``.
        """
        return default_op()

    def and_then(self, op: Callable[[Any], object]) -> Nothing:
        """Return self: the chain stops here.

        Args:
            op: the next step; ``Some.and_then`` calls it, never called here.

        Returns:
            This ``Nothing``.
        """
        return self

    def or_else(self, op: Callable[[], Some[U] | Nothing]) -> Some[U] | Nothing:
        """Try an alternative source of a value.

        Args:
            op: called with no arguments; returns ``Some(...)`` or ``Nothing()``.

        Returns:
            ``op()`` as it is; ``Some.or_else`` returns the ``Some`` unchanged.
        """
        return op()

    def filter(self, predicate: Callable[[Any], object]) -> Nothing:
        """Return self: there is no value to test.

        Args:
            predicate: ``Some.filter`` calls it with the value; never called here.

        Returns:
            This ``Nothing``.
        """
        return self

    def inspect(self, op: Callable[[Any], object]) -> Nothing:
        """Return self without calling ``op``.

        Args:
            op: ``Some.inspect`` calls it with the value; never called here.

        Returns:
            This ``Nothing``.
        """
        return self

    def ok_or(self, error: E) -> Err[E]:
        """Convert to a :data:`~klaw_core.result.Result`, turning absence into ``error``.

        Args:
            error: the error to report; evaluated by the caller even for a
                ``Some``, so use :meth:`ok_or_else` when it is costly.

        Returns:
            ``Err(error)``; ``Some.ok_or`` returns ``Ok(value)``.
        """
        return Err(error)

    def ok_or_else(self, op: Callable[[], E]) -> Err[E]:
        """Convert to a :data:`~klaw_core.result.Result`, building the error only now.

        Args:
            op: called with no arguments; its result becomes the error.

        Returns:
            ``Err(op())``; ``Some.ok_or_else`` returns ``Ok(value)``.
        """
        return Err(op())

    def bail(self) -> NoReturn:
        """Return early from the enclosing ``@result`` function with ``Nothing()``.

        Raises:
            Propagate: always, carrying self.
        """
        raise Propagate(self)


Option: TypeAlias = Some[T] | Nothing
"""``Some[T] | Nothing``: use in annotations, e.g. ``def find(k: str) -> Option[int]``."""


# The public modules, not this one: reprs, pickles and the docs name the path users import.
Propagate.__module__ = "klaw_core.propagate"
Ok.__module__ = Err.__module__ = "klaw_core.result"
Some.__module__ = Nothing.__module__ = "klaw_core.option"
