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
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_FRAME_SIZE",
    "HEADER_FIELDS",
    "MAX_FRAME_SIZE_LIMIT",
    "PREFIX_SIZE",
    "BufferPoolStats",
    "MSGPACK_LENGTH_WIDTH",
    "MSGPACK_SKIP",
    "HeaderPeek",
    "max_depth_error",
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
DEFAULT_MAX_DEPTH: Final = 128
"""Most arrays and maps one decoded value may nest (an envelope counts as 1).

msgspec decodes nesting by C recursion, about 290 bytes of stack per level
(measured: a bare thread with a 128 KiB stack, musl's default, dies from about
440 levels; with 256 KiB from about 890). 128 leaves that thread more than 3x
headroom, and the rest of the stack to its callers, while legitimate messages
are far shallower (an envelope with a list of records nests 3 or 4); it is
also serde_json's default recursion limit. Pass a larger ``max_depth`` only
for threads with big stacks.
"""


def _skip_table() -> bytes:
    table = bytearray(256)
    for code in range(0x80):
        table[code] = 1  # positive fixint
    for code in range(0xE0, 0x100):
        table[code] = 1  # negative fixint
    for code in range(0xA0, 0xC0):
        table[code] = 1 + (code - 0xA0)  # fixstr: type byte + up to 31 bytes
    fixed = {0xC0: 1, 0xC2: 1, 0xC3: 1, 0xCA: 5, 0xCB: 9}  # nil, false, true, float32/64
    fixed |= {0xCC: 2, 0xCD: 3, 0xCE: 5, 0xCF: 9, 0xD0: 2, 0xD1: 3, 0xD2: 5, 0xD3: 9}  # ints
    fixed |= {0xD4: 3, 0xD5: 4, 0xD6: 6, 0xD7: 10, 0xD8: 18}  # fixext: type, ext type, data
    for code, size in fixed.items():
        table[code] = size
    return bytes(table)


def _length_width_table() -> bytes:
    table = bytearray(256)
    for codes, width in (((0xC4, 0xC7, 0xD9), 1), ((0xC5, 0xC8, 0xDA, 0xDC, 0xDE), 2)):
        for code in codes:
            table[code] = width
    for code in (0xC6, 0xC9, 0xDB, 0xDD, 0xDF):
        table[code] = 4
    return bytes(table)


MSGPACK_SKIP: Final = _skip_table()
"""Bytes a fixed-size MessagePack item takes, by its type byte (fixstr included).

0 for what the nesting scan handles itself: containers (fixmap/fixarray,
array/map 16/32), variable-size strings, binaries and extensions, and 0xc1,
which MessagePack never uses.
"""
MSGPACK_LENGTH_WIDTH: Final = _length_width_table()
"""Width of the length or count field after a variable-size item's type byte (1, 2 or 4).

str8/16/32, bin8/16/32, ext8/16/32 (whose length is followed by one ext-type
byte), array16/32 and map16/32 (a count of elements, of pairs for a map); 0
for every other type byte.
"""


def max_depth_error(value: object) -> ValueError:
    """The error for a ``max_depth`` that is not a positive integer.

    Example:
        >>> max_depth_error(0)
        ValueError('max_depth must be an integer >= 1, got 0')
    """
    return ValueError(f"max_depth must be an integer >= 1, got {value!r}")


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
