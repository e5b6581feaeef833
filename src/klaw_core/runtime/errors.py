"""Every error klaw-core raises on purpose, in one module.

Three families, all under :class:`KlawError`:

- **Wire errors** (:class:`KlawWireError`, a ``ValueError``) for bytes that are
  not a valid frame, header or envelope. Both wire-core twins raise exactly these
  classes, and every message carries the byte offset where the problem was seen.
- **Configuration errors** (:class:`ConfigError`, a ``ValueError``).
- **Channel errors** (:class:`ChannelError`), each an exception with a frozen
  ``msgspec.Struct`` twin. The struct is the value form returned inside
  ``Err(...)`` by the non-blocking calls (``try_send``/``try_recv``); the
  exception is what the blocking calls raise. ``to_exception()`` and
  ``to_struct()`` convert between them without loss.

This module imports only ``msgspec`` and the wire's constants
(:mod:`klaw_core._wiretypes`) so that the wire core can depend on it. The
messages both wire-core twins raise are built here, by constructors such as
:meth:`FrameTooLarge.declared`, so the twins cannot word them differently.
"""

from __future__ import annotations

from typing import Any

import msgspec

from klaw_core._wiretypes import HEADER_FIELDS, PREFIX_SIZE

__all__ = [
    "ChannelClosed",
    "ChannelClosedError",
    "ChannelEmpty",
    "ChannelEmptyError",
    "ChannelEnded",
    "ChannelEndedError",
    "ChannelError",
    "ChannelFull",
    "ChannelFullError",
    "ChannelLost",
    "ChannelLostError",
    "ChannelTimeout",
    "ChannelTimeoutError",
    "ConfigError",
    "EndpointClosed",
    "EndpointClosedError",
    "FrameTooLarge",
    "InvalidMessage",
    "InvalidMessageError",
    "KlawError",
    "KlawWireError",
    "MalformedHeader",
    "MalformedPayload",
    "NestingTooDeep",
    "PayloadValidationError",
    "ProducerFailed",
    "ProducerFailedError",
    "ProducerLost",
    "ProducerLostError",
    "ReceiversClosed",
    "ReceiversClosedError",
    "TruncatedFrame",
    "UnknownSchemaVersion",
    "UnwrapError",
    "format_seq_ranges",
]


class KlawError(Exception):
    """Root of every exception that klaw-core raises on purpose.

    Example:
        >>> all(issubclass(e, KlawError) for e in (KlawWireError, ConfigError, ChannelError))
        True
    """


# --------------------------------------------------------------------------- wire


class KlawWireError(KlawError, ValueError):
    """Bytes that are not a valid frame, header or envelope.

    Attributes:
        reason: what is wrong, without the position.
        offset: byte offset into the input where the problem was detected, or
            ``None`` when the input has no meaningful position.

    Example:
        >>> str(TruncatedFrame("frame declares 10 bytes, 3 present", offset=4))
        'frame declares 10 bytes, 3 present (at byte 4)'
    """

    def __init__(self, reason: str, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(reason if offset is None else f"{reason} (at byte {offset})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, self.offset))


class FrameTooLarge(KlawWireError):
    """A length prefix declares more than the allowed maximum frame size.

    Raised after reading only the 4 prefix bytes, before anything is buffered.

    Example:
        >>> from klaw_core.runtime.channels.framing import split_frames
        >>> split_frames(b"\\xff\\xff\\xff\\xff", max_frame_size=1024)
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.FrameTooLarge: frame declares 4294967295 bytes, more than the maximum 1024 (at byte 0)
    """

    @classmethod
    def declared(cls, size: int, maximum: int, offset: int) -> FrameTooLarge:
        """A length prefix at ``offset`` declares ``size`` bytes, above ``maximum``.

        Args:
            size: the body size in bytes.
            maximum: the ``max_frame_size`` in force.
            offset: byte offset of the offending item (a frame's first prefix byte).

        Returns:
            A new :class:`FrameTooLarge` to raise.

        Example:
            >>> FrameTooLarge.declared(2048, 1024, 8).reason
            'frame declares 2048 bytes, more than the maximum 1024'
        """
        return cls(f"frame declares {size} bytes, more than the maximum {maximum}", offset)

    @classmethod
    def encoded(cls, size: int, maximum: int, offset: int) -> FrameTooLarge:
        """A message encoded to ``size`` bytes, above ``maximum``; its frame would start at ``offset``.

        Args:
            size: the body size in bytes.
            maximum: the ``max_frame_size`` in force.
            offset: byte offset of the offending item (a frame's first prefix byte).

        Returns:
            A new :class:`FrameTooLarge` to raise.

        Example:
            >>> FrameTooLarge.encoded(2048, 1024, 0).reason
            'frame of 2048 bytes exceeds the maximum 1024'
        """
        return cls(f"frame of {size} bytes exceeds the maximum {maximum}", offset)


class TruncatedFrame(KlawWireError):
    """The input ends inside a length prefix or inside a frame body.

    Example:
        >>> from klaw_core.runtime.channels.framing import split_frames
        >>> split_frames(b"\\x00\\x00")
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.TruncatedFrame: ...
    """

    @classmethod
    def in_prefix(cls, present: int, offset: int) -> TruncatedFrame:
        """The input ends inside the length prefix starting at ``offset``.

        Args:
            present: bytes of it present in the input.
            offset: byte offset of the offending item (a frame's first prefix byte).

        Returns:
            A new :class:`TruncatedFrame` to raise.

        Example:
            >>> TruncatedFrame.in_prefix(2, 0).reason
            'input ends inside a length prefix: 2 of 4 bytes present'
        """
        return cls(
            f"input ends inside a length prefix: {present} of {PREFIX_SIZE} bytes present", offset
        )

    @classmethod
    def in_body(cls, declared: int, present: int, offset: int) -> TruncatedFrame:
        """The input ends inside the body of the frame starting at ``offset``.

        Args:
            declared: the body size its prefix declares.
            present: bytes of it present in the input.
            offset: byte offset of the offending item (a frame's first prefix byte).

        Returns:
            A new :class:`TruncatedFrame` to raise.

        Example:
            >>> TruncatedFrame.in_body(10, 3, 4).reason
            'frame declares 10 bytes, 3 present'
        """
        return cls(f"frame declares {declared} bytes, {present} present", offset)

    @classmethod
    def in_header(cls, offset: int) -> TruncatedFrame:
        """The input ends inside the envelope header, at the item starting at ``offset``.

        Args:
            offset: byte offset of the offending item (a frame's first prefix byte).

        Returns:
            A new :class:`TruncatedFrame` to raise.

        Example:
            >>> TruncatedFrame.in_header(3).reason
            'input ends inside the envelope header'
        """
        return cls("input ends inside the envelope header", offset)


class MalformedHeader(KlawWireError):
    """The envelope does not start ``[tag, [version, kind, channel_id, seq, ts], ...]``.

    Example:
        >>> from klaw_core.runtime.channels.views import peek_header
        >>> peek_header(b"\\xa3abc")  # a string, not an envelope array
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.MalformedHeader: ...
    """

    @classmethod
    def not_integer(cls, field: str, code: int, offset: int) -> MalformedHeader:
        """``field`` (``tag``, ``version``, ``kind``, ``seq``, ``ts``) is not a MessagePack integer.

        Args:
            field: the header field's name.
            code: the MessagePack type byte found instead.
            offset: byte offset of the offending item (a frame's first prefix byte).

        Returns:
            A new :class:`MalformedHeader` to raise.

        Example:
            >>> MalformedHeader.not_integer("tag", 0xA1, 1).reason
            'tag must be an integer, found type byte 0xa1'
        """
        return cls(f"{field} must be an integer, found type byte 0x{code:02x}", offset)

    @classmethod
    def not_array(cls, what: str, code: int, offset: int) -> MalformedHeader:
        """The ``envelope`` or its ``header`` is not a MessagePack array.

        Args:
            what: ``"envelope"`` or ``"header"``.
            code: the MessagePack type byte found instead.
            offset: byte offset of the offending item (a frame's first prefix byte).

        Returns:
            A new :class:`MalformedHeader` to raise.

        Example:
            >>> MalformedHeader.not_array("header", 0x85, 2).reason
            'header must be a MessagePack array, found type byte 0x85'
        """
        return cls(f"{what} must be a MessagePack array, found type byte 0x{code:02x}", offset)

    @classmethod
    def not_string(cls, code: int, offset: int) -> MalformedHeader:
        """``channel_id`` is not a MessagePack string.

        Args:
            code: the MessagePack type byte found instead.
            offset: byte offset of the offending item (a frame's first prefix byte).

        Returns:
            A new :class:`MalformedHeader` to raise.

        Example:
            >>> MalformedHeader.not_string(0x01, 5).reason
            'channel_id must be a string, found type byte 0x01'
        """
        return cls(f"channel_id must be a string, found type byte 0x{code:02x}", offset)

    @classmethod
    def not_utf8(cls, offset: int) -> MalformedHeader:
        """``channel_id`` is a string whose bytes are not valid UTF-8.

        Args:
            offset: byte offset of the offending item (a frame's first prefix byte).

        Returns:
            A new :class:`MalformedHeader` to raise.

        Example:
            >>> MalformedHeader.not_utf8(5).reason
            'channel_id is not valid UTF-8'
        """
        return cls("channel_id is not valid UTF-8", offset)

    @classmethod
    def envelope_too_short(cls, count: int) -> MalformedHeader:
        """The envelope array has fewer than 2 elements (a tag and a header).

        Args:
            count: the elements the array declares.

        Returns:
            A new :class:`MalformedHeader` to raise.

        Example:
            >>> MalformedHeader.envelope_too_short(1).reason
            'envelope array has 1 elements, need at least 2'
        """
        return cls(f"envelope array has {count} elements, need at least 2", 0)

    @classmethod
    def header_size(cls, count: int, offset: int) -> MalformedHeader:
        """The header array at ``offset`` does not have exactly 5 elements.

        Args:
            count: the elements the array declares.
            offset: byte offset of the offending item (a frame's first prefix byte).

        Returns:
            A new :class:`MalformedHeader` to raise.

        Example:
            >>> MalformedHeader.header_size(4, 2).reason
            'header array has 4 elements, expected 5'
        """
        return cls(f"header array has {count} elements, expected {HEADER_FIELDS}", offset)

    @classmethod
    def kind_mismatch(cls, kind: int, tag: int, offset: int) -> MalformedHeader:
        """The header's ``kind`` (at ``offset``) differs from the envelope's tag.

        Args:
            kind: the header's ``kind``.
            tag: the envelope's tag.
            offset: byte offset of the offending item (a frame's first prefix byte).

        Returns:
            A new :class:`MalformedHeader` to raise.

        Example:
            >>> MalformedHeader.kind_mismatch(3, 1, 4).reason
            'header kind 3 does not match tag 1'
        """
        return cls(f"header kind {kind} does not match tag {tag}", offset)


class MalformedPayload(KlawWireError):
    """A frame's body is not valid MessagePack for the expected envelope.

    Example:
        >>> from klaw_core.runtime.channels.codec import decode
        >>> decode(b"\\x93\\x01\\x95\\x01\\x01\\xa0\\x00\\x00")  # no payload
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.MalformedPayload: payload is not valid MessagePack: ...
    """

    @classmethod
    def from_decode(
        cls, exc: BaseException, offset: int | None = None, subject: str = "payload"
    ) -> MalformedPayload:
        """What a msgspec decoder raised, in klaw's words first, msgspec's text after.

        Which class and wording msgspec uses for a given fault varies between its
        releases, so klaw's own words carry the meaning: ``not valid
        MessagePack``, ``does not match the expected type``, ``nested too deeply
        to decode``.

        Args:
            exc: what the decoder raised (chain it as ``__cause__``).
            offset: byte offset of the offending item, or ``None``.
            subject: what was decoded, for the message (``"frame payload"``).

        Returns:
            :class:`PayloadValidationError` for ``msgspec.ValidationError`` (valid
            MessagePack of the wrong type), :class:`MalformedPayload` otherwise.

        Example:
            >>> MalformedPayload.from_decode(ValueError("bad"), 0, "frame payload").reason
            'frame payload is not valid MessagePack: bad'
        """
        if isinstance(exc, msgspec.ValidationError):
            return PayloadValidationError(
                f"{subject} does not match the expected type: {exc}", offset
            )
        if isinstance(exc, RecursionError):
            return MalformedPayload(f"{subject} is nested too deeply to decode: {exc}", offset)
        return MalformedPayload(f"{subject} is not valid MessagePack: {exc}", offset)

    @classmethod
    def from_frame_decode(cls, exc: BaseException, offset: int) -> MalformedPayload:
        """What a frame's decoder raised, as a wire error of the frame starting at ``offset``.

        Args:
            exc: what the decoder raised (chain it as ``__cause__``).
            offset: byte offset of the offending item (a frame's first prefix byte).

        Returns:
            The error :meth:`from_decode` builds, about the ``frame payload``.

        Example:
            >>> MalformedPayload.from_frame_decode(ValueError("bad"), 0).reason
            'frame payload is not valid MessagePack: bad'
        """
        return cls.from_decode(exc, offset, "frame payload")


class PayloadValidationError(MalformedPayload):
    """A frame's body is valid MessagePack but does not match the expected type.

    Example:
        >>> from klaw_core.runtime.channels.codec import get_codec_pool
        >>> get_codec_pool().decode_payload(b"\\xa1x", int)
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.PayloadValidationError: payload does not match the expected type: ...
    """


class NestingTooDeep(MalformedPayload):
    """A MessagePack value nests arrays and maps deeper than the decoder allows.

    Refused by the wire core's non-recursive scan before msgspec sees the bytes:
    msgspec decodes nested containers recursively, and a payload nested a few
    hundred levels deep overflows a thread's C stack (128 KiB on musl) before
    msgspec's recursion guard fires (msgspec#1033). The offset is the byte where
    the first container past the limit starts.

    Example:
        >>> from klaw_core.runtime.channels.codec import get_codec_pool
        >>> get_codec_pool().decode_payload(b"\\x91" * 1000 + b"\\xc0", list)
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.NestingTooDeep: arrays and maps nest more than 128 deep (at byte 128)
    """

    @classmethod
    def past(cls, max_depth: int, offset: int) -> NestingTooDeep:
        """The container starting at ``offset`` is the first nested deeper than ``max_depth``.

        Args:
            max_depth: the most arrays and maps one value may nest.
            offset: byte offset where that container starts.

        Returns:
            A new :class:`NestingTooDeep` to raise.

        Example:
            >>> NestingTooDeep.past(128, 300).reason
            'arrays and maps nest more than 128 deep'
        """
        return cls(f"arrays and maps nest more than {max_depth} deep", offset)


class UnknownSchemaVersion(KlawWireError):
    """A header names a schema version that no registered decoder knows.

    Example:
        >>> from klaw_core.runtime.channels.schema import SchemaRegistry
        >>> SchemaRegistry().get_decoder(2)
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.UnknownSchemaVersion: schema version 2 is not registered (known: none)
    """


# ------------------------------------------------------------------------- config


class ConfigError(KlawError, ValueError):
    """Invalid configuration.

    Attributes:
        problems: one line per problem found; a file's problems are all reported
            at once, each naming the file, the key path and where the value came
            from (file, environment variable or default).

    Example:
        >>> err = ConfigError("invalid klaw configuration", ("channels.capacity: expected int >= 1",))
        >>> print(err)
        invalid klaw configuration
          - channels.capacity: expected int >= 1
        >>> isinstance(err, ValueError), err.problems
        (True, ('channels.capacity: expected int >= 1',))
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        self.problems = tuple(problems)
        text = (
            message
            if not self.problems
            else message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        )
        super().__init__(text)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.problems))


# ----------------------------------------------------------------------- channels


class ChannelError(KlawError):
    """Base of channel exceptions. Each subclass has a struct twin (``to_struct()``).

    Example:
        >>> issubclass(ChannelClosedError, ChannelError), issubclass(ChannelError, KlawError)
        (True, True)
    """


def format_seq_ranges(ranges: tuple[tuple[int, int], ...]) -> str:
    """Name inclusive sequence-number ranges the way the channel errors print them.

    Args:
        ranges: ``(first, last)`` pairs, inclusive, in order.

    Returns:
        ``"seq 3-7, 10"`` style text, or ``"none"`` for no ranges.

    Example:
        >>> format_seq_ranges(((3, 7), (10, 10)))
        'seq 3-7, 10'
    """
    if not ranges:
        return "none"
    return "seq " + ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


class ChannelClosed(msgspec.Struct, frozen=True, gc=False):
    """Value form of "the channel is closed"; the subclasses tell the cases apart.

    ``try_send``/``try_recv`` return one of :class:`ChannelEnded`,
    :class:`EndpointClosed`, :class:`ReceiversClosed`, :class:`ProducerLost` or
    :class:`ProducerFailed` inside ``Err(...)``; match on the class, never on
    ``reason``, which is only for people.

    Example:
        >>> ChannelClosed("closed").to_exception()
        ChannelClosedError('closed')
    """

    reason: str | None = None

    def to_exception(self) -> ChannelClosedError:
        """Return the matching :class:`ChannelClosedError` subclass, to raise.

        Returns:
            A new exception of the class twinned with this struct's class.
        """
        return ChannelClosedError(self.reason)


class ChannelEnded(ChannelClosed, frozen=True, gc=False):
    """End of channel: every sender closed and everything buffered was received.

    Example:
        >>> ChannelEnded().to_exception()
        ChannelEndedError('end of channel: every sender closed')
    """

    def to_exception(self) -> ChannelEndedError:
        """Return the matching :class:`ChannelEndedError`, to raise.

        Returns:
            A new :class:`ChannelEndedError` with the same ``reason``.
        """
        return ChannelEndedError(self.reason)


class EndpointClosed(ChannelClosed, frozen=True, gc=False):
    """This endpoint itself was closed (by this task or another), not the channel.

    Example:
        >>> EndpointClosed().to_exception()
        EndpointClosedError('this endpoint is closed')
    """

    def to_exception(self) -> EndpointClosedError:
        """Return the matching :class:`EndpointClosedError`, to raise.

        Returns:
            A new :class:`EndpointClosedError` with the same ``reason``.
        """
        return EndpointClosedError(self.reason)


class ReceiversClosed(ChannelClosed, frozen=True, gc=False):
    """Every receiver closed: nothing sent now would ever be received.

    Example:
        >>> ReceiversClosed().to_exception()
        ReceiversClosedError('every receiver closed')
    """

    def to_exception(self) -> ReceiversClosedError:
        """Return the matching :class:`ReceiversClosedError`, to raise.

        Returns:
            A new :class:`ReceiversClosedError` with the same ``reason``.
        """
        return ReceiversClosedError(self.reason)


class ProducerLost(ChannelClosed, frozen=True, gc=False, kw_only=True):
    """Value form of "a producer died or vanished without closing" (its lease expired).

    Attributes:
        channel: the channel's name.
        producer: the lost producer's identity.
        delivered: how many of its messages were delivered before the loss.
        lost: inclusive ``(first, last)`` seq ranges accepted from it and lost.

    Example:
        >>> print(ProducerLost(channel="jobs", producer="p1", delivered=3).to_exception())
        channel 'jobs': producer 'p1' lost after 3 delivered messages; lost: none
    """

    channel: str
    producer: str
    delivered: int
    lost: tuple[tuple[int, int], ...] = ()

    def to_exception(self) -> ProducerLostError:
        """Return the matching :class:`ProducerLostError`, to raise.

        Returns:
            A new :class:`ProducerLostError` with the same fields.
        """
        return ProducerLostError(
            self.channel, self.producer, self.delivered, self.lost, self.reason
        )


class ProducerFailed(ChannelClosed, frozen=True, gc=False, kw_only=True):
    """Value form of "a producer closed its sender with an error" (a ``WireError`` arrived).

    Attributes:
        channel: the channel's name.
        producer: the failed producer's identity.
        error_type: the class name of the producer's exception.
        error_message: ``str()`` of the producer's exception.

    Example:
        >>> print(ProducerFailed(channel="jobs", producer="p1", error_type="ValueError",
        ...                      error_message="boom").to_exception())
        channel 'jobs': producer 'p1' failed: ValueError: boom
    """

    channel: str
    producer: str
    error_type: str
    error_message: str

    def to_exception(self) -> ProducerFailedError:
        """Return the matching :class:`ProducerFailedError`, to raise.

        Returns:
            A new :class:`ProducerFailedError` with the same fields.
        """
        return ProducerFailedError(
            self.channel, self.producer, self.error_type, self.error_message, self.reason
        )


class ChannelClosedError(ChannelError):
    """The channel, or this endpoint, is closed; the subclass says which case.

    ``except ChannelClosedError`` catches every case; the subclasses
    (:class:`ChannelEndedError`, :class:`EndpointClosedError`,
    :class:`ReceiversClosedError`, :class:`ProducerLostError`,
    :class:`ProducerFailedError`) tell them apart by class, never by text.

    Example:
        >>> ChannelClosedError("closed").to_struct()
        ChannelClosed(reason='closed')
    """

    default_reason = "channel closed"

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason
        super().__init__(reason or self.default_reason)

    def to_struct(self) -> ChannelClosed:
        """Return the matching struct, to return inside ``Err(...)``.

        Returns:
            A new struct of the class twinned with this exception's class.
        """
        return ChannelClosed(self.reason)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason,))


class ChannelEndedError(ChannelClosedError):
    """End of channel: every sender closed and the buffer is drained (``async for`` stops).

    Example:
        >>> ChannelEndedError().to_struct()
        ChannelEnded(reason=None)
    """

    default_reason = "end of channel: every sender closed"

    def to_struct(self) -> ChannelEnded:
        """Return the matching :class:`ChannelEnded` struct.

        Returns:
            A new :class:`ChannelEnded` with the same ``reason``.
        """
        return ChannelEnded(self.reason)


class EndpointClosedError(ChannelClosedError):
    """This endpoint was closed; using it again is a bug in the caller (trio/anyio's
    ``ClosedResourceError``), distinct from the channel's end.

    Example:
        >>> EndpointClosedError().to_struct()
        EndpointClosed(reason=None)
    """

    default_reason = "this endpoint is closed"

    def to_struct(self) -> EndpointClosed:
        """Return the matching :class:`EndpointClosed` struct.

        Returns:
            A new :class:`EndpointClosed` with the same ``reason``.
        """
        return EndpointClosed(self.reason)


class ReceiversClosedError(ChannelClosedError):
    """Every receiver closed, so a send can never be received (anyio's ``BrokenResourceError``).

    Example:
        >>> ReceiversClosedError().to_struct()
        ReceiversClosed(reason=None)
    """

    default_reason = "every receiver closed"

    def to_struct(self) -> ReceiversClosed:
        """Return the matching :class:`ReceiversClosed` struct.

        Returns:
            A new :class:`ReceiversClosed` with the same ``reason``.
        """
        return ReceiversClosed(self.reason)


class ProducerLostError(ChannelClosedError):
    """A producer died or vanished without closing: its lease at the channel expired.

    Raised to receivers after every message it sent that reached the channel;
    names the producer, how many of its messages were delivered, and the seq
    ranges known lost.

    Example:
        >>> err = ProducerLostError("jobs", "p1", 3, ((3, 4),))
        >>> print(err)
        channel 'jobs': producer 'p1' lost after 3 delivered messages; lost: seq 3-4
        >>> err.to_struct().lost
        ((3, 4),)
    """

    def __init__(
        self,
        channel: str,
        producer: str,
        delivered: int,
        lost: tuple[tuple[int, int], ...] = (),
        reason: str | None = None,
    ) -> None:
        self.channel = channel
        self.producer = producer
        self.delivered = delivered
        self.lost = tuple((int(a), int(b)) for a, b in lost)
        text = (
            f"channel {channel!r}: producer {producer!r} lost after {delivered} delivered "
            f"messages; lost: {format_seq_ranges(self.lost)}"
        )
        super().__init__(text if reason is None else f"{text} ({reason})")
        self.reason = reason

    def to_struct(self) -> ProducerLost:
        """Return the matching :class:`ProducerLost` struct.

        Returns:
            A new :class:`ProducerLost` with the same fields.
        """
        return ProducerLost(
            reason=self.reason,
            channel=self.channel,
            producer=self.producer,
            delivered=self.delivered,
            lost=self.lost,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.channel, self.producer, self.delivered, self.lost, self.reason))


class ProducerFailedError(ChannelClosedError):
    """A producer closed with an error (``close(error=...)`` or an exception in ``async with``).

    Raised to receivers after every message it sent before the failure, so a
    failed upstream is never mistaken for a clean end.

    Example:
        >>> err = ProducerFailedError("jobs", "p1", "ValueError", "boom")
        >>> err.error_type, err.to_struct().error_message
        ('ValueError', 'boom')
    """

    def __init__(
        self,
        channel: str,
        producer: str,
        error_type: str,
        error_message: str,
        reason: str | None = None,
    ) -> None:
        self.channel = channel
        self.producer = producer
        self.error_type = error_type
        self.error_message = error_message
        text = f"channel {channel!r}: producer {producer!r} failed: {error_type}: {error_message}"
        super().__init__(text if reason is None else f"{text} ({reason})")
        self.reason = reason

    def to_struct(self) -> ProducerFailed:
        """Return the matching :class:`ProducerFailed` struct.

        Returns:
            A new :class:`ProducerFailed` with the same fields.
        """
        return ProducerFailed(
            reason=self.reason,
            channel=self.channel,
            producer=self.producer,
            error_type=self.error_type,
            error_message=self.error_message,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self.channel, self.producer, self.error_type, self.error_message, self.reason),
        )


class ChannelFull(msgspec.Struct, frozen=True, gc=False):
    """Value form of "the channel is at capacity" (returned by ``try_send``).

    Example:
        >>> ChannelFull(8).to_exception()
        ChannelFullError('channel full (capacity 8)')
    """

    capacity: int | None = None

    def to_exception(self) -> ChannelFullError:
        """Return the matching :class:`ChannelFullError`, to raise.

        Returns:
            A new :class:`ChannelFullError` with the same ``capacity``.
        """
        return ChannelFullError(self.capacity)


class ChannelFullError(ChannelError):
    """The channel is at capacity and the call would have to wait.

    Example:
        >>> ChannelFullError(8).to_struct()
        ChannelFull(capacity=8)
    """

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = capacity
        super().__init__(
            "channel full" if capacity is None else f"channel full (capacity {capacity})"
        )

    def to_struct(self) -> ChannelFull:
        """Return the matching :class:`ChannelFull` struct, to return inside ``Err(...)``.

        Returns:
            A new :class:`ChannelFull` with the same ``capacity``.
        """
        return ChannelFull(self.capacity)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.capacity,))


class ChannelEmpty(msgspec.Struct, frozen=True, gc=False):
    """Value form of "nothing buffered right now" (returned by ``try_recv``).

    Example:
        >>> ChannelEmpty().to_exception()
        ChannelEmptyError('channel empty')
    """

    def to_exception(self) -> ChannelEmptyError:
        """Return the matching :class:`ChannelEmptyError`, to raise.

        Returns:
            A new :class:`ChannelEmptyError` (it carries no fields).
        """
        return ChannelEmptyError()


class ChannelEmptyError(ChannelError):
    """The channel is open but holds no item right now.

    Example:
        >>> ChannelEmptyError().to_struct()
        ChannelEmpty()
    """

    def __init__(self) -> None:
        super().__init__("channel empty")

    def to_struct(self) -> ChannelEmpty:
        """Return the matching :class:`ChannelEmpty` struct, to return inside ``Err(...)``.

        Returns:
            A new :class:`ChannelEmpty` (it carries no fields).
        """
        return ChannelEmpty()

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), ())


class ChannelTimeout(msgspec.Struct, frozen=True, gc=False):
    """Value form of "the operation did not complete within its timeout".

    Example:
        >>> ChannelTimeout(2.5).to_exception()
        ChannelTimeoutError('channel operation timed out after 2.5s')
    """

    timeout: float | None = None

    def to_exception(self) -> ChannelTimeoutError:
        """Return the matching :class:`ChannelTimeoutError`, to raise.

        Returns:
            A new :class:`ChannelTimeoutError` with the same ``timeout``.
        """
        return ChannelTimeoutError(self.timeout)


class ChannelTimeoutError(ChannelError, TimeoutError):
    """A channel operation did not complete within its timeout (also a ``TimeoutError``).

    Example:
        >>> err = ChannelTimeoutError(2.5)
        >>> isinstance(err, TimeoutError), err.to_struct()
        (True, ChannelTimeout(timeout=2.5))
    """

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout
        super().__init__(
            "channel operation timed out"
            if timeout is None
            else f"channel operation timed out after {timeout:g}s"
        )

    def to_struct(self) -> ChannelTimeout:
        """Return the matching :class:`ChannelTimeout` struct, to return inside ``Err(...)``.

        Returns:
            A new :class:`ChannelTimeout` with the same ``timeout``.
        """
        return ChannelTimeout(self.timeout)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.timeout,))


class InvalidMessage(msgspec.Struct, frozen=True, gc=False):
    """Value form of "a received message does not match the channel's type".

    Example:
        >>> print(InvalidMessage("jobs", 41, "Expected `int`, got `str`").to_exception())
        channel 'jobs': message seq 41 is invalid: Expected `int`, got `str`
    """

    channel: str
    seq: int
    detail: str

    def to_exception(self) -> InvalidMessageError:
        """Return the matching :class:`InvalidMessageError`, to raise.

        Returns:
            A new :class:`InvalidMessageError` with the same ``channel``, ``seq`` and ``detail``.
        """
        return InvalidMessageError(self.channel, self.seq, self.detail)


class InvalidMessageError(ChannelError, ValueError):
    """A message arrived that does not match the channel's declared type.

    Raised at the receiving boundary, naming the channel and the sequence number,
    so a misbehaving sender is identified rather than garbage delivered.

    Example:
        >>> InvalidMessageError("jobs", 41, "Expected `int`, got `str`").to_struct().seq
        41
    """

    def __init__(self, channel: str, seq: int, detail: str) -> None:
        self.channel = channel
        self.seq = seq
        self.detail = detail
        super().__init__(f"channel {channel!r}: message seq {seq} is invalid: {detail}")

    def to_struct(self) -> InvalidMessage:
        """Return the matching :class:`InvalidMessage` struct, to return inside ``Err(...)``.

        Returns:
            A new :class:`InvalidMessage` with the same ``channel``, ``seq`` and ``detail``.
        """
        return InvalidMessage(self.channel, self.seq, self.detail)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.channel, self.seq, self.detail))


class ChannelLost(msgspec.Struct, frozen=True, gc=False):
    """Value form of "the channel's peer failed, or messages were lost".

    Attributes:
        channel: the channel's name.
        detail: what failed.
        lost: inclusive ``(first, last)`` seq ranges whose ``send()`` returned and
            that are known lost (empty when none were, or none can be named).

    Example:
        >>> ChannelLost("jobs", "the channel actor died").to_exception()
        ChannelLostError("channel 'jobs' lost: the channel actor died")
    """

    channel: str
    detail: str
    lost: tuple[tuple[int, int], ...] = ()

    def to_exception(self) -> ChannelLostError:
        """Return the matching :class:`ChannelLostError`, to raise.

        Returns:
            A new :class:`ChannelLostError` with the same fields.
        """
        return ChannelLostError(self.channel, self.detail, self.lost)


class ChannelLostError(ChannelError):
    """The process holding the channel died, or a gap in sequence numbers shows loss.

    Example:
        >>> ChannelLostError("jobs", "the channel actor died").to_struct()
        ChannelLost(channel='jobs', detail='the channel actor died', lost=())
        >>> print(ChannelLostError("jobs", "actor died", ((7, 9),)))
        channel 'jobs' lost: actor died; lost: seq 7-9
    """

    def __init__(self, channel: str, detail: str, lost: tuple[tuple[int, int], ...] = ()) -> None:
        self.channel = channel
        self.detail = detail
        self.lost = tuple((int(a), int(b)) for a, b in lost)
        text = f"channel {channel!r} lost: {detail}"
        super().__init__(f"{text}; lost: {format_seq_ranges(self.lost)}" if self.lost else text)

    def to_struct(self) -> ChannelLost:
        """Return the matching :class:`ChannelLost` struct, to return inside ``Err(...)``.

        Returns:
            A new :class:`ChannelLost` with the same fields.
        """
        return ChannelLost(self.channel, self.detail, self.lost)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.channel, self.detail, self.lost))


# ------------------------------------------------------------------------ results


class UnwrapError(KlawError):
    """``unwrap()``/``expect()`` was called on the variant that holds no value.

    Raised by ``Err.unwrap()``, ``Ok.unwrap_err()``, ``Nothing.unwrap()`` and
    their ``expect`` forms: a bug in the caller, the in-process equivalent of a
    Rust panic. When the ``Err`` holds an exception, that exception is chained as
    ``__cause__``.

    Attributes:
        result: the ``Ok``/``Err``/``Some``/``Nothing`` that was unwrapped.

    Example:
        >>> str(UnwrapError("Err('boom')", "called unwrap() on an Err"))
        'called unwrap() on an Err'
    """

    def __init__(self, result: object, message: str) -> None:
        self.result = result
        self.message = message
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.result, self.message))
