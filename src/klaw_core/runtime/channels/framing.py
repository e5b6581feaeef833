"""Length-prefixed framing: how envelopes are cut out of a byte stream.

A *frame* is a 4-byte big-endian unsigned length followed by exactly that many
bytes (one encoded envelope). A *batch* is frames concatenated. This is the
public face of the wire core (``klaw_core._wirecore``), which picks the compiled
implementation when it is built and an identical pure-Python one otherwise; the
names below are those objects themselves, not wrappers, so calls cost nothing
extra.

- :func:`pack_frame` ``(payload, max_frame_size=...) -> bytes``: one frame.
- :func:`encode_frames` ``(encoder, messages, buffer=None, max_frame_size=...) -> bytearray``:
  encode each message straight into the buffer after a reserved prefix, then
  back-fill the length (no intermediate ``bytes`` per message).
- :func:`split_frames` ``(data, max_frame_size=...) -> list[memoryview]``:
  zero-copy views of the frame bodies of a whole batch.
- :func:`decode_frames` ``(data, decoder, max_frame_size=..., max_depth=..., envelopes=False) -> list``:
  split and decode in one loop, each body first checked by the rules below.
- :func:`check_depth` ``(data, max_depth=128)``: refuse a value nesting arrays and
  maps deeper than ``max_depth`` (:data:`DEFAULT_MAX_DEPTH`) with
  :class:`~klaw_core.runtime.errors.NestingTooDeep`, by a non-recursive scan,
  before msgspec's recursive decoder could overflow a small thread stack.
- :func:`check_envelope` ``(data, max_depth=128) -> int``: the header rules every
  envelope decode applies (``peek_header``'s) plus the nesting bound; returns the
  schema version.
- :class:`FrameDecoder` ``(max_frame_size=...)``: for a stream that arrives in
  chunks cut anywhere; ``feed(chunk)`` returns the frames completed so far,
  ``pending`` counts buffered bytes, ``close()`` raises if a partial frame
  remains, and after an error every call raises until ``reset()``.

Limits and errors: a prefix declaring more than ``max_frame_size`` (default
:data:`DEFAULT_MAX_FRAME_SIZE`, 16 MiB; at most 2**32 - 1) raises
:class:`~klaw_core.runtime.errors.FrameTooLarge` after reading only those 4
bytes; input ending inside a prefix or a body raises
:class:`~klaw_core.runtime.errors.TruncatedFrame`; a body the decoder rejects
raises :class:`~klaw_core.runtime.errors.MalformedPayload` (or its subclass
:class:`~klaw_core.runtime.errors.PayloadValidationError`). Each message gives
the byte offset of the frame's length prefix.

:class:`~klaw_core.runtime.channels.codec.CodecPool` wraps the batch functions
with the shared encoder and envelope decoder; use this module directly for
custom decoders or streams.

Example:
    >>> import msgspec
    >>> batch = encode_frames(msgspec.msgpack.Encoder(), ["a", "bc"])
    >>> bytes(batch)
    b'\\x00\\x00\\x00\\x02\\xa1a\\x00\\x00\\x00\\x03\\xa2bc'
    >>> decode_frames(batch, msgspec.msgpack.Decoder(str))
    ['a', 'bc']
    >>> stream = FrameDecoder()
    >>> stream.feed(batch[:5]), stream.pending
    ([], 5)
    >>> stream.feed(batch[5:])
    [b'\\xa1a', b'\\xa2bc']
    >>> split_frames(b"\\x00\\x00\\x00\\x09abc")
    Traceback (most recent call last):
    ...
    klaw_core.runtime.errors.TruncatedFrame: frame declares 9 bytes, 3 present (at byte 0)
"""

from __future__ import annotations

from klaw_core._wirecore import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_FRAME_SIZE,
    PREFIX_SIZE,
    FrameDecoder,
    check_depth,
    check_envelope,
    decode_frames,
    encode_frames,
    pack_frame,
    split_frames,
)

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_FRAME_SIZE",
    "PREFIX_SIZE",
    "FrameDecoder",
    "check_depth",
    "check_envelope",
    "decode_frames",
    "encode_frames",
    "pack_frame",
    "split_frames",
]
