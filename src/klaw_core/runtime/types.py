"""Constrained types, checked by msgspec wherever data enters from outside.

Use these aliases as field annotations on structs that are *decoded* from
config files, environment variables, API requests or the wire. msgspec checks the
constraints during ``decode``/``convert`` (in C, at no extra Python cost) and
names both the field and the bound it broke::

    Expected `int` >= 1 - at `$.capacity`

Constructing a struct directly in Python does *not* check them; inside the
process, static typing is the guard.

The ranges are the PRD's (FR-1.3); the extras come from the recommendations memo
(where the two disagree, the PRD wins: ``ChannelCapacity`` tops out at 1,000,000,
``TimeoutSeconds`` admits 0, ``Identifier`` allows no dots and at most 255
characters).

The string patterns end in ``$(?!\n)`` rather than the PRD's bare ``$``: Python's
``$`` also matches before a trailing newline, so ``"name\n"`` would pass. The
look-ahead (written with a literal newline character, so error messages show a
single ``\n``) is valid in JSON Schema (ECMA 262) regexes too.

Example:
    >>> import msgspec
    >>> class ChannelConfig(msgspec.Struct):
    ...     capacity: ChannelCapacity = 10_000
    >>> msgspec.json.decode(b'{"capacity": 0}', type=ChannelConfig)
    Traceback (most recent call last):
    ...
    msgspec.ValidationError: ...capacity...
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

import msgspec

from klaw_core._wiretypes import MAX_FRAME_SIZE_LIMIT

__all__ = [
    "BatchSize",
    "ChannelCapacity",
    "ChannelName",
    "ConcurrencyLimit",
    "FrameSize",
    "Identifier",
    "Namespace",
    "NodeId",
    "NonNegativeInt",
    "Percentage",
    "Port",
    "PositiveFloat",
    "PositiveInt",
    "Ratio",
    "SchemaVersion",
    "TimeoutSeconds",
]

# ----------------------------------------------------------------- numbers (PRD)

#: An integer > 0.
PositiveInt: TypeAlias = Annotated[
    int, msgspec.Meta(gt=0, description="An integer greater than 0.")
]

#: An integer >= 0.
NonNegativeInt: TypeAlias = Annotated[
    int, msgspec.Meta(ge=0, description="An integer greater than or equal to 0.")
]

#: Number of items a bounded channel buffers: 1 to 1,000,000.
ChannelCapacity: TypeAlias = Annotated[
    int,
    msgspec.Meta(ge=1, le=1_000_000, description="Channel buffer size, 1 to 1,000,000 items."),
]

#: A timeout in seconds: 0 (do not wait) to 86,400 (24 hours).
TimeoutSeconds: TypeAlias = Annotated[
    float,
    msgspec.Meta(ge=0.0, le=86_400.0, description="Timeout in seconds, 0 to 86400 (24 hours)."),
]

#: Maximum number of concurrent operations: 1 to 10,000.
ConcurrencyLimit: TypeAlias = Annotated[
    int,
    msgspec.Meta(ge=1, le=10_000, description="Maximum concurrent operations, 1 to 10,000."),
]

# ----------------------------------------------------------------- strings (PRD)

#: A name: a letter or ``_``, then letters, digits, ``_`` or ``-``; 1 to 255 characters.
Identifier: TypeAlias = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=255,
        pattern="^[a-zA-Z_][a-zA-Z0-9_-]*$(?!\n)",
        description=(
            "Identifier: starts with a letter or underscore, then letters, digits, "
            "underscores or hyphens; 1 to 255 characters."
        ),
    ),
]

#: A namespace (DNS-label style): a lowercase letter, then ``a-z``, ``0-9`` or ``-``; 1 to 63 characters.
Namespace: TypeAlias = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=63,
        pattern="^[a-z][a-z0-9-]*$(?!\n)",
        description=(
            "Namespace: starts with a lowercase letter, then lowercase letters, digits "
            "or hyphens; 1 to 63 characters."
        ),
    ),
]

# ------------------------------------------------------------ extras (the memo)

#: A float > 0.
PositiveFloat: TypeAlias = Annotated[
    float, msgspec.Meta(gt=0.0, description="A number greater than 0.")
]

#: A percentage: 0 to 100 inclusive.
Percentage: TypeAlias = Annotated[
    float, msgspec.Meta(ge=0.0, le=100.0, description="A percentage, 0 to 100.")
]

#: A ratio or probability: 0.0 to 1.0 inclusive.
Ratio: TypeAlias = Annotated[
    float, msgspec.Meta(ge=0.0, le=1.0, description="A ratio, 0.0 to 1.0.")
]

#: Number of items in one batch operation: 1 to 100,000.
BatchSize: TypeAlias = Annotated[
    int,
    msgspec.Meta(ge=1, le=100_000, description="Batch operation size, 1 to 100,000 items."),
]

#: A channel name with an optional ``/``-separated namespace; 1 to 512 characters.
ChannelName: TypeAlias = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=512,
        pattern="^[a-zA-Z_][a-zA-Z0-9_./-]*$(?!\n)",
        description=(
            "Channel name: starts with a letter or underscore, then letters, digits, "
            "'_', '-', '.' or '/'; 1 to 512 characters."
        ),
    ),
]

#: A node or worker identifier: any non-empty string up to 128 characters.
NodeId: TypeAlias = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=128, description="Node or worker id, 1 to 128 characters."
    ),
]

#: A wire schema version: 1 to 1000.
SchemaVersion: TypeAlias = Annotated[
    int, msgspec.Meta(ge=1, le=1000, description="Wire schema version, 1 to 1000.")
]

#: A TCP/UDP port number: 1 to 65535.
Port: TypeAlias = Annotated[
    int, msgspec.Meta(ge=1, le=65_535, description="A TCP/UDP port number, 1 to 65535.")
]

#: A frame size in bytes that a 4-byte length prefix can express: 1 to 2**32 - 1.
FrameSize: TypeAlias = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        le=MAX_FRAME_SIZE_LIMIT,
        description="Frame size in bytes, 1 to 4294967295 (the 4-byte length prefix's range).",
    ),
]
