"""The sender's outbox: pending values, sequence numbers, batch frames, what is unconfirmed.

Why sans-IO: everything a sender decides about its messages without waiting
(the batch a value joins, the seq it gets, how large the next batch may be,
which seqs the actor has confirmed stored and so which are lost if the actor
dies) is plain bookkeeping. :class:`Outbox` holds it; :class:`~.sender.RaySender`
only decides *when* to call the actor (natural batching: at once when no call
is in flight) and waits for room.

A batch travels as one frame holding one ``DataMessage[list[T]]`` whose header
``seq`` is its first message's; values that cannot be encoded are found by
halving, dropped, and reported once (the values around them are sent).

Why one batch at most is at risk. A value accepted by ``send()`` is lost if
the actor dies before it confirms the batch that carries it. The batch in
flight and the one forming share one budget, :attr:`Outbox.max_items`
messages (:meth:`Outbox.space`): while a batch is in flight, the next one
can only take the rest, so what the sender accepted and the actor has not
confirmed (what :meth:`Outbox.lost` names) is never more than one batch.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Generic, TypeVar

from klaw_core._wirecore import encode_frames
from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.wire import (
    WIRE_SCHEMA_VERSION,
    DataMessage,
    MessageKind,
    WireHeader,
    now_ms,
)

__all__ = ["Outbox"]

T = TypeVar("T")


class Outbox(Generic[T]):
    """Values a sender accepted and the seqs the actor has confirmed (see the module docstring).

    Args:
        channel_id: written in every header.
        limit: most messages in one batch.
        batch_bytes: target size of one batch frame; the batch limit shrinks
            for large messages so one frame stays near it.
        max_frame_size: largest frame, in bytes.
        first_seq: the seq of the first value (a sender unpickled in another
            process goes on from where the one it was copied from stopped, so
            a task Ray re-runs sends the same seqs again).

    Attributes:
        pending: accepted values not yet in a frame.
        next_seq: the seq the next encoded value gets.
        stored_seq: every seq below it is confirmed stored by the actor.
        in_flight: the encoded batch sent and not yet confirmed, with its
            message count (``None`` when none).
        in_flight_count: messages of that batch (0 when none).
        max_items: the current batch limit: most messages pending and in
            flight together (the loss bound).

    Example:
        >>> box = Outbox("c", limit=100, batch_bytes=1 << 20, max_frame_size=1 << 24)
        >>> box.pending.extend([1, 2, 3])
        >>> data, count = box.take()
        >>> count, box.next_seq, box.lost()
        (3, 3, ((0, 2),))
        >>> box.confirm(); box.lost()
        ()
    """

    __slots__ = (
        "batch_bytes",
        "channel_id",
        "error",
        "in_flight",
        "in_flight_count",
        "kept",
        "limit",
        "max_frame_size",
        "max_items",
        "next_seq",
        "pending",
        "stored_seq",
    )

    def __init__(
        self,
        channel_id: str,
        *,
        limit: int,
        batch_bytes: int,
        max_frame_size: int,
        first_seq: int = 0,
    ) -> None:
        self.channel_id = channel_id
        self.limit = limit
        self.max_items = limit
        self.batch_bytes = batch_bytes
        self.max_frame_size = max_frame_size
        self.pending: list[T] = []
        self.next_seq = first_seq
        self.stored_seq = first_seq
        self.in_flight: tuple[bytes, int] | None = None
        self.in_flight_count = 0
        self.error: BaseException | None = None
        self.kept: deque[tuple[int, int, bytes]] | None = None  # stored, not known delivered

    def keep_until_delivered(self) -> None:
        """Keep every stored batch until the actor says it was delivered (:meth:`release`).

        Why: an actor that restarts loses what it stored; a sender that kept
        it replays it to the new epoch. Back-pressure bounds what is kept: it
        was all counted against the channel's capacity.
        """
        if self.kept is None:
            self.kept = deque()

    def release(self, through: int) -> None:
        """Forget kept batches whose every seq is below ``through`` (delivered).

        Args:
            through: the first seq not known delivered.
        """
        kept = self.kept
        while kept and kept[0][0] + kept[0][1] <= through:
            kept.popleft()

    def oldest(self) -> int:
        """The first seq this sender still holds (kept, in flight or pending).

        Returns:
            Every seq below it is known delivered (or was never kept).
        """
        if self.kept:
            return self.kept[0][0]
        return self.stored_seq

    def space(self) -> int:
        """Values the forming batch can still take: the budget not used in flight or pending.

        Returns:
            ``max_items`` minus the pending values and the batch in flight
            (0 or less when full).
        """
        return self.max_items - len(self.pending) - self.in_flight_count

    def take(self) -> tuple[bytes, int]:
        """Encode every pending value into the next batch; it becomes :attr:`in_flight`.

        Returns:
            ``(frames, count)``; ``count`` is 0 when nothing could be encoded
            (then nothing is in flight). A value that could not be encoded is
            dropped and kept in :attr:`error` for the sender to raise once.
        """
        batch, self.pending = self.pending, []
        frames: list[bytes] = []
        counts: list[int] = []
        self._encode_part(batch, frames, counts)
        count = sum(counts)
        if not count:
            return b"", 0
        data = frames[0] if len(frames) == 1 else b"".join(frames)
        per_message = max(1, len(data) // count)
        self.max_items = max(1, min(self.limit, self.batch_bytes // per_message))
        self.in_flight = (data, count)
        self.in_flight_count = count
        return data, count

    def confirm(self) -> None:
        """The actor stored the batch in flight: its seqs are safe."""
        if self.kept is not None and self.in_flight is not None:
            data, count = self.in_flight
            self.kept.append((self.stored_seq, count, data))
        self.in_flight = None
        self.in_flight_count = 0
        self.stored_seq = self.next_seq

    def following_seq(self) -> int:
        """The seq the value after every accepted one gets (where a copy goes on).

        Returns:
            :attr:`next_seq` plus the values not yet in a frame.
        """
        return self.next_seq + len(self.pending)

    def lost(self) -> tuple[tuple[int, int], ...]:
        """Seqs accepted and not known delivered: what is lost if the actor is.

        Returns:
            One inclusive ``(first, last)`` range (what is kept, the batch in
            flight and the pending values, which would get the next seqs; the
            last two together at most one batch), or ``()``.
        """
        first = self.oldest()
        last = self.next_seq + len(self.pending) - 1
        return ((first, last),) if last >= first else ()

    def _encode_part(self, items: list[T], frames: list[bytes], counts: list[int]) -> None:
        try:
            frames.append(self._frame(items))
        except (TypeError, ValueError, OverflowError) as exc:
            if len(items) > 1:  # find the offending value(s) by halving
                half = len(items) // 2
                self._encode_part(items[:half], frames, counts)
                self._encode_part(items[half:], frames, counts)
                return
            exc.add_note(
                f"a value sent on channel {self.channel_id!r} could not be encoded "
                "and was dropped; the values around it were sent"
            )
            if self.error is None:
                self.error = exc
            return
        counts.append(len(items))
        self.next_seq += len(items)

    def _frame(self, items: list[Any]) -> bytes:
        header = WireHeader(
            WIRE_SCHEMA_VERSION, MessageKind.DATA, self.channel_id, self.next_seq, now_ms()
        )
        # A fresh buffer: pooling one (BufferPool) measured no faster for ~1 MiB
        # batches, and would keep that much memory per pooled buffer.
        encoder = get_codec_pool().encoder
        buffer = encode_frames(encoder, (DataMessage(header, items),), None, self.max_frame_size)
        return bytes(buffer)
