"""Flow control at the channel actor: capacity, and puts admitted in arrival order.

Why its own module: every rule about *when a put may store* lives here, in
plain methods with no asyncio and no Ray. Capacity counts messages, buffered
and handed to receivers but not yet acknowledged; puts that do not fit wait in
line and are admitted strictly in arrival order, so no sender barges past one
that asked first (trio's and tokio's rule, kept across processes). A re-run
producer's put is recognised by (stream, seq) and stores nothing twice.

A mixin of :class:`~.store.ChannelStore`, which holds the state.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from klaw_core.runtime.channels.ray.entries import Holding
from klaw_core.runtime.channels.ray.seqranges import SeqRanges

__all__ = ["Admission"]


class Admission:
    """The flow-control half of :class:`~.store.ChannelStore` (see the module docstring).

    Example:
        >>> from klaw_core.runtime.channels.ray.store import ChannelStore
        >>> from klaw_core.runtime.channels.ray.store import Frame
        >>> store = ChannelStore("c", 2, lease_timeout=5.0, now=0.0, senders=[1, 2])
        >>> store.admit(1, ticket=(1, 0), count=2)
        'ok'
        >>> store.store(Frame(b"f", producer=1, stream=1, seq=0, count=2), now=0.0)
        >>> store.admit(2, ticket=(2, 0), count=1)  # no room: it waits
        'wait'
        >>> list(store.waiting)  # in line, in arrival order
        [(2, 2, 0)]
    """

    capacity: int | None
    waiting: deque[tuple[int, int, int]]
    buffered: int
    receivers: dict[int, Holding]
    receivers_closed: bool
    accepted: dict[int, int]
    delivered: dict[int, SeqRanges]
    ends: dict[int, int]
    settled: set[int]

    if TYPE_CHECKING:  # provided by the store

        def is_open_sender(self, sender_id: int) -> bool: ...

    def room(self) -> int | None:
        """Messages that fit now.

        Returns:
            The capacity minus :meth:`used` (at least 0); ``None`` when unbounded.
        """
        if self.capacity is None:
            return None
        return max(0, self.capacity - self.used())

    def used(self) -> int:
        """Messages counted against the capacity.

        Returns:
            Buffered messages plus those handed to receivers and not acknowledged.
        """
        return self.buffered + sum(h.held for h in self.receivers.values())

    def admit(self, sender_id: int | None, ticket: tuple[int, int], count: int) -> str:
        """Decide whether a put of ``count`` messages may store now.

        Puts that do not fit wait in arrival order: a put is admitted only when
        every put that asked before it was admitted (or gave up), so a busy
        sender cannot starve a blocked one.

        Args:
            sender_id: the sender (must be open); ``None`` for an anonymous put
                (the actor's object path).
            ticket: identifies the put across its retries, e.g. ``(stream, seq)``.
            count: messages in the put. A put larger than the capacity is
                admitted into an empty channel, or it could never be stored.

        Returns:
            ``"ok"`` (store it now; the ticket is used up), ``"wait"`` (it keeps
            its place in line), ``"closed"`` (every receiver closed) or
            ``"sender_closed"``.
        """
        if self.receivers_closed:
            self.withdraw(sender_id or 0, ticket)
            return "closed"
        if sender_id is not None and not self.is_open_sender(sender_id):
            self.withdraw(sender_id, ticket)
            return "sender_closed"
        key = (sender_id or 0, ticket[0], ticket[1])
        if sender_id is not None:
            self._replace_ticket(key)
        waiting = self.waiting
        if waiting and waiting[0] != key:
            if key not in waiting:
                waiting.append(key)
            return "wait"
        used = self.used()
        if self.capacity is None or used + count <= self.capacity or used == 0:
            if waiting:
                waiting.popleft()
            return "ok"
        if not waiting:
            waiting.append(key)
        return "wait"

    def reserve(self, sender_id: int, *, first: bool) -> str:
        """Queue a blocked sender for its turn to put; ``"ok"`` once it is first and one message fits.

        Why: a task blocked in ``send`` has no batch to put yet, but its place
        in line must count from when it blocked (tokio's rule: sends complete
        in the order requested), not from when its put will arrive. Its
        ticket ``(sender, sender, -1)`` stands in for that put: the put
        replaces it in place (:meth:`_replace_ticket`), so it is admitted first.
        On ``"ok"`` the ticket stays first until the put arrives, so nobody
        takes the room meanwhile.

        Args:
            sender_id: the open sender whose task is blocked.
            first: the call's first check (it joins the line); a later check
                finding the ticket gone means it was withdrawn.

        Returns:
            ``"ok"``, ``"wait"``, ``"withdrawn"``, ``"closed"`` (every receiver
            closed) or ``"sender_closed"``.

        Example:
            >>> from klaw_core.runtime.channels.ray.store import ChannelStore, Frame
            >>> store = ChannelStore("c", 1, lease_timeout=5.0, now=0.0, senders=[1, 2], receivers=[3])
            >>> store.store(Frame(b"f", producer=1, stream=1, seq=0, count=1), now=0.0)
            >>> store.reserve(2, first=True), store.admit(1, (1, 1), 1)  # full: 2 is first in line
            ('wait', 'wait')
            >>> _ = store.take(3, session=1, max_messages=1, now=0.0)
            >>> _ = store.ack(3, session=1, delivered=1, now=0.0)
            >>> store.reserve(2, first=False), store.admit(1, (1, 1), 1), store.admit(2, (2, 0), 1)
            ('ok', 'wait', 'ok')
        """
        key = (sender_id, sender_id, -1)
        if self.receivers_closed:
            self.withdraw(sender_id, key[1:])
            return "closed"
        if not self.is_open_sender(sender_id):
            self.withdraw(sender_id, key[1:])
            return "sender_closed"
        waiting = self.waiting
        mine = [t for t in waiting if t[:2] == key[:2]]
        if not mine:
            if not first:
                return "withdrawn"
            waiting.append(key)
        if waiting[0][:2] != key[:2]:
            return "wait"
        room = self.room()
        return "ok" if room is None or room > 0 else "wait"

    def _replace_ticket(self, key: tuple[int, int, int]) -> None:
        """Drop older tickets of the same stream: one stream has one put in flight.

        A producer instance that died waiting in line leaves its ticket; the
        instance Ray re-runs under the same stream asks with another seq. Its
        place in line is the old ticket's (it is the same producer).
        """
        waiting = self.waiting
        stale = [t for t in waiting if t[:2] == key[:2] and t != key]
        if not stale:
            return
        if key in waiting:
            for ticket in stale:
                waiting.remove(ticket)
        else:
            waiting[waiting.index(stale[0])] = key
            for ticket in stale[1:]:
                waiting.remove(ticket)

    def withdraw(self, sender_id: int, ticket: tuple[int, int]) -> None:
        """Take a put that gave up (timed out) out of the line.

        Args:
            sender_id: the sender.
            ticket: as given to :meth:`admit`.
        """
        key = (sender_id, ticket[0], ticket[1])
        if key in self.waiting:
            self.waiting.remove(key)

    def fresh(self, stream: int, seq: int, count: int) -> int | None:
        """Messages of a put ``[seq, seq + count)`` this store has not accepted from ``stream``.

        Why: a put is retried when its reply is lost, and a deterministic
        producer that Ray re-runs sends its stream again from seq 0; both are
        recognised by ``(stream, seq)`` and stored once. A stream's puts are
        stored in seq order, so what was accepted is one watermark per stream.

        Args:
            stream: the sending stream.
            seq: the put's first seq.
            count: messages in the put.

        Returns:
            How many are new (0: a repeat, answer ``"ok"`` without storing), or
            ``None`` when the put starts past the watermark (a gap: a delayed
            call of a producer instance that died; refuse it, the live
            instance sends the seqs before it first).

        Example:
            >>> from klaw_core.runtime.channels.ray.store import ChannelStore, Frame
            >>> store = ChannelStore("c", None, lease_timeout=5.0, now=0.0)
            >>> store.store(Frame(b"f", producer=1, stream=1, seq=0, count=3), now=0.0)
            >>> store.fresh(1, 0, 3), store.fresh(1, 2, 3), store.fresh(1, 4, 1)
            (0, 2, None)
        """
        accepted = self.accepted.get(stream, 0)
        ranges = self.delivered.get(stream)
        if ranges is not None:
            accepted = ranges.through(accepted)
        if self.settled and stream in self.settled:  # it ended, all delivered: a re-run repeats
            accepted = max(accepted, self.ends.get(stream, 0))
        if seq > accepted:
            return None
        skip = max(0, accepted - seq)
        if ranges is not None and skip < count:
            skip += ranges.covered_prefix(seq + skip, seq + count)
        return max(0, count - skip)

    def _forget_tickets(self, sender_id: int) -> None:
        self.waiting = deque(t for t in self.waiting if t[0] != sender_id)
