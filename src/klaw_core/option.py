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
        """Return True: a value is present."""
        return True

    def is_none(self) -> Literal[False]:
        """Return False: a value is present."""
        return False

    def unwrap(self) -> T_co:
        """Return the value."""
        return self.value

    def expect(self, message: str) -> T_co:
        """Return the value (``message`` is only used by ``Nothing.expect``)."""
        return self.value

    def unwrap_or(self, default: object) -> T_co:
        """Return the value (``default`` is for ``Nothing``)."""
        return self.value

    def unwrap_or_else(self, op: Callable[[], object]) -> T_co:
        """Return the value (``op`` is for ``Nothing``)."""
        return self.value

    def map(self, op: Callable[[T_co], U]) -> Some[U]:
        """Return ``Some(op(value))``."""
        return Some(op(self.value))

    def map_or(self, default: object, op: Callable[[T_co], U]) -> U:
        """Return ``op(value)``."""
        return op(self.value)

    def map_or_else(self, default_op: Callable[[], object], op: Callable[[T_co], U]) -> U:
        """Return ``op(value)`` (``default_op`` is for ``Nothing``)."""
        return op(self.value)

    def and_then(self, op: Callable[[T_co], Some[U] | Nothing]) -> Some[U] | Nothing:
        """Return ``op(value)``: chain a second step that may find nothing."""
        return op(self.value)

    def or_else(self, op: Callable[[], object]) -> Some[T_co]:
        """Return self unchanged (``op`` supplies an alternative to ``Nothing``)."""
        return self

    def filter(self, predicate: Callable[[T_co], object]) -> Some[T_co] | Nothing:
        """Return self if ``predicate(value)`` is true, else ``Nothing()``."""
        return self if predicate(self.value) else Nothing()

    def inspect(self, op: Callable[[T_co], object]) -> Some[T_co]:
        """Call ``op(value)`` for its side effect and return self."""
        op(self.value)
        return self

    def ok_or(self, error: object) -> Ok[T_co]:
        """Return ``Ok(value)`` (``error`` is for ``Nothing``)."""
        return Ok(self.value)

    def ok_or_else(self, op: Callable[[], object]) -> Ok[T_co]:
        """Return ``Ok(value)`` (``op`` is for ``Nothing``)."""
        return Ok(self.value)

    def bail(self) -> T_co:
        """Return the value (``Nothing.bail()`` propagates instead)."""
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
        """Return False: no value is present."""
        return False

    def is_none(self) -> Literal[True]:
        """Return True: no value is present."""
        return True

    def unwrap(self) -> NoReturn:
        """Raise :class:`UnwrapError`: there is no value.

        Raises:
            UnwrapError: always.
        """
        raise UnwrapError(self, "called unwrap() on Nothing()")

    def expect(self, message: str) -> NoReturn:
        """Raise :class:`UnwrapError` with ``message``.

        Raises:
            UnwrapError: always.
        """
        raise UnwrapError(self, message)

    def unwrap_or(self, default: U) -> U:
        """Return ``default``."""
        return default

    def unwrap_or_else(self, op: Callable[[], U]) -> U:
        """Return ``op()``."""
        return op()

    def map(self, op: Callable[[Any], object]) -> Nothing:
        """Return self (there is nothing to map)."""
        return self

    def map_or(self, default: U, op: Callable[[Any], object]) -> U:
        """Return ``default``."""
        return default

    def map_or_else(self, default_op: Callable[[], U], op: Callable[[Any], object]) -> U:
        """Return ``default_op()``."""
        return default_op()

    def and_then(self, op: Callable[[Any], object]) -> Nothing:
        """Return self: the chain stops here."""
        return self

    def or_else(self, op: Callable[[], Some[U] | Nothing]) -> Some[U] | Nothing:
        """Return ``op()``: an alternative source of a value."""
        return op()

    def filter(self, predicate: Callable[[Any], object]) -> Nothing:
        """Return self."""
        return self

    def inspect(self, op: Callable[[Any], object]) -> Nothing:
        """Return self (``op`` is for ``Some``)."""
        return self

    def ok_or(self, error: E) -> Err[E]:
        """Return ``Err(error)``."""
        return Err(error)

    def ok_or_else(self, op: Callable[[], E]) -> Err[E]:
        """Return ``Err(op())``."""
        return Err(op())

    def bail(self) -> NoReturn:
        """Return early from the enclosing ``@result`` function with ``Nothing()``.

        Raises:
            Propagate: always, carrying self.
        """
        raise Propagate(self)


Option: TypeAlias = Some[T] | Nothing
"""``Some[T] | Nothing``: use in annotations, e.g. ``def find(k: str) -> Option[int]``."""
