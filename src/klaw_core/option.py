"""Option type: ``Some[T] | Nothing`` for a value that may be absent.

Where ``None`` is ambiguous (a channel of ``int | None`` can carry ``None`` as a
value) or easy to forget, ``Some(value)``/``Nothing()`` make absence explicit
and give it combinators (``map``, ``and_then``, ``filter``, ``unwrap_or``,
``ok_or``, ...) with Rust's names.

Note:
    Some/Nothing are intended for in-process control flow and executor/task
    APIs. For channel/Ray wire messages, use domain-specific msgspec.Struct
    schemas or the WireEnvelope types from klaw_core.runtime.channels.wire.
    Do not expose Option directly over the wire: it is not part of the
    versioned wire format.

``Some`` is a frozen, covariant ``msgspec.Struct`` with an explicit ``Generic``
base (Python 3.11: no PEP 695); ``Nothing`` is a frozen struct without fields
(every ``Nothing()`` equals every other). Match with ``case Some(v):`` and
``case Nothing():`` — the parentheses matter, a bare ``case Nothing:`` would be
a capture pattern.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Literal, NoReturn, TypeAlias, TypeVar

import msgspec

from klaw_core.propagate import Propagate
from klaw_core.result import Err, Ok
from klaw_core.runtime.errors import UnwrapError

__all__ = ["Nothing", "Option", "Some"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
U = TypeVar("U")
E = TypeVar("E")


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
