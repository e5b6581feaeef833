"""Acknowledgement at the channel actor: what receivers delivered, and what comes back.

Why its own module: a frame handed to a receiver still counts against the
capacity until the receiver reports it delivered; these methods record the
running totals (by stream and seq, so a restarted actor and a replaying
producer agree on what was delivered), free the room, and put back at the
front of the buffer what a receiver held when it moved or died. Plain methods,
no asyncio, no Ray.

A mixin of :class:`~.store.ChannelStore`, which holds the state.
"""

from __future__ import annotations

from collections import deque

from klaw_core.runtime.channels.ray.entries import Frame, Holding
from klaw_core.runtime.channels.ray.seqranges import SeqRanges

__all__ = ["Acknowledgement"]


class Acknowledgement:
    """The acknowledgement half of :class:`~.store.ChannelStore` (see the module docstring).

    Example:
        >>> from klaw_core.runtime.channels.ray.store import ChannelStore, Frame
        >>> store = ChannelStore("c", 4, lease_timeout=5.0, now=0.0, senders=[1], receivers=[2])
        >>> store.store(Frame(b"f", producer=1, stream=1, seq=0, count=3), now=0.0)
        >>> _ = store.take(2, session=9, max_messages=10, now=0.0)
        >>> store.ack(2, session=9, delivered=2, now=0.0), store.delivered_through(1, 0)
        (True, 2)
    """

    buffer: deque[Frame]
    buffered: int
    received: int
    lease_timeout: float
    receivers: dict[int, Holding]
    delivered: dict[int, SeqRanges]

    def ack(self, reader_id: int, session: int, delivered: int, now: float) -> bool:
        """Record a receiver's running total of delivered messages.

        Args:
            reader_id: the receiver (its lease is renewed).
            session: its instance; acknowledgements of an old session are ignored.
            delivered: messages it delivered in all (only moves forward, and
                never past what it was handed).
            now: the store clock.

        Returns:
            Whether room was freed (waiting senders should look again).
        """
        holding = self.receivers.get(reader_id)
        if holding is None:
            return False
        holding.deadline = now + self.lease_timeout
        if holding.session != session:
            return False
        return self._acknowledge(holding, delivered)

    def _acknowledge(self, holding: Holding, delivered: int) -> bool:
        delivered = min(delivered, holding.handed)
        if delivered <= holding.acked:
            return False
        newly = delivered - holding.acked
        holding.acked = delivered
        frames = holding.frames
        while frames and newly >= frames[0].pending:
            frame = frames.popleft()
            newly -= frame.pending
            self._count_delivered(frame, frame.count)
        if frames and newly:
            self._count_delivered(frames[0], frames[0].skip + newly)
            frames[0].skip += newly
        return True

    def _count_delivered(self, frame: Frame, upto: int) -> None:
        """Record messages ``skip .. upto`` of ``frame`` as delivered (by stream and seq)."""
        if frame.count:
            ranges = self.delivered.setdefault(frame.stream, SeqRanges())
            ranges.add(frame.seq + frame.skip, frame.seq + upto)

    def _trim_delivered(self, frame: Frame) -> bool:
        """Skip the start of ``frame`` that was delivered already; whether it changed."""
        ranges = self.delivered.get(frame.stream)
        if ranges is None or not frame.count:
            return False
        covered = ranges.covered_prefix(frame.seq + frame.skip, frame.seq + frame.count)
        frame.skip += covered
        return covered > 0

    def _session(self, reader_id: int, session: int, now: float) -> Holding | None:
        holding = self.receivers.get(reader_id)
        if holding is None:
            return None
        holding.deadline = now + self.lease_timeout
        if holding.session != session:
            if holding.session:  # the same receiver, moved or restarted: not a death
                self._give_back(holding, redelivered=False)
            holding.session = session
            holding.handed = holding.acked = 0
        return holding

    def _recall(self, holding: Holding, count: int) -> None:
        """Put the last ``count`` messages handed to ``holding`` back at the front, unmarked."""
        frames = holding.frames
        returned = 0
        while frames and returned < count:
            frame = frames.pop()
            self.buffer.appendleft(frame)
            returned += frame.pending
        self.buffered += returned
        self.received -= returned
        holding.handed -= returned

    def _give_back(self, holding: Holding, *, redelivered: bool) -> None:
        frames = holding.frames
        returned = 0
        while frames:
            frame = frames.pop()
            frame.redelivered = frame.redelivered or redelivered
            self.buffer.appendleft(frame)
            returned += frame.pending
        self.buffered += returned
        self.received -= returned
        holding.handed = holding.acked = 0
