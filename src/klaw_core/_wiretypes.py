"""Result types shared by both wire-core twins.

``HeaderPeek`` and ``BufferPoolStats`` are defined once, here, in plain Python,
and re-exported by ``klaw_core._wirecore_c`` and ``klaw_core._wirecore_py``.
A result from the compiled twin therefore compares equal to the same result
from the pure twin, and pickles by naming this module, so it unpickles in a
process (say a Ray worker) that runs the other twin or has no compiler.
"""

from __future__ import annotations

import msgspec

__all__ = ["BufferPoolStats", "HeaderPeek"]


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
