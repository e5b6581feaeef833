"""Liveness at the channel actor: leases, and what an expired one means.

Why its own module: every endpoint holds a lease, renewed by its calls and by
its process's heartbeat thread; these methods are the only place that decides
an endpoint is gone. A sender whose lease expires is *lost* (a
``producer_lost`` marker follows its frames); a receiver whose lease expires
gives back what it held, marked *redelivered*, and its capacity is released.
The store's clock is an argument, so the rules run under a fake clock in the
simulator. Plain methods, no asyncio, no Ray.

A mixin of :class:`~.store.ChannelStore`, which holds the state.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from klaw_core.runtime.channels.ray.entries import (
    PRODUCER_LOST,
    Frame,
    Holding,
    ProducerState,
    marker_frame,
)

__all__ = ["Leases"]


class Leases:
    """The liveness half of :class:`~.store.ChannelStore` (see the module docstring).

    Example:
        >>> from klaw_core.runtime.channels.ray.store import ChannelStore
        >>> store = ChannelStore("c", 4, lease_timeout=5.0, now=0.0, senders=[1], receivers=[2])
        >>> store.renew(2, now=4.0)
        False
        >>> store.next_deadline(), store.expire(now=6.0)  # the sender was silent for 6 s
        (5.0, [('producer', 1)])
    """

    channel_id: str
    lease_timeout: float
    buffer: deque[Frame]
    producers: dict[int, ProducerState]
    receivers: dict[int, Holding]
    receivers_closed: bool
    seen: dict[int, set[int]]
    ends: dict[int, int]
    resuming: set[int]
    uncertain: bool
    orphaned: bool

    if TYPE_CHECKING:  # provided by the store and its other halves

        def settle_closed(self) -> None: ...

        def resuming_pending(self) -> bool: ...

        def _give_back(self, holding: Holding, *, redelivered: bool) -> None: ...

        def _forget_tickets(self, sender_id: int) -> None: ...

        def _check_senders(self) -> None: ...

    def renew(
        self, endpoint_id: int, now: float, session: int | None = None, transit: bool = False
    ) -> bool:
        """Extend the lease of an endpoint that just showed it is alive.

        An endpoint pickled to another process (moved) keeps its id and gets a
        new session; until the new session shows up, the process it left beats
        for it (it is in transit), and stops once told it was superseded.

        Args:
            endpoint_id: a sender or receiver id; unknown ids are ignored.
            now: the store clock.
            session: the endpoint instance speaking, when known.
            transit: the beat comes from the process ``session`` left, on its behalf.

        Returns:
            Whether a transit beat is superseded (another instance of the
            endpoint has spoken itself); such a beat renews nothing.
        """
        if session is not None:
            seen = self.seen.setdefault(endpoint_id, set())
            if not transit:
                seen.add(session)
            elif seen - {session}:
                return True
        deadline = now + self.lease_timeout
        producer = self.producers.get(endpoint_id)
        if producer is not None:
            producer.deadline = deadline
        holding = self.receivers.get(endpoint_id)
        if holding is not None:
            holding.deadline = deadline
        return False

    def expire(self, now: float) -> list[tuple[str, int]]:
        """Declare lost every endpoint whose lease ran out.

        A lost sender gets a ``producer_lost`` marker after its frames; a lost
        receiver's unacknowledged frames go back to the front of the buffer,
        marked redelivered, and it is deregistered.

        Args:
            now: the store clock.

        Returns:
            ``("producer", id)`` and ``("receiver", id)`` for each endpoint
            declared lost now, in that order.
        """
        events: list[tuple[str, int]] = []
        self.settle_closed()
        for sender_id, producer in self._leased_producers():
            if producer.deadline <= now:
                producer.status = "lost"
                self._forget_tickets(sender_id)
                silent = self.lease_timeout
                self.buffer.append(
                    Frame(
                        marker_frame(
                            self.channel_id,
                            PRODUCER_LOST,
                            sender_id,
                            f"no call or heartbeat for {silent:g}s (lease expired)",
                            {"delivered": producer.stored},
                        ),
                        producer=sender_id,
                        stream=0,
                        seq=0,
                        count=0,
                    )
                )
                events.append(("producer", sender_id))
        for reader_id, holding in list(self.receivers.items()):
            if holding.deadline <= now:
                del self.receivers[reader_id]
                if reader_id in self.resuming:  # what it delivered before the restart is unknown
                    self.uncertain = True
                if holding.frames:  # what it delivered of them is unknown, after a restart too
                    self.orphaned = True
                self._give_back(holding, redelivered=True)
                events.append(("receiver", reader_id))
        if events:
            self._check_senders()
            if not self.receivers and any(kind == "receiver" for kind, _ in events):
                self.receivers_closed = True
        return events

    def next_deadline(self) -> float | None:
        """The earliest lease deadline.

        Returns:
            The store-clock time of the next possible expiry, or ``None`` when
            no endpoint holds a lease.
        """
        deadlines = [p.deadline for _, p in self._leased_producers()]
        deadlines.extend(h.deadline for h in self.receivers.values())
        return min(deadlines, default=None)

    def _leased_producers(self) -> list[tuple[int, ProducerState]]:
        """Open senders whose lease can expire now.

        A sender heard closed before a restart is not among them while
        receivers have yet to report: whether everything it sent was
        delivered (it is closed) or not (it is lost, unless it comes back to
        replay) is known only then. Its process may well be gone, and the
        reports may take longer than its lease.
        """
        held = self.ends if self.resuming_pending() else {}
        return [
            (sender_id, producer)
            for sender_id, producer in self.producers.items()
            if producer.status == "open" and sender_id not in held
        ]
