"""``ChannelStats``: one snapshot type that every channel backend returns.

It lives in its own module, importing only msgspec, so that the local backend,
the Ray backend and the Ray actor process can all build it without importing
each other (or Ray). It is a frozen struct: cheap to build, pickles and encodes
as it is, and a snapshot cannot be mistaken for live state.
"""

from __future__ import annotations

import msgspec

__all__ = ["ChannelStats"]


class ChannelStats(msgspec.Struct, frozen=True, gc=False):
    """A consistent snapshot of one channel, as seen by whoever asked.

    Whenever no call is in flight, ``buffered == sent - received``.

    Attributes:
        buffered: items accepted by the channel and not yet handed to a receiver.
        capacity: the bound on ``buffered``, or ``None`` for an unbounded channel.
        senders: sender endpoints not yet closed.
        receivers: receiver endpoints not yet closed.
        sent: items accepted since the channel was created.
        received: items handed to receivers since the channel was created.
        high_watermark: the largest ``buffered`` seen so far.
        senders_closed: every sender is closed: receivers get the rest of the
            buffer, then end of channel.
        receivers_closed: every receiver is closed: sends fail with
            ``ReceiversClosed``.
        tasks_waiting_send: tasks blocked in ``send``/``send_batch`` for room
            (anyio's ``tasks_waiting_send``).
        tasks_waiting_receive: tasks blocked in ``recv``/``recv_batch``/``async
            for`` for an item (anyio's ``tasks_waiting_receive``).

    Example:
        >>> s = ChannelStats(buffered=2, capacity=8, senders=1, receivers=1, sent=5, received=3, high_watermark=4)
        >>> s.sent - s.received == s.buffered, s.closed
        (True, False)
    """

    buffered: int
    capacity: int | None
    senders: int
    receivers: int
    sent: int
    received: int
    high_watermark: int
    senders_closed: bool = False
    receivers_closed: bool = False
    tasks_waiting_send: int = 0
    tasks_waiting_receive: int = 0

    @property
    def closed(self) -> bool:
        """True when no more items can ever be received: all senders closed and nothing buffered, or all receivers closed."""
        return (self.senders_closed and self.buffered == 0) or self.receivers_closed
