"""What both wire-core twins share: the wire's constants and limits, and result types.

Defined once, here, in plain Python, and imported by ``klaw_core._wirecore_c``
(at module init, into C globals: nothing is looked up per call),
``klaw_core._wirecore_py`` and ``klaw_core.runtime.config``, so the twins cannot
disagree on a limit. ``HeaderPeek`` and ``BufferPoolStats`` are re-exported by
both twins: a result from the compiled twin compares equal to the same result
from the pure twin, and pickles by naming this module, so it unpickles in a
process (say a Ray worker) that runs the other twin or has no compiler.

The error messages both twins raise live with the error classes, as
constructors (``FrameTooLarge.declared(...)``, ... in
:mod:`klaw_core.runtime.errors`).
"""

from __future__ import annotations

from typing import Final

import msgspec

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "HEADER_FIELDS",
    "MAX_FRAME_SIZE_LIMIT",
    "PREFIX_SIZE",
    "BufferPoolStats",
    "HeaderPeek",
    "max_frame_size_error",
]

PREFIX_SIZE: Final = 4
"""Bytes in a frame's length prefix (a big-endian unsigned 32-bit integer)."""
DEFAULT_MAX_FRAME_SIZE: Final = 16 * 1024 * 1024
"""Largest frame body accepted unless told otherwise (16 MiB)."""
MAX_FRAME_SIZE_LIMIT: Final = 0xFFFFFFFF
"""Largest value a 4-byte prefix can declare, so the largest ``max_frame_size``."""
HEADER_FIELDS: Final = 5
"""Elements of an envelope header: ``[version, kind, channel_id, seq, ts]``."""


def max_frame_size_error(value: int) -> ValueError:
    """The error for a ``max_frame_size`` outside ``0..MAX_FRAME_SIZE_LIMIT``.

    Example:
        >>> max_frame_size_error(-1)
        ValueError('max_frame_size must be between 0 and 4294967295, got -1')
    """
    return ValueError(f"max_frame_size must be between 0 and {MAX_FRAME_SIZE_LIMIT}, got {value}")


class HeaderPeek(msgspec.Struct, frozen=True, gc=False):
    """The routing fields of an envelope, read without decoding its payload.

    An envelope is ``[tag, [version, kind, channel_id, seq, ts], ...fields]``;
    ``peek_header`` reads only the tag and the header array.

    Attributes:
        tag: the envelope's type tag (1 data, 2 control, 3 heartbeat, 4 ack, 5 error).
        version: wire schema version (routes to a decoder).
        kind: equals ``tag`` (checked by the peek).
        channel_id: name of the channel the message belongs to.
        seq: sender sequence number.
        ts: send time, Unix milliseconds.

    Example:
        >>> HeaderPeek(1, 1, 1, "jobs", 7, 1700000000000).channel_id
        'jobs'
    """

    tag: int
    version: int
    kind: int
    channel_id: str
    seq: int
    ts: int


class BufferPoolStats(msgspec.Struct, frozen=True, gc=False):
    """Counters of a ``BufferPool``, read at one instant under the pool's lock.

    Attributes:
        created: buffers allocated because the pool was empty.
        reused: ``acquire`` calls served from the pool.
        released: successful ``release`` calls (pooled or dropped).
        dropped: released buffers not kept: pool full, or a view still exported.
        in_pool: buffers waiting in the pool now.
        outstanding: buffers acquired and not yet released.
        buffer_size: capacity of a newly created buffer.
        max_pool: most buffers the pool keeps.

    Example:
        >>> BufferPoolStats(1, 0, 1, 0, 1, 0, 4096, 64).in_pool
        1
    """

    created: int
    reused: int
    released: int
    dropped: int
    in_pool: int
    outstanding: int
    buffer_size: int
    max_pool: int
