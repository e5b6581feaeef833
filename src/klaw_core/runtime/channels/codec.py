"""One place that turns envelopes into bytes and back, fast and with clear errors.

:class:`CodecPool` holds the encoder and the envelope decoder that every channel
shares. msgspec's ``Encoder`` and ``Decoder`` are thread-safe (msgspec >= 0.15),
so one instance of each serves all threads; building a decoder compiles its type,
so decoders for payload types are built once and cached. Nothing here is
per-thread: the only per-call state is the caller's buffer.

Batches use the wire core (``klaw_core._wirecore``, compiled or pure): a batch is
frames concatenated, each frame a 4-byte big-endian length and one envelope.

Decoding never leaks msgspec's exceptions. Bytes that are not MessagePack (or
hold invalid UTF-8) raise :class:`~klaw_core.runtime.errors.MalformedPayload`;
valid MessagePack of the wrong shape raises
:class:`~klaw_core.runtime.errors.PayloadValidationError`. The reason says
which in klaw's own words, then keeps msgspec's message, which names the
failing path (e.g. ``at `$[1][3]```).

Every decode applies the same rules before msgspec sees the bytes: an envelope
(:meth:`CodecPool.decode`, :meth:`CodecPool.decode_frames` of envelopes) must
have the header ``peek_header`` accepts (:func:`~klaw_core.runtime.channels.framing.check_envelope`),
and no value may nest arrays and maps deeper than ``max_depth``
(:data:`~klaw_core.runtime.channels.framing.DEFAULT_MAX_DEPTH`, 128), which would
overflow a small thread stack inside msgspec:
:class:`~klaw_core.runtime.errors.NestingTooDeep`.

Example:
    >>> from klaw_core.runtime.channels.wire import Heartbeat
    >>> pool = get_codec_pool()
    >>> pool.decode(pool.encode(Heartbeat.new("w1", ts=0))).sender_id
    'w1'
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Final, Generic, TypeAlias, TypeVar, overload

import msgspec

from klaw_core import _wirecore
from klaw_core._wirecore import DEFAULT_MAX_DEPTH, DEFAULT_MAX_FRAME_SIZE, BufferPool
from klaw_core._wiretypes import max_depth_error
from klaw_core.runtime.channels.wire import WireEnvelope
from klaw_core.runtime.errors import KlawWireError, MalformedPayload

__all__ = [
    "Buffer",
    "BufferPool",
    "CodecPool",
    "decode",
    "decode_with",
    "encode",
    "get_buffer_pool",
    "get_codec_pool",
    "wire_error_from",
]

T = TypeVar("T")
E = TypeVar("E")

#: Anything the decoders accept.
Buffer: TypeAlias = bytes | bytearray | memoryview

#: How many payload decoders one pool caches before it evicts the oldest.
PAYLOAD_DECODER_CACHE_SIZE: Final = 256


def wire_error_from(exc: Exception) -> KlawWireError:
    """Translate an exception raised by a msgspec decoder into the wire family.

    The reason starts with klaw's own words for what went wrong (``payload is
    not valid MessagePack``, ``payload does not match the expected type``,
    ``payload is nested too deeply to decode``); msgspec's message follows, for
    the detail it names (e.g. the failing path ``at `$[1][3]```). Which class
    and wording msgspec uses for a given fault varies between its releases.

    Args:
        exc: what ``Decoder.decode`` raised.

    Returns:
        :class:`PayloadValidationError` for ``msgspec.ValidationError``,
        :class:`MalformedPayload` for any other decode failure (malformed
        MessagePack, invalid UTF-8, nesting too deep).

    Example:
        >>> wire_error_from(msgspec.DecodeError("Input data was truncated"))
        MalformedPayload('payload is not valid MessagePack: Input data was truncated')
    """
    if isinstance(exc, KlawWireError):
        return exc
    return MalformedPayload.from_decode(exc)


# What a msgspec decode can raise on bad input. ValueError covers
# msgspec.DecodeError, msgspec.ValidationError and UnicodeDecodeError.
_DECODE_ERRORS = (ValueError, RecursionError)


def decode_with(
    decoder: msgspec.msgpack.Decoder[T],
    data: Buffer | msgspec.Raw,
    max_depth: int | None = DEFAULT_MAX_DEPTH,
) -> T:
    """Decode ``data`` with ``decoder``, raising wire errors instead of msgspec's.

    Args:
        decoder: any msgspec MessagePack decoder.
        data: one complete MessagePack value.
        max_depth: most arrays and maps ``data`` may nest; ``None``: no bound.

    Returns:
        The decoded object.

    Raises:
        MalformedPayload: ``data`` is not valid MessagePack.
        NestingTooDeep: ``data`` nests deeper than ``max_depth``.
        PayloadValidationError: ``data`` does not match the decoder's type.

    Example:
        >>> decode_with(msgspec.msgpack.Decoder(int), b"\\x07")
        7
        >>> decode_with(msgspec.msgpack.Decoder(int), b"\\xa1x")
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.PayloadValidationError: payload does not match the expected type: ...
    """
    _wirecore.check_depth(data, max_depth)
    try:
        return decoder.decode(data)
    except _DECODE_ERRORS as exc:
        raise wire_error_from(exc) from exc


class CodecPool(Generic[E]):
    """The process's encoder, envelope decoder and cached payload decoders.

    ``CodecPool()`` decodes :data:`WireEnvelope`; ``CodecPool(MyEnvelope)``
    decodes another envelope type (e.g. a newer schema version).

    Args:
        envelope_type: the type :meth:`decode` produces; :data:`WireEnvelope`
            (schema version 1) when ``None``.
        max_frame_size: largest frame :meth:`decode_frames` accepts.
        max_depth: most arrays and maps a decoded value may nest (the envelope
            counts 1); ``None`` turns the bound off. Checked before msgspec sees
            the bytes, so a nesting bomb cannot overflow a small thread stack.

    Raises:
        ValueError: ``max_depth`` is below 1.

    Thread-safe: every method may be called from any thread at once.

    Example:
        >>> from klaw_core.runtime.channels.wire import DataMessage
        >>> pool = CodecPool()
        >>> data = pool.encode(DataMessage.new([1, 2], channel_id="c", ts=0))
        >>> msg = pool.decode(data)
        >>> pool.decode_payload(msg.payload, list[int])
        [1, 2]
    """

    __slots__ = (
        "_cache_lock",
        "_decoder",
        "_encoder",
        "_envelope_type",
        "_max_depth",
        "_max_frame_size",
        "_payload_decoders",
    )

    @overload
    def __init__(
        self: CodecPool[WireEnvelope],
        envelope_type: None = None,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_depth: int | None = DEFAULT_MAX_DEPTH,
    ) -> None: ...
    @overload
    def __init__(
        self,
        envelope_type: type[E],
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_depth: int | None = DEFAULT_MAX_DEPTH,
    ) -> None: ...
    @overload
    def __init__(
        self: CodecPool[Any],
        envelope_type: Any,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_depth: int | None = DEFAULT_MAX_DEPTH,
    ) -> None: ...
    def __init__(
        self,
        envelope_type: Any = None,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_depth: int | None = DEFAULT_MAX_DEPTH,
    ) -> None:
        if max_depth is not None and max_depth < 1:
            raise max_depth_error(max_depth)
        if envelope_type is None:
            envelope_type = WireEnvelope
        self._envelope_type: Any = envelope_type
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder: msgspec.msgpack.Decoder[E] = msgspec.msgpack.Decoder(envelope_type)
        self._max_frame_size = max_frame_size
        self._max_depth = max_depth
        self._payload_decoders: dict[Any, msgspec.msgpack.Decoder[Any]] = {}
        self._cache_lock = threading.Lock()

    @property
    def encoder(self) -> msgspec.msgpack.Encoder:
        """The shared MessagePack encoder (thread-safe)."""
        return self._encoder

    @property
    def envelope_decoder(self) -> msgspec.msgpack.Decoder[E]:
        """The shared decoder for :attr:`envelope_type` (thread-safe)."""
        return self._decoder

    @property
    def envelope_type(self) -> Any:
        """The type :meth:`decode` produces."""
        return self._envelope_type

    @property
    def max_frame_size(self) -> int:
        """Largest frame :meth:`decode_frames` accepts, in bytes."""
        return self._max_frame_size

    @property
    def max_depth(self) -> int | None:
        """Most arrays and maps a decoded value may nest; ``None``: no bound."""
        return self._max_depth

    def encode(self, msg: object) -> bytes:
        """Encode one envelope (or any msgspec-encodable value) to MessagePack.

        Args:
            msg: the message.

        Returns:
            The MessagePack bytes.

        Raises:
            TypeError: ``msg`` holds something msgspec cannot encode.
        """
        return self._encoder.encode(msg)

    def encode_into(self, msg: object, buf: bytearray, offset: int = 0) -> int:
        """Encode ``msg`` into ``buf`` starting at ``offset``; return the bytes written.

        As with msgspec, ``buf`` ends right after the message, and ``offset=-1``
        appends. Unlike msgspec, an offset past the end zero-fills the gap rather
        than leaving uninitialised bytes behind, and with the compiled core a
        pooled buffer keeps its capacity: ``acquire -> encode_into -> release``
        allocates nothing in steady state.

        Args:
            msg: the message.
            buf: the buffer to write into.
            offset: where to start; ``-1`` means ``len(buf)``.

        Returns:
            The number of bytes written (``len(buf) - offset`` afterwards).

        Raises:
            ValueError: ``offset`` is below -1.
            TypeError: ``msg`` holds something msgspec cannot encode.

        Example:
            >>> buf = bytearray(b"head")
            >>> get_codec_pool().encode_into([1, 2], buf, offset=4), bytes(buf)
            (3, b'head\\x92\\x01\\x02')
        """
        return _wirecore.encode_into(self._encoder, msg, buf, offset)

    def decode(self, data: Buffer) -> E:
        """Decode one envelope, dispatching on its tag.

        ``msgspec.Raw`` fields of the result point into ``data`` (no copy): while
        they live, a ``bytearray`` passed here stays exported and cannot be
        resized (``BufferError``). Decode from ``bytes`` when reusing a buffer.

        The header must be one :func:`peek_header` accepts (exactly 5 fields,
        ``kind`` equal to the tag, ...), as on every other decode path; msgspec
        alone would fill a 4-field header with defaults.

        Args:
            data: one envelope (without a length prefix).

        Returns:
            The envelope (a :data:`WireEnvelope` member for the default pool).

        Raises:
            TruncatedFrame: ``data`` ends inside the header.
            MalformedHeader: the header is not ``[version, kind, channel_id,
                seq, ts]`` with ``kind`` equal to the tag.
            NestingTooDeep: ``data`` nests deeper than :attr:`max_depth`.
            MalformedPayload: ``data`` is not valid MessagePack.
            PayloadValidationError: ``data`` is not a known envelope.
        """
        _wirecore.check_envelope(data, self._max_depth)
        try:
            return self._decoder.decode(data)
        except _DECODE_ERRORS as exc:
            raise wire_error_from(exc) from exc

    @overload
    def decoder_for(self, type: type[T]) -> msgspec.msgpack.Decoder[T]: ...
    @overload
    def decoder_for(self, type: Any) -> msgspec.msgpack.Decoder[Any]: ...
    def decoder_for(self, type: Any) -> msgspec.msgpack.Decoder[Any]:
        """Return a decoder for ``type``, built once per pool and cached.

        Args:
            type: any type msgspec can decode (``int``, ``list[Order]``,
                ``DataMessage[Order]``, a union of structs, ...).

        Returns:
            A thread-safe ``msgspec.msgpack.Decoder``. Unhashable type objects get
            a fresh, uncached decoder.

        Raises:
            TypeError: msgspec does not support ``type``.

        Example:
            >>> pool = CodecPool()
            >>> pool.decoder_for(list[int]) is pool.decoder_for(list[int])
            True
        """
        try:
            return self._payload_decoders[type]
        except KeyError:
            pass
        except TypeError:  # unhashable type object: cannot be cached
            return msgspec.msgpack.Decoder(type)
        with self._cache_lock:
            decoder = self._payload_decoders.get(type)
            if decoder is None:
                decoder = msgspec.msgpack.Decoder(type)
                if len(self._payload_decoders) >= PAYLOAD_DECODER_CACHE_SIZE:
                    del self._payload_decoders[next(iter(self._payload_decoders))]
                self._payload_decoders[type] = decoder
            return decoder

    @overload
    def decode_payload(self, raw: Buffer | msgspec.Raw, payload_type: type[T]) -> T: ...
    @overload
    def decode_payload(self, raw: Buffer | msgspec.Raw, payload_type: Any) -> Any: ...
    def decode_payload(self, raw: Buffer | msgspec.Raw, payload_type: Any) -> Any:
        """Decode a deferred payload (a ``msgspec.Raw`` field) to a concrete type.

        Args:
            raw: the ``Raw`` (or bytes) holding one MessagePack value.
            payload_type: the type to decode and validate against.

        Returns:
            The decoded value.

        Raises:
            MalformedPayload: ``raw`` is not valid MessagePack.
            NestingTooDeep: ``raw`` nests deeper than :attr:`max_depth`.
            PayloadValidationError: the value does not match ``payload_type``.
        """
        decoder = self.decoder_for(payload_type)
        _wirecore.check_depth(raw, self._max_depth)
        try:
            return decoder.decode(raw)
        except _DECODE_ERRORS as exc:
            raise wire_error_from(exc) from exc

    def encode_frames(
        self, messages: Iterable[object], buffer: bytearray | None = None
    ) -> bytearray:
        """Encode ``messages`` as one batch of length-prefixed frames.

        Args:
            messages: the envelopes, in order.
            buffer: a buffer to append to (e.g. from :func:`get_buffer_pool`);
                a new one when ``None``.

        Returns:
            The buffer holding the batch.

        Raises:
            TypeError: a message holds something msgspec cannot encode.
            FrameTooLarge: a message encodes to more than this pool's ``max_frame_size``
                (the buffer keeps the frames before it).

        Example:
            >>> from klaw_core.runtime.channels.wire import Ack
            >>> pool = get_codec_pool()
            >>> batch = pool.encode_frames([Ack.new(1, ts=0), Ack.new(2, ts=0)])
            >>> [m.acked_seq for m in pool.decode_frames(batch)]
            [1, 2]
        """
        return _wirecore.encode_frames(
            self._encoder, messages, buffer, max_frame_size=self._max_frame_size
        )

    @overload
    def decode_frames(self, data: Buffer, type: None = None) -> list[E]: ...
    @overload
    def decode_frames(self, data: Buffer, type: type[T]) -> list[T]: ...
    @overload
    def decode_frames(self, data: Buffer, type: Any) -> list[Any]: ...
    def decode_frames(self, data: Buffer, type: Any = None) -> list[Any]:
        """Split a batch into frames and decode each one.

        Args:
            data: frames concatenated (a whole batch, no partial frame).
            type: what each frame holds; the pool's envelope type when ``None``.

        Returns:
            The decoded messages, in order.

        Raises:
            FrameTooLarge: a frame declares more than :attr:`max_frame_size`.
            TruncatedFrame: ``data`` ends inside a frame (or, for envelopes,
                inside a header).
            MalformedHeader: for envelopes (``type`` is ``None``), a frame's
                header is malformed.
            NestingTooDeep: a frame nests deeper than :attr:`max_depth`.
            MalformedPayload: a frame is not valid MessagePack.
            PayloadValidationError: a frame does not match ``type``.
        """
        decoder: msgspec.msgpack.Decoder[Any] = (
            self._decoder if type is None else self.decoder_for(type)
        )
        # The wire core raises the wire errors, with offsets into ``data``.
        return _wirecore.decode_frames(
            data,
            decoder,
            max_frame_size=self._max_frame_size,
            max_depth=self._max_depth,
            envelopes=type is None,
        )


_codec_pool: CodecPool[WireEnvelope] | None = None
_buffer_pool: BufferPool | None = None
_singleton_lock = threading.Lock()


def get_codec_pool() -> CodecPool[WireEnvelope]:
    """Return the process-wide :class:`CodecPool` (created on first use).

    Every channel of the process shares it, so payload decoders built for one
    channel are reused by the others.

    Returns:
        The shared ``CodecPool`` for :data:`WireEnvelope` (schema version 1),
        with the default ``max_frame_size``.

    Example:
        >>> get_codec_pool() is get_codec_pool()
        True
    """
    global _codec_pool
    pool = _codec_pool
    if pool is None:
        with _singleton_lock:
            pool = _codec_pool
            if pool is None:
                pool = _codec_pool = CodecPool()
    return pool


def get_buffer_pool() -> BufferPool:
    """Return the process-wide :class:`BufferPool` (created on first use).

    Returns:
        The shared pool of reusable ``bytearray`` buffers, for
        :meth:`CodecPool.encode_into` and :meth:`CodecPool.encode_frames`.

    Example:
        >>> with get_buffer_pool().lease() as buf:
        ...     get_codec_pool().encode_into(1, buf)
        1
    """
    global _buffer_pool
    pool = _buffer_pool
    if pool is None:
        with _singleton_lock:
            pool = _buffer_pool
            if pool is None:
                pool = _buffer_pool = BufferPool()
    return pool


def encode(msg: object) -> bytes:
    """Encode one envelope with the process-wide pool.

    Args:
        msg: the envelope (or any value msgspec can encode).

    Returns:
        The MessagePack bytes, without a length prefix.

    Raises:
        TypeError: ``msg`` holds something msgspec cannot encode.

    Example:
        >>> from klaw_core.runtime.channels.wire import Heartbeat
        >>> encode(Heartbeat())
        b'\\x93\\x03\\x95\\x01\\x03\\xa0\\x00\\x00\\xa0'
    """
    return get_codec_pool().encode(msg)


def decode(data: Buffer) -> WireEnvelope:
    """Decode one envelope with the process-wide pool.

    Args:
        data: one envelope (without a length prefix).

    Returns:
        The envelope, as the :data:`WireEnvelope` member its tag names.

    Raises:
        MalformedPayload: ``data`` is not valid MessagePack.
        PayloadValidationError: ``data`` is not a known envelope.

    Example:
        >>> decode(b'\\x93\\x03\\x95\\x01\\x03\\xa0\\x00\\x00\\xa2w1').sender_id
        'w1'
    """
    return get_codec_pool().decode(data)
