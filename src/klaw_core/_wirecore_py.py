"""Pure-Python twin of the compiled wire core ``klaw_core._wirecore_c``.

Same names, signatures, results, exception classes, offsets and messages as
the Cython module; it is what runs under ``KLAW_NO_EXTENSIONS=1``, on non-CPython
interpreters, or when no compiler was available, and it is the version type
checkers read. The byte-level rules (normative, see docs/wire-format.md):

- A frame is a 4-byte big-endian unsigned length, then exactly that many bytes.
  A declared length above ``max_frame_size`` raises ``FrameTooLarge`` after the
  4 prefix bytes alone; input that ends inside a prefix or a body raises
  ``TruncatedFrame``. Offsets are those of the frame's first prefix byte.
- An envelope starts ``[tag, [version, kind, channel_id, seq, ts], ...]``.
  ``peek_header`` accepts every MessagePack width for the integers and every
  str width for ``channel_id``; input that ends before the header is complete
  raises ``TruncatedFrame`` ("need more bytes"), anything else that does not
  match raises ``MalformedHeader``, both at the offset of the item being read.

Every read of untrusted bytes checks ``needed <= end - pos`` first.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from struct import Struct
from types import TracebackType
from typing import Any, Final, Protocol

from klaw_core._wiretypes import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_FRAME_SIZE,
    HEADER_FIELDS,
    MAX_FRAME_SIZE_LIMIT,
    MSGPACK_LENGTH_WIDTH,
    MSGPACK_SKIP,
    PREFIX_SIZE,
    BufferPoolStats,
    HeaderPeek,
    max_depth_error,
    max_frame_size_error,
)
from klaw_core.runtime.errors import (
    FrameTooLarge,
    KlawWireError,
    MalformedHeader,
    MalformedPayload,
    NestingTooDeep,
    TruncatedFrame,
)

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_FRAME_SIZE",
    "MAX_FRAME_SIZE_LIMIT",
    "PREFIX_SIZE",
    "BufferPool",
    "BufferPoolStats",
    "FrameDecoder",
    "HeaderPeek",
    "check_depth",
    "check_envelope",
    "decode_frames",
    "encode_frames",
    "encode_into",
    "pack_frame",
    "peek_header",
    "peek_version",
    "split_frames",
]

_PREFIX: Final = Struct(">I")
_ZERO_PREFIX: Final = b"\x00\x00\x00\x00"

# Integer encodings: type byte -> (width in bytes, signed).
_INT_WIDTHS: Final[dict[int, tuple[int, bool]]] = {
    0xCC: (1, False),
    0xCD: (2, False),
    0xCE: (4, False),
    0xCF: (8, False),
    0xD0: (1, True),
    0xD1: (2, True),
    0xD2: (4, True),
    0xD3: (8, True),
}
# str8/16/32: type byte -> width of the length field.
_STR_WIDTHS: Final[dict[int, int]] = {0xD9: 1, 0xDA: 2, 0xDB: 4}
# array16/32: type byte -> width of the count field.
_ARRAY_WIDTHS: Final[dict[int, int]] = {0xDC: 2, 0xDD: 4}


class _Encoder(Protocol):
    def encode_into(self, obj: Any, buffer: bytearray, offset: int = 0, /) -> None: ...


class _Decoder(Protocol):
    def decode(self, buf: Any, /) -> Any: ...


# --------------------------------------------------------------------- helpers


def _check_max_frame_size(max_frame_size: int) -> int:
    if not 0 <= max_frame_size <= MAX_FRAME_SIZE_LIMIT:
        raise max_frame_size_error(max_frame_size)
    return max_frame_size


def _byte_view(data: Any) -> memoryview:
    """A flat unsigned-byte memoryview of any C-contiguous buffer."""
    view = memoryview(data)
    if not view.c_contiguous:
        raise BufferError("the input buffer is not C-contiguous")
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


# ----------------------------------------------------------------- buffer pool


class BufferPool:
    """A thread-safe pool of reusable ``bytearray`` encode buffers.

    ``acquire`` returns an empty (length 0) buffer; ``release`` gives it back.
    The compiled twin keeps each buffer's capacity across uses (it sets the
    length to 0 instead of freeing the memory), so a steady acquire/release
    cycle allocates nothing; the pure twin cannot (Python can only empty a
    bytearray by freeing its memory), so there the pool saves object churn,
    not memory traffic.

    Rules: only buffers acquired from this pool and not yet released may be
    released (anything else raises ``ValueError``; a non-bytearray raises
    ``TypeError``). A buffer that still has a live exported view (say a
    ``memoryview``) when released is dropped, never reissued, so the view can
    never see another message's bytes. A full pool drops the buffer.

    Args:
        buffer_size: capacity of a newly created buffer, in bytes.
        max_pool: most buffers kept for reuse.

    Raises:
        ValueError: for a negative ``buffer_size`` or ``max_pool``.

    Example:
        >>> pool = BufferPool(buffer_size=256, max_pool=2)
        >>> with pool.lease() as buf:
        ...     buf += b"hello"
        >>> pool.stats().in_pool
        1
    """

    __slots__ = (
        "_buffer_size",
        "_created",
        "_dropped",
        "_free",
        "_lock",
        "_max_pool",
        "_outstanding",
        "_released",
        "_reused",
    )

    def __init__(self, buffer_size: int = 4096, max_pool: int = 64) -> None:
        if buffer_size < 0:
            raise ValueError(f"buffer_size must be >= 0, got {buffer_size}")
        if max_pool < 0:
            raise ValueError(f"max_pool must be >= 0, got {max_pool}")
        self._buffer_size = int(buffer_size)
        self._max_pool = int(max_pool)
        self._free: list[bytearray] = []
        # id -> number of times that object is currently lent out.
        self._outstanding: dict[int, int] = {}
        self._lock = threading.Lock()
        self._created = 0
        self._reused = 0
        self._released = 0
        self._dropped = 0

    @property
    def buffer_size(self) -> int:
        """Capacity of a newly created buffer."""
        return self._buffer_size

    @property
    def max_pool(self) -> int:
        """Most buffers the pool keeps."""
        return self._max_pool

    def acquire(self) -> bytearray:
        """Return an empty buffer, reused from the pool when one is free.

        Returns:
            A ``bytearray`` of length 0 that the caller owns until ``release``.
        """
        with self._lock:
            if self._free:
                buf = self._free.pop()
                self._reused += 1
            else:
                buf = bytearray()
                self._created += 1
            key = id(buf)
            self._outstanding[key] = self._outstanding.get(key, 0) + 1
        return buf

    def release(self, buf: bytearray) -> None:
        """Give ``buf`` back to the pool.

        Args:
            buf: a buffer returned by this pool's ``acquire`` and not released since.

        Raises:
            TypeError: ``buf`` is not a ``bytearray``.
            ValueError: ``buf`` did not come from this pool, or was already released.
        """
        if type(buf) is not bytearray:
            raise TypeError(f"release() takes a bytearray, not {type(buf).__name__}")
        with self._lock:
            key = id(buf)
            count = self._outstanding.get(key, 0)
            if count == 0:
                raise ValueError("buffer was not acquired from this pool, or was already released")
            if count == 1:
                del self._outstanding[key]
            else:
                self._outstanding[key] = count - 1
            self._released += 1
            try:
                # Any resize fails while a view is exported (even of an empty
                # buffer, where ``del buf[:]`` alone would be a no-op).
                buf.append(0)
            except BufferError:
                # A live view still exports the buffer: never hand it out again.
                self._dropped += 1
                return
            del buf[:]
            if len(self._free) < self._max_pool:
                self._free.append(buf)
            else:
                self._dropped += 1

    def lease(self) -> AbstractContextManager[bytearray]:
        """Context manager: ``acquire`` on entry, ``release`` on exit.

        Returns:
            A context manager whose ``with`` target is the acquired buffer;
            the buffer goes back to the pool when the block ends, even on error.

        Example:
            >>> pool = BufferPool()
            >>> with pool.lease() as buf:
            ...     len(buf)
            0
        """
        return _Lease(self)

    def stats(self) -> BufferPoolStats:
        """Return the pool's counters (one consistent snapshot).

        Returns:
            Buffers created, reused, released and dropped so far, how many sit
            in the pool and how many are handed out, and the pool's settings.
        """
        with self._lock:
            return BufferPoolStats(
                created=self._created,
                reused=self._reused,
                released=self._released,
                dropped=self._dropped,
                in_pool=len(self._free),
                outstanding=sum(self._outstanding.values()),
                buffer_size=self._buffer_size,
                max_pool=self._max_pool,
            )

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    def __repr__(self) -> str:
        s = self.stats()
        return f"BufferPool(buffer_size={s.buffer_size}, max_pool={s.max_pool}, in_pool={s.in_pool}, outstanding={s.outstanding})"


class _Lease:
    """What ``BufferPool.lease()`` returns: acquires on entry, releases on exit."""

    __slots__ = ("_buf", "_pool")

    def __init__(self, pool: BufferPool) -> None:
        self._pool = pool
        self._buf: bytearray | None = None

    def __enter__(self) -> bytearray:
        if self._buf is not None:
            raise RuntimeError("this lease is already in use")
        self._buf = self._pool.acquire()
        return self._buf

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        buf, self._buf = self._buf, None
        if buf is not None:
            self._pool.release(buf)


# --------------------------------------------------------------------- framing


def pack_frame(payload: Any, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> bytes:
    """Return one frame: the 4-byte big-endian length of ``payload``, then ``payload``.

    Args:
        payload: the frame body (any C-contiguous bytes-like object).
        max_frame_size: largest body allowed.

    Returns:
        A new ``bytes`` object of ``4 + len(payload)`` bytes.

    Raises:
        FrameTooLarge: the payload is longer than ``max_frame_size`` (offset 0).

    Example:
        >>> pack_frame(b"hi")
        b'\\x00\\x00\\x00\\x02hi'
    """
    _check_max_frame_size(max_frame_size)
    view = _byte_view(payload)
    size = len(view)
    if size > max_frame_size:
        raise FrameTooLarge.encoded(size, max_frame_size, 0)
    return _PREFIX.pack(size) + view.tobytes()


def encode_frames(
    encoder: _Encoder,
    messages: Iterable[Any],
    buffer: bytearray | None = None,
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
) -> bytearray:
    """Encode ``messages`` as consecutive frames appended to ``buffer``.

    For each message: reserve the 4 prefix bytes, ``encoder.encode_into`` the
    body right after them, then write the body's length into the prefix. With
    the compiled twin a pooled buffer keeps its capacity: in steady state (same
    buffer, messages that fit) this allocates nothing.

    Args:
        encoder: a ``msgspec.msgpack.Encoder`` (anything with ``encode_into``).
        messages: the objects to encode, one frame each.
        buffer: bytearray to append to; a new one when ``None``.
        max_frame_size: largest body allowed.

    Returns:
        The buffer (``buffer`` itself when given).

    Raises:
        FrameTooLarge: a message encodes to more than ``max_frame_size`` bytes;
            the buffer is left exactly as it was before that message (earlier
            frames stay). The offset is where that frame would have started.

    Example:
        >>> import msgspec
        >>> bytes(encode_frames(msgspec.msgpack.Encoder(), [1, "a"]))
        b'\\x00\\x00\\x00\\x01\\x01\\x00\\x00\\x00\\x02\\xa1a'
    """
    _check_max_frame_size(max_frame_size)
    buf = bytearray() if buffer is None else buffer
    if type(buf) is not bytearray:
        raise TypeError(f"buffer must be a bytearray, not {type(buf).__name__}")
    encode_into = encoder.encode_into
    for message in messages:
        start = len(buf)
        buf += _ZERO_PREFIX
        try:
            encode_into(message, buf, start + PREFIX_SIZE)
        except BaseException:
            del buf[start:]
            raise
        size = len(buf) - start - PREFIX_SIZE
        if size > max_frame_size:
            del buf[start:]
            raise FrameTooLarge.encoded(size, max_frame_size, start)
        _PREFIX.pack_into(buf, start, size)
    return buf


def encode_into(encoder: _Encoder, message: Any, buffer: bytearray, offset: int = 0) -> int:
    """Encode ``message`` into ``buffer`` at ``offset``; return the bytes written.

    ``buffer`` ends right after the message. Unlike ``Encoder.encode_into`` this
    returns the size, accepts ``offset=-1`` for "append", and zero-fills a gap
    when ``offset`` is past the end instead of leaving uninitialised bytes. With
    the compiled twin, a msgspec encoder and a pooled buffer that fits, the
    buffer keeps its capacity and the steady state allocates nothing.

    Args:
        encoder: a ``msgspec.msgpack.Encoder`` (anything with ``encode_into``).
        message: the object to encode.
        buffer: the bytearray to write into.
        offset: where the message starts; ``-1`` means ``len(buffer)``.

    Returns:
        The number of bytes written: ``len(buffer) - offset`` afterwards.

    Raises:
        TypeError: ``buffer`` is not a bytearray, or the encoder cannot encode
            ``message`` (the buffer then ends at ``offset``).
        ValueError: ``offset`` is below -1.
        BufferError: ``buffer`` has a live exported view.

    Example:
        >>> import msgspec
        >>> buf = bytearray(b"head")
        >>> encode_into(msgspec.msgpack.Encoder(), [1, 2], buf, 4), bytes(buf)
        (3, b'head\\x92\\x01\\x02')
    """
    if type(buffer) is not bytearray:
        raise TypeError(f"buffer must be a bytearray, not {type(buffer).__name__}")
    length = len(buffer)
    start = length if offset == -1 else offset
    if start < 0:
        raise ValueError(f"offset {offset} is below -1")
    if start > length:
        buffer.extend(bytes(start - length))
    try:
        encoder.encode_into(message, buffer, start)
    except BaseException:
        del buffer[start:]
        raise
    return len(buffer) - start


def _frames(view: memoryview, max_frame_size: int) -> Iterator[tuple[int, int, int]]:
    """Yield ``(frame start, body start, body size)`` for each frame of ``view``.

    Lazy, so a caller that decodes as it goes meets the problems in stream
    order, exactly like the compiled single loop.
    """
    _check_max_frame_size(max_frame_size)
    end = len(view)
    pos = 0
    unpack_from = _PREFIX.unpack_from
    while pos < end:
        if end - pos < PREFIX_SIZE:
            raise TruncatedFrame.in_prefix(end - pos, pos)
        (size,) = unpack_from(view, pos)
        if size > max_frame_size:
            raise FrameTooLarge.declared(size, max_frame_size, pos)
        body = pos + PREFIX_SIZE
        if size > end - body:
            raise TruncatedFrame.in_body(size, end - body, pos)
        yield pos, body, size
        pos = body + size


def split_frames(data: Any, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> list[memoryview]:
    """Split a batch of frames into zero-copy views of their bodies.

    Args:
        data: concatenated frames (bytes, bytearray, memoryview, any C-contiguous buffer).
        max_frame_size: largest body accepted.

    Returns:
        One ``memoryview`` per frame, into ``data`` (writable when ``data`` is).

    Raises:
        FrameTooLarge: a prefix declares more than ``max_frame_size`` bytes.
        TruncatedFrame: ``data`` ends inside a prefix or a body.

    Example:
        >>> [bytes(v) for v in split_frames(b"\\x00\\x00\\x00\\x01a\\x00\\x00\\x00\\x00")]
        [b'a', b'']
    """
    view = _byte_view(data)
    return [view[body : body + size] for _, body, size in _frames(view, max_frame_size)]


def decode_frames(
    data: Any,
    decoder: _Decoder,
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    max_depth: int | None = DEFAULT_MAX_DEPTH,
    envelopes: bool = False,
) -> list[Any]:
    """Split a batch of frames and decode each body with ``decoder.decode``.

    Frames are processed in order, so the first problem met is the one raised.
    Before the decoder sees a body, a non-recursive scan bounds its nesting
    (see :func:`check_depth`) and, with ``envelopes``, the header rules of
    :func:`peek_header` are applied (see :func:`check_envelope`).

    Args:
        data: concatenated frames (any C-contiguous buffer).
        decoder: a ``msgspec.msgpack.Decoder`` (anything with ``decode``).
        max_frame_size: largest body accepted.
        max_depth: most arrays and maps a body may nest; ``None`` turns the
            scan off.
        envelopes: every body is an envelope: refuse a header
            :func:`peek_header` refuses.

    Returns:
        The decoded objects, one per frame.

    Raises:
        FrameTooLarge: a prefix declares more than ``max_frame_size`` bytes.
        TruncatedFrame: ``data`` ends inside a prefix or a body (or, with
            ``envelopes``, a body ends inside its header).
        MalformedHeader: with ``envelopes``, a body's header is malformed
            (offset: the offending byte in ``data``).
        NestingTooDeep: a body nests deeper than ``max_depth`` (offset: where
            the first container too deep starts, in ``data``).
        PayloadValidationError: a body is valid MessagePack of the wrong type.
        MalformedPayload: a body is not valid MessagePack (or not valid UTF-8).
            Offsets are the frame's start; the decoder's exception is chained
            as ``__cause__``.
        ValueError: ``max_depth`` is below 1.

    Example:
        >>> import msgspec
        >>> decode_frames(b"\\x00\\x00\\x00\\x01\\x07", msgspec.msgpack.Decoder(int))
        [7]
    """
    limit = _depth_limit(max_depth)
    view = _byte_view(data)
    out: list[Any] = []
    decode = decoder.decode
    for pos, body, size in _frames(view, max_frame_size):
        frame = view[body : body + size]
        if envelopes:
            try:
                _peek(frame, True)
            except KlawWireError as exc:
                raise type(exc)(exc.reason, body + (exc.offset or 0)) from None
        if limit >= 0:
            deep = _too_deep_at(frame, size, limit)
            if deep >= 0:
                raise NestingTooDeep.past(limit, body + deep)
        try:
            out.append(decode(frame))
        except (ValueError, RecursionError) as exc:  # msgspec errors are ValueErrors
            raise MalformedPayload.from_frame_decode(exc, pos) from exc
    return out


class FrameDecoder:
    """Incremental frame splitter for a byte stream cut at arbitrary points.

    ``feed`` returns every frame completed by the new chunk, as ``bytes``.
    Whole frames inside a chunk are sliced from it directly; only a partial
    frame at a chunk's end is buffered, and each byte is copied into that
    buffer at most once, so feeding is linear in the stream length. A prefix
    declaring more than ``max_frame_size`` raises ``FrameTooLarge`` as soon as
    its 4 bytes are seen, before any of the body is buffered.

    After any error the decoder stays failed: every later ``feed``/``close``
    raises the same exception class with the same message, until ``reset``.
    Error offsets are stream offsets (bytes fed since creation or reset) of the
    offending frame's first prefix byte. If a chunk completes some frames and
    then hits an error, the error is raised and those frames are not returned.

    Args:
        max_frame_size: largest body accepted.

    Example:
        >>> dec = FrameDecoder()
        >>> dec.feed(b"\\x00\\x00\\x00\\x02h")
        []
        >>> dec.pending
        5
        >>> dec.feed(b"i\\x00")
        [b'hi']
        >>> dec.pending
        1
    """

    __slots__ = ("_buf", "_error", "_fed", "_max_frame_size", "_need")

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self._max_frame_size = _check_max_frame_size(max_frame_size)
        self._buf = bytearray()
        self._need: int = (
            0  # bytes the buffered frame needs in total; 0 while its prefix is incomplete
        )
        self._fed: int = 0  # stream offset of the next byte to be fed
        self._error: tuple[type[KlawWireError], str, int | None] | None = None

    @property
    def max_frame_size(self) -> int:
        """Largest frame body accepted."""
        return self._max_frame_size

    @property
    def pending(self) -> int:
        """Bytes buffered for a frame that is not complete yet."""
        return len(self._buf)

    def _fail(self, exc: KlawWireError) -> KlawWireError:
        self._error = (type(exc), exc.reason, exc.offset)
        return exc

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            cls, reason, offset = self._error
            raise cls(reason, offset)

    def feed(self, chunk: Any) -> list[bytes]:
        """Add ``chunk`` to the stream and return the frames it completes.

        Args:
            chunk: the next bytes of the stream (any C-contiguous buffer, may be empty).

        Returns:
            The completed frame bodies, in order.

        Raises:
            FrameTooLarge: a prefix declares more than ``max_frame_size`` bytes.
        """
        self._raise_if_failed()
        view = _byte_view(chunk)
        end = len(view)
        base = self._fed
        frames: list[bytes] = []
        pos = 0
        buf = self._buf
        max_frame_size = self._max_frame_size
        if buf:
            start = base - len(buf)
            if self._need == 0:
                take = min(PREFIX_SIZE - len(buf), end)
                buf += view[:take]
                pos = take
                if len(buf) < PREFIX_SIZE:
                    self._fed = base + end
                    return frames
                (size,) = _PREFIX.unpack_from(buf, 0)
                if size > max_frame_size:
                    self._fed = base + pos
                    raise self._fail(FrameTooLarge.declared(size, max_frame_size, start))
                self._need = PREFIX_SIZE + size
            take = min(self._need - len(buf), end - pos)
            buf += view[pos : pos + take]
            pos += take
            if len(buf) < self._need:
                self._fed = base + end
                return frames
            del buf[:PREFIX_SIZE]
            frames.append(bytes(buf))
            buf.clear()
            self._need = 0
        unpack_from = _PREFIX.unpack_from
        while end - pos >= PREFIX_SIZE:
            (size,) = unpack_from(view, pos)
            if size > max_frame_size:
                self._fed = base + pos + PREFIX_SIZE
                raise self._fail(FrameTooLarge.declared(size, max_frame_size, base + pos))
            stop = pos + PREFIX_SIZE + size
            if stop > end:
                self._need = PREFIX_SIZE + size
                break
            frames.append(view[pos + PREFIX_SIZE : stop].tobytes())
            pos = stop
        if pos < end:
            buf += view[pos:]
        self._fed = base + end
        return frames

    def close(self) -> None:
        """Declare the end of the stream.

        Raises:
            TruncatedFrame: a partial frame is still buffered (the stream was
                cut inside a prefix or a body).
        """
        self._raise_if_failed()
        buffered = len(self._buf)
        if buffered:
            start = self._fed - buffered
            if buffered < PREFIX_SIZE:
                raise self._fail(TruncatedFrame.in_prefix(buffered, start))
            raise self._fail(
                TruncatedFrame.in_body(self._need - PREFIX_SIZE, buffered - PREFIX_SIZE, start)
            )

    def reset(self) -> None:
        """Forget buffered bytes, any error, and the stream offset."""
        self._buf = bytearray()
        self._need = 0
        self._fed = 0
        self._error = None

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    def __repr__(self) -> str:
        return f"FrameDecoder(max_frame_size={self._max_frame_size}, pending={len(self._buf)})"


# ------------------------------------------------------------------------ peek


def _read_int(buf: Any, pos: int, end: int, field: str) -> tuple[int, int]:
    if pos >= end:
        raise TruncatedFrame.in_header(pos)
    code: int = buf[pos]
    if code <= 0x7F:
        return code, pos + 1
    if code >= 0xE0:
        return code - 0x100, pos + 1
    spec = _INT_WIDTHS.get(code)
    if spec is None:
        raise MalformedHeader.not_integer(field, code, pos)
    width, signed = spec
    if width > end - pos - 1:
        raise TruncatedFrame.in_header(pos)
    value = int.from_bytes(buf[pos + 1 : pos + 1 + width], "big", signed=signed)
    return value, pos + 1 + width


def _read_array_len(buf: Any, pos: int, end: int, what: str) -> tuple[int, int]:
    if pos >= end:
        raise TruncatedFrame.in_header(pos)
    code: int = buf[pos]
    if 0x90 <= code <= 0x9F:
        return code & 0x0F, pos + 1
    width = _ARRAY_WIDTHS.get(code)
    if width is None:
        raise MalformedHeader.not_array(what, code, pos)
    if width > end - pos - 1:
        raise TruncatedFrame.in_header(pos)
    return int.from_bytes(buf[pos + 1 : pos + 1 + width], "big"), pos + 1 + width


def _read_str(buf: Any, pos: int, end: int) -> tuple[str, int]:
    if pos >= end:
        raise TruncatedFrame.in_header(pos)
    code: int = buf[pos]
    if 0xA0 <= code <= 0xBF:
        size = code & 0x1F
        body = pos + 1
    else:
        width = _STR_WIDTHS.get(code)
        if width is None:
            raise MalformedHeader.not_string(code, pos)
        if width > end - pos - 1:
            raise TruncatedFrame.in_header(pos)
        size = int.from_bytes(buf[pos + 1 : pos + 1 + width], "big")
        body = pos + 1 + width
    if size > end - body:
        raise TruncatedFrame.in_header(pos)
    try:
        text = bytes(buf[body : body + size]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedHeader.not_utf8(pos) from exc
    return text, body + size


def _peek(data: Any, version_only: bool = False) -> Any:
    buf: Any = data if type(data) is bytes or type(data) is bytearray else _byte_view(data)
    end = len(buf)
    count, pos = _read_array_len(buf, 0, end, "envelope")
    if count < 2:
        raise MalformedHeader.envelope_too_short(count)
    tag, pos = _read_int(buf, pos, end, "tag")
    header_at = pos
    count, pos = _read_array_len(buf, pos, end, "header")
    if count != HEADER_FIELDS:
        raise MalformedHeader.header_size(count, header_at)
    version, pos = _read_int(buf, pos, end, "version")
    kind_at = pos
    kind, pos = _read_int(buf, pos, end, "kind")
    if kind != tag:
        raise MalformedHeader.kind_mismatch(kind, tag, kind_at)
    channel_id, pos = _read_str(buf, pos, end)
    seq, pos = _read_int(buf, pos, end, "seq")
    ts, pos = _read_int(buf, pos, end, "ts")
    if version_only:
        return version
    return HeaderPeek(tag, version, kind, channel_id, seq, ts)


def peek_header(data: Any) -> HeaderPeek:
    """Read an envelope's tag and header without decoding the rest.

    Reads only the first bytes of ``data`` (a frame body, without its length
    prefix): the cost does not depend on the payload's size.

    Args:
        data: an encoded envelope, or any prefix of one that holds the header.

    Returns:
        The tag and the five header fields.

    Raises:
        TruncatedFrame: ``data`` ends before the header is complete.
        MalformedHeader: ``data`` does not start ``[tag, [version, kind,
            channel_id, seq, ts], ...]`` with integer fields, a UTF-8 string
            ``channel_id`` and ``kind == tag``.

    Example:
        >>> import msgspec
        >>> peek_header(msgspec.msgpack.encode([1, [2, 1, "jobs", 7, 99], b"..."]))
        HeaderPeek(tag=1, version=2, kind=1, channel_id='jobs', seq=7, ts=99)
    """
    peek: HeaderPeek = _peek(data)
    return peek


def peek_version(data: Any) -> int:
    """Return the schema version of an envelope; same rules as ``peek_header``.

    The whole header is still checked, so a version is only returned for an
    envelope whose header is well formed.

    Example:
        >>> import msgspec
        >>> peek_version(msgspec.msgpack.encode([2, [3, 2, "c", 0, 0], "stop", None]))
        3
    """
    version: int = _peek(data, True)
    return version


# ------------------------------------------------------------------ nesting


# The bytes that can open an array or a map. A value cannot nest deeper than
# it holds such bytes, so counting them (at C speed) spares most scans.
_CONTAINER_BYTES: Final = bytes(range(0x80, 0xA0)) + bytes(range(0xDC, 0xE0))
_NOT_CONTAINER_BYTES: Final = bytes(c for c in range(256) if c not in _CONTAINER_BYTES)
_COUNT_CHUNK: Final = 64 * 1024


def _depth_limit(max_depth: int | None) -> int:
    """``max_depth`` checked, as an int; -1 for ``None`` (no scan)."""
    if max_depth is None:
        return -1
    limit = operator.index(max_depth)
    if limit < 1:
        raise max_depth_error(max_depth)
    return limit


def _may_nest_deeper(buf: Any, end: int, max_depth: int) -> bool:
    """Whether ``buf`` holds more than ``max_depth`` bytes that could open a container.

    Counted 64 KiB at a time (at C speed, in bounded memory), stopping as soon
    as the count passes ``max_depth``.
    """
    count = 0
    for start in range(0, end, _COUNT_CHUNK):
        chunk = buf[start : start + _COUNT_CHUNK]
        if type(chunk) is memoryview:
            chunk = chunk.tobytes()
        count += len(chunk.translate(None, _NOT_CONTAINER_BYTES))
        if count > max_depth:
            return True
    return False


def _too_deep_at(buf: Any, end: int, max_depth: int) -> int:
    """Where the first array or map nested deeper than ``max_depth`` starts, or -1.

    Walks one MessagePack value without recursion: ``stack`` holds, for each
    open container, how many items its parent still had. Input that is
    truncated or malformed ends the walk with -1: the decoder then reports it,
    and it can only have recursed as deep as the walk got. Every read checks
    ``needed <= end - pos`` first.
    """
    if end <= max_depth or not _may_nest_deeper(buf, end, max_depth):
        return -1  # each container takes at least one byte
    raw: Any = buf
    skip: bytes = MSGPACK_SKIP
    widths: bytes = MSGPACK_LENGTH_WIDTH
    stack: list[int] = []
    pos = 0
    left = 1  # items still to read at the current level: one top-level value
    while True:
        if left == 0:
            if not stack:
                return -1
            left = stack.pop()
            continue
        if pos >= end:
            return -1
        left -= 1
        code: int = raw[pos]
        size: int = skip[code]
        if size:
            if size > end - pos:
                return -1
            pos += size
            continue
        if code <= 0x9F:  # fixmap 0x80-0x8f, fixarray 0x90-0x9f
            count = (code & 0x0F) * (2 if code < 0x90 else 1)
            head = 1
        else:
            width: int = widths[code]
            if width == 0 or width >= end - pos:
                return -1  # 0xc1, or the input ends inside the length field
            count = int.from_bytes(raw[pos + 1 : pos + 1 + width], "big")
            if code < 0xDC:  # str, bin, ext: skip the body
                head = 1 + width + (1 if 0xC7 <= code <= 0xC9 else 0)
                if head > end - pos or count > end - pos - head:
                    return -1
                pos += head + count
                continue
            head = 1 + width
            if code >= 0xDE:  # map16/32: count pairs
                count *= 2
        if count > end - pos - head:
            return -1  # more items than bytes left: the decoder reports it
        if len(stack) == max_depth:
            return pos
        stack.append(left)
        left = count
        pos += head


def check_depth(data: Any, max_depth: int | None = DEFAULT_MAX_DEPTH) -> None:
    """Refuse one MessagePack value that nests arrays and maps deeper than ``max_depth``.

    msgspec decodes nesting by C recursion, and a value a few hundred levels
    deep overflows a small thread stack before msgspec's own guard fires
    (msgspec#1033). This scan walks the value without recursion, in time
    linear in its item count, and reads no string or binary body. Truncated or
    malformed input is left for the decoder to report.

    Args:
        data: one MessagePack value (any C-contiguous buffer).
        max_depth: most arrays and maps the value may nest (the outermost
            counts 1); ``None`` accepts any depth.

    Raises:
        NestingTooDeep: the value nests deeper; the offset is where the first
            container too deep starts.
        ValueError: ``max_depth`` is below 1.

    Example:
        >>> check_depth(b"\\x91\\x91\\xc0", max_depth=2)
        >>> check_depth(b"\\x91\\x91\\x91\\xc0", max_depth=2)
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.NestingTooDeep: arrays and maps nest more than 2 deep (at byte 2)
    """
    limit = _depth_limit(max_depth)
    if limit >= 0:
        view = data if type(data) is bytes or type(data) is bytearray else _byte_view(data)
        deep = _too_deep_at(view, len(view), limit)
        if deep >= 0:
            raise NestingTooDeep.past(limit, deep)


def check_envelope(data: Any, max_depth: int | None = DEFAULT_MAX_DEPTH) -> int:
    """Apply every decode path's rules to one envelope before it is decoded; return its version.

    The header rules are :func:`peek_header`'s (an array of at least 2, an
    integer tag, a header of exactly 5 fields, ``kind == tag``, a UTF-8
    ``channel_id``), which msgspec alone does not apply (it fills a 4-field
    header with defaults and ignores a sixth); then the nesting bound of
    :func:`check_depth`.

    Args:
        data: one encoded envelope (a frame body).
        max_depth: as for :func:`check_depth`.

    Returns:
        The header's schema version.

    Raises:
        TruncatedFrame: ``data`` ends inside the header.
        MalformedHeader: the header breaks a rule.
        NestingTooDeep: ``data`` nests deeper than ``max_depth``.
        ValueError: ``max_depth`` is below 1.

    Example:
        >>> import msgspec
        >>> check_envelope(msgspec.msgpack.encode([4, [1, 4, "c", 0, 0], 7, "ok"]))
        1
        >>> check_envelope(msgspec.msgpack.encode([4, [1, 4, "c", 0], 7, "ok"]))
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.MalformedHeader: header array has 4 elements, expected 5 (at byte 2)
    """
    limit = _depth_limit(max_depth)
    view = data if type(data) is bytes or type(data) is bytearray else _byte_view(data)
    version: int = _peek(view, True)
    if limit >= 0:
        deep = _too_deep_at(view, len(view), limit)
        if deep >= 0:
            raise NestingTooDeep.past(limit, deep)
    return version
