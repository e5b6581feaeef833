"""The receiver's inbox: fetched frames, the batch being delivered, what is due next.

Why sans-IO: what a receiver does with the frames a fetch brought back (decode
a batch with the typed decoder, fall back to message-by-message decoding so a
bad message spares its neighbours, drop what a part-delivered frame already
gave, check per-producer order and report gaps, turn a producer's end marker
into its error, count what was delivered for acknowledgement, remember the
redelivered mark) has nothing to do with asyncio or Ray. :class:`Inbox` holds
it; :class:`~.receiver.RayReceiver` only fetches, waits and acknowledges.
Errors are *deferred*, never raised while installing a frame: the messages
before them are delivered first.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final, cast

import msgspec

from klaw_core._wirecore import peek_header
from klaw_core.runtime.channels.codec import decode_with, get_codec_pool
from klaw_core.runtime.channels.ray.constants import ALL_SENDERS_CLOSED, FrameBatch
from klaw_core.runtime.channels.ray.seqranges import SeqRanges
from klaw_core.runtime.channels.ray.store import PRODUCER_FAILED
from klaw_core.runtime.channels.wire import DataMessage, MessageKind, WireError
from klaw_core.runtime.errors import (
    ChannelClosedError,
    ChannelError,
    ChannelLostError,
    InvalidMessageError,
    KlawWireError,
    ProducerFailedError,
    ProducerLostError,
)

__all__ = ["NOTHING", "Inbox"]


class _Nothing:
    """Marker: no message is available locally."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOTHING"


NOTHING: Final[Any] = _Nothing()
"""Returned by :meth:`Inbox.next` when no message is available locally."""


class Inbox:
    """Frames a receiver fetched and the batch it is delivering (see the module docstring).

    Args:
        channel_id: the channel, named in errors.
        value_type: the item type messages are decoded to (``None``: any).

    Attributes:
        items: the current batch's decoded messages.
        pos: index of the next message of ``items`` to deliver.
        bad: positions in ``items`` whose message failed validation, with the error.
        deferred: an error due before anything else.
        frames: fetched entries ``(frame, stream, count, skip, redelivered)``
            not yet decoded.
        eof: the end-of-channel reason once the actor said so.
        exclusive: whether this receiver is the only one that ever fetched
            (a gap in a stream's seqs then means loss).
        received: messages received from the actor in all.
        redelivered: whether the current batch came back from a dead receiver.

    Example:
        >>> from klaw_core.runtime.channels.ray.constants import FrameBatch
        >>> from klaw_core.runtime.channels.wire import DataMessage
        >>> data = bytes(get_codec_pool().encode_frames([DataMessage.new([1, 2], channel_id="c")]))
        >>> inbox = Inbox("c", int)
        >>> inbox.accept(FrameBatch("ok", (data,), (7,), (2,), exclusive=True))
        True
        >>> inbox.next(), inbox.next(), inbox.next() is NOTHING, inbox.delivered
        (1, 2, True, 2)
    """

    __slots__ = (
        "bad",
        "channel_id",
        "cur_seq",
        "cur_stream",
        "deferred",
        "done",
        "dupes",
        "eof",
        "exclusive",
        "expected",
        "first",
        "frames",
        "item_type",
        "items",
        "known",
        "pos",
        "ranges",
        "raws",
        "received",
        "redelivered",
    )

    def __init__(self, channel_id: str, value_type: Any) -> None:
        self.channel_id = channel_id
        self.item_type: Any = Any if value_type is None else value_type
        self.items: list[Any] = []
        self.pos: int = 0
        self.bad: dict[int, InvalidMessageError] = {}
        self.raws: list[msgspec.Raw] | None = None
        self.deferred: ChannelError | None = None
        self.cur_stream = 0
        self.cur_seq = 0
        self.redelivered = False
        self.frames: deque[tuple[bytes, int, int, int, bool]] = deque()
        self.eof: str | None = None
        self.exclusive = False
        self.expected: dict[int, int] = {}
        self.done: int = 0  # messages of earlier batches, all delivered (or skipped)
        self.received: int = 0
        self.first: int = 0  # position in items where this receiver's delivering began
        self.ranges: dict[int, SeqRanges] = {}  # stream -> seqs delivered here
        self.known: dict[int, SeqRanges] = {}  # stream -> seqs the actor says were delivered
        self.dupes: set[int] = set()  # positions in items delivered before: dropped

    @property
    def delivered(self) -> int:
        """Messages delivered (or skipped as invalid or repeated) so far: what to acknowledge."""
        return self.done + self.pos

    @property
    def undelivered(self) -> int:
        """Messages of the current batch not yet delivered."""
        return len(self.items) - self.pos

    def accept(self, batch: FrameBatch) -> bool:
        """Take in a fetch's reply.

        Args:
            batch: the actor's answer to ``get_frames``.

        Returns:
            True when it brought frames; ``"closed"`` sets :attr:`eof`,
            ``"empty"`` changes nothing. ``"lost"`` is the driver's business.
        """
        if batch.status == "ok":
            self.exclusive = batch.exclusive
            skips = batch.skips or (0,) * len(batch.frames)
            marks = batch.redelivered or (False,) * len(batch.frames)
            self.received += sum(batch.counts) - sum(skips)
            for stream, start, end in batch.spans:
                self.known.setdefault(stream, SeqRanges()).add(start, end)
            self.frames.extend(
                zip(batch.frames, batch.streams, batch.counts, skips, marks, strict=True)
            )
            return True
        if batch.status == "closed":
            self.eof = batch.detail or ALL_SENDERS_CLOSED
        return False

    def next(self) -> Any:
        """Return the next message held here, or :data:`NOTHING`; raise what is due first.

        Returns:
            The next message, or :data:`NOTHING` when nothing is held (the
            driver then fetches; :attr:`eof` tells whether there is more).

        Raises:
            InvalidMessageError: the next message failed validation (skipped).
            ProducerFailedError, ProducerLostError: a producer's end marker.
            ChannelLostError: a gap in a stream's seqs (exclusive receiver).
        """
        while True:
            deferred = self.deferred
            if deferred is not None:
                self.deferred = None
                raise deferred
            pos = self.pos
            if pos < len(self.items):
                self.pos = pos + 1
                if self.dupes and pos in self.dupes:
                    continue
                if self.bad:
                    error = self.bad.pop(pos, None)
                    if error is not None:
                        raise error
                return self.items[pos]
            if not self.frames:
                return NOTHING
            self.install(*self.frames.popleft())

    def take(self, out: list[Any], max_items: int) -> bool:
        """Move held messages into ``out`` until it has ``max_items``, stopping before an error.

        Args:
            out: the list being filled.
            max_items: the length to stop at.

        Returns:
            False when it stopped before an error or ran out of held messages.
        """
        while len(out) < max_items:
            items = self.items
            pos = self.pos
            if pos < len(items):
                end = min(len(items), pos + max_items - len(out))
                if self.dupes:
                    if pos in self.dupes:
                        self.pos = pos + 1
                        continue
                    end = min([end, *(p for p in self.dupes if p >= pos)])
                if self.bad:
                    end = min([end, *(p for p in self.bad if p >= pos)])
                    if end == pos:
                        return False
                out.extend(items[pos:end])
                self.pos = end
            elif self.frames and self.deferred is None:
                if not self.install(*self.frames.popleft()):
                    return False  # an error is due before the rest of the batch
            else:
                return False
        return True

    def _record(self) -> None:
        """Add what was delivered of the current batch to :attr:`ranges`."""
        if self.pos > self.first and self.items:
            ranges = self.ranges.setdefault(self.cur_stream, SeqRanges())
            ranges.add(self.cur_seq + self.first, self.cur_seq + self.pos)
        self.first = self.pos

    def report(self) -> dict[int, list[tuple[int, int]]]:
        """What this receiver delivered, per stream, as seq spans (for a restarted actor).

        Returns:
            ``{stream: [(start, end), ...]}``.
        """
        self._record()
        return {stream: list(r.spans) for stream, r in self.ranges.items()}

    def restart(self) -> dict[int, list[tuple[int, int]]]:
        """The actor restarted: drop what is held and not delivered, start a new session.

        What is dropped was never delivered here, so the producers replay it;
        per-stream order checks go on from what was delivered.

        Returns:
            :meth:`report`, to send to the new actor.
        """
        report = self.report()
        self.frames.clear()
        self.items, self.pos, self.first, self.bad, self.raws = [], 0, 0, {}, None
        self.dupes = set()
        self.done = self.received = 0
        self.deferred = None
        self.expected = {stream: r.spans[-1][1] for stream, r in self.ranges.items() if r.spans}
        return report

    def clear(self) -> None:
        """Forget every held message (the receiver is closing; the actor takes them back)."""
        self._record()
        self.frames.clear()
        self.done += self.pos
        self.items = []
        self.pos = self.first = 0
        self.bad = {}
        self.raws = None

    def install(
        self, data: bytes, stream: int, count: int, skip: int = 0, redelivered: bool = False
    ) -> bool:
        """Decode one fetched entry into the current batch (the previous one is done).

        Errors are deferred, not raised: the caller may hold messages to return first.
        A producer's end marker (a ``WireError``) becomes its error; ``skip``
        messages at the start were delivered before and are dropped.

        Args:
            data: the frame(s) as stored.
            stream: the sending stream, for the order check.
            count: messages in ``data`` (0 for a marker).
            skip: messages at the start already delivered elsewhere.
            redelivered: whether the entry comes back from a dead receiver.

        Returns:
            False when an error is now due before the batch's messages.
        """
        self.redelivered = redelivered
        if not count and _is_marker(data):
            self._record()
            self.done += len(self.items)
            self.items, self.pos, self.bad, self.raws = [], 0, {}, None
            self.deferred = self._marker_error(data)
            return False
        if skip:
            return self._install_rest(data, stream, count, skip, redelivered)
        try:
            messages = cast(
                "list[DataMessage[list[Any]]]",
                get_codec_pool().decode_frames(data, DataMessage[list[self.item_type]]),  # type: ignore[name-defined]
            )
        except KlawWireError:
            self._install_slowly(data, stream, count)
            return self.deferred is None and not self.bad
        if len(messages) == 1:
            items = messages[0].payload
        else:
            items = [value for message in messages for value in message.payload]
        self._set_current(items, stream, messages[0].header.seq if messages else 0)
        return self.deferred is None

    def _install_rest(
        self, data: bytes, stream: int, count: int, skip: int, redelivered: bool
    ) -> bool:
        """Install a frame given back part-delivered: only its last ``count - skip`` messages."""
        installed = self.install(data, stream, count, 0, redelivered)
        self.done -= skip  # not handed to this receiver: its delivered count starts after them
        self.pos = self.first = max(self.pos, skip)
        self.bad = {p: e for p, e in self.bad.items() if p >= self.pos}
        return installed

    def _marker_error(self, data: bytes) -> ChannelClosedError:
        """The error a producer's end marker stands for."""
        marker = get_codec_pool().decode_frames(data, WireError)[0]
        details: dict[str, Any] = (
            msgspec.msgpack.decode(marker.details, type=dict[str, Any] | None) or {}
        )
        producer = f"{int(details.get('producer', 0)):#x}"
        channel = self.channel_id
        if marker.code == PRODUCER_FAILED:
            return ProducerFailedError(
                channel,
                producer,
                str(details.get("error_type", "Exception")),
                str(details.get("error_message", marker.message)),
            )
        return ProducerLostError(
            channel, producer, int(details.get("delivered", 0)), (), marker.message or None
        )

    def _install_slowly(self, data: bytes, stream: int, count: int) -> None:
        """Decode message by message: deliver the good ones, make the bad ones raise in turn."""
        try:
            messages = get_codec_pool().decode_frames(data, DataMessage[list[msgspec.Raw]])
        except KlawWireError as exc:
            seq = _peek_seq(data)
            if seq >= 0:  # reported here, so not a gap for the sequence check
                self.expected[stream] = max(self.expected.get(stream, 0), seq + count)
            self.done += count  # skipped: it frees its room like delivered ones
            self.deferred = InvalidMessageError(
                self.channel_id,
                seq,
                f"a batch of {count} messages could not be decoded and was skipped: {exc}",
            )
            return
        item_decoder = get_codec_pool().decoder_for(self.item_type)
        items: list[Any] = []
        raws: list[msgspec.Raw] = []
        bad: dict[int, InvalidMessageError] = {}
        for message in messages:
            for index, raw in enumerate(message.payload):
                raws.append(raw)
                try:
                    items.append(decode_with(item_decoder, raw))
                except KlawWireError as exc:
                    bad[len(items)] = InvalidMessageError(
                        self.channel_id, message.header.seq + index, str(exc)
                    )
                    items.append(None)
        self._set_current(items, stream, messages[0].header.seq if messages else 0)
        self.bad = bad
        self.raws = raws

    def _set_current(self, items: list[Any], stream: int, seq: int) -> None:
        self._record()
        self.first = 0
        self.done += len(self.items)  # the previous batch, delivered in full
        self.items = items
        self.pos = 0
        self.bad = {}
        self.raws = None
        self.cur_stream = stream
        self.cur_seq = seq
        count = len(items)
        expected = self.expected.get(stream, 0)
        self.expected[stream] = max(expected, seq + count)
        self.dupes = self._delivered_before(stream, seq, count)
        if not self.exclusive or seq == expected:
            return
        if seq > expected:
            self.deferred = ChannelLostError(
                self.channel_id,
                f"messages {expected} to {seq - 1} of sender stream {stream:#x} were lost "
                f"(the next one received is {seq})",
            )
        else:  # already delivered: skip the repeated part
            self.pos = self.first = min(count, expected - seq)

    def _delivered_before(self, stream: int, seq: int, count: int) -> set[int]:
        """Positions of a batch whose seqs were delivered already (here, or as the actor says)."""
        dupes: set[int] = set()
        for source in (self.ranges, self.known):
            ranges = source.get(stream)
            if ranges is None:
                continue
            for start, end in ranges.spans:
                if start < seq + count and end > seq:
                    dupes.update(range(max(start, seq) - seq, min(end, seq + count) - seq))
        return dupes

    def last_seen(self) -> str:
        """The last seq received per sender stream, to append to a loss report.

        Returns:
            ``"; last message seq received here per sender stream: ..."``, or
            ``""`` before anything was received.
        """
        if not self.expected:
            return ""
        seen = ", ".join(f"{stream:#x}: {seq - 1}" for stream, seq in self.expected.items())
        return f"; last message seq received here per sender stream: {seen}"


def _is_marker(data: bytes) -> bool:
    """Whether ``data`` is a producer's end marker (a ``WireError`` frame)."""
    try:
        return peek_header(memoryview(data)[4:]).tag == MessageKind.ERROR
    except KlawWireError:
        return False


def _peek_seq(data: bytes) -> int:
    """Best-effort sequence number of the first frame in ``data`` (-1 when unreadable)."""
    try:
        return peek_header(memoryview(data)[4:]).seq
    except KlawWireError:
        return -1
