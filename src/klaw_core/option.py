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

from klaw_core._variants import Nothing, Option, Some

__all__ = ["Nothing", "Option", "Some"]
