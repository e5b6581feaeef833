"""The channel actor's state machine: frames, capacity, what receivers hold, leases.

Why sans-IO: everything a Ray channel promises at the actor (flow control,
first-come-first-served admission of blocked senders, liveness, redelivery,
end of channel) is decided here, by plain methods that take the time as a
``now`` argument and never await, sleep or call Ray. The asyncio actor
(:mod:`.actor`) only drives it: it calls a method, then wakes whoever waits on
the outcome. So the rules are unit-tested without Ray, and a simulator can run
them under a fake clock (the next issue's simulation tests).

The three concerns, each in one place below:

- **Flow control** (:meth:`ChannelStore.admit`): capacity counts messages, both
  buffered and handed to receivers but not yet acknowledged. Puts that do not
  fit queue up and are admitted strictly in arrival order (no barging).
- **Acknowledgement** (:meth:`ChannelStore.ack`): a receiver reports the running
  total it delivered; fully delivered frames are forgotten and their room freed.
  Until then the store keeps every frame it handed out.
- **Liveness** (:meth:`ChannelStore.expire`): every endpoint holds a lease,
  renewed by its calls and heartbeats. A sender whose lease expires is *lost*:
  a ``producer_lost`` marker goes into the buffer after its frames. A receiver
  whose lease expires gives back what it held, marked *redelivered*, to the
  front of the buffer, and its capacity is released.

Producer-lost and producer-failed markers are ``WireError`` envelopes encoded
as frames, so receivers read them with the same decoder as data, in stream
order; they hold no messages and take no capacity.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime

from klaw_core.runtime.channels.ray.constants import ReaderInfo
from klaw_core.runtime.channels.ray.entries import (
    PRODUCER_FAILED,
    PRODUCER_LOST,
    Frame,
    Holding,
    ProducerState,
    marker_frame,
)
from klaw_core.runtime.channels.ray.restart import RestartProtocol
from klaw_core.runtime.channels.ray.seqranges import SeqRanges
from klaw_core.runtime.channels.stats import ChannelStats

__all__ = [
    "PRODUCER_FAILED",
    "PRODUCER_LOST",
    "ChannelStore",
    "Frame",
    "ProducerState",
    "marker_frame",
]


class ChannelStore(RestartProtocol):
    """The state of one channel at its actor (see the module docstring).

    Args:
        channel_id: the channel's id.
        capacity: most messages held at once (buffered plus handed out and
            not acknowledged); ``None`` for unbounded.
        lease_timeout: seconds an endpoint may stay silent before it is
            declared lost.
        now: the current time on the store's clock.
        senders: sender ids registered from the start.
        receivers: receiver ids registered from the start.
        epoch: how many times the actor restarted. From epoch 1 on, nothing
            is handed out until every receiver registered from the start has
            told what it delivered (:meth:`resume`) or its lease expired, so
            what producers replay and was delivered before is dropped.

    Example:
        >>> store = ChannelStore("c", 4, lease_timeout=5.0, now=0.0, senders=[1], receivers=[2])
        >>> store.admit(1, ticket=(1, 0), count=3), store.room()
        ('ok', 4)
        >>> store.store(Frame(b"f", producer=1, stream=1, seq=0, count=3), now=0.0)
        >>> [f.count for f in store.take(2, session=9, max_messages=10, now=1.0)]
        [3]
        >>> store.room(), store.ack(2, session=9, delivered=3, now=1.0), store.room()
        (1, True, 4)
        >>> [kind for kind, _ in store.expire(now=7.0)]  # silent for more than 5 s
        ['producer', 'receiver']
        >>> store.senders_closed, [f.count for f in store.buffer]  # a producer-lost marker
        (True, [0])
    """

    def __init__(
        self,
        channel_id: str,
        capacity: int | None,
        *,
        lease_timeout: float,
        now: float,
        senders: Iterable[int] = (),
        receivers: Iterable[int] = (),
        epoch: int = 0,
    ) -> None:
        if capacity is not None and capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.channel_id = channel_id
        self.capacity = capacity
        self.lease_timeout = lease_timeout
        self.buffer: deque[Frame] = deque()
        self.producers: dict[int, ProducerState] = {}
        self.receivers: dict[int, Holding] = {}
        self.waiting: deque[tuple[int, int, int]] = deque()  # puts waiting for room, in order
        self.buffered = 0
        self.sent = 0
        self.received = 0
        self.high_watermark = 0
        self.senders_closed = False
        self.receivers_closed = False
        self.ever_fetched: set[int] = set()
        self.accepted: dict[int, int] = {}  # stream -> every seq below it was stored once
        self.delivered: dict[int, SeqRanges] = {}  # stream -> seqs receivers delivered
        self.seen: dict[int, set[int]] = {}  # endpoint id -> sessions that spoke themselves
        self.init_restart(epoch)
        for sender_id in senders:
            self.add_sender(sender_id, now)
        for reader_id in receivers:
            self.add_receiver(reader_id, now)
        if epoch:
            self.resuming = set(self.receivers)

    # ------------------------------------------------------------ registration

    def add_sender(self, sender_id: int, now: float) -> bool:
        """Register a sender; False once every sender has ended (the channel is over).

        Args:
            sender_id: the sender's id (registering twice keeps the first).
            now: the store clock.

        Returns:
            Whether the sender may send.
        """
        if self.senders_closed:
            return False
        self.producers.setdefault(sender_id, ProducerState(now + self.lease_timeout))
        return True

    def add_receiver(self, reader_id: int, now: float, node_id: str | None = None) -> bool:
        """Register a receiver; False once every receiver has closed.

        Args:
            reader_id: the receiver's id.
            now: the store clock.
            node_id: the Ray node it runs on, if known.

        Returns:
            Whether the receiver may receive.
        """
        if self.receivers_closed:
            return False
        if reader_id not in self.receivers:
            info = ReaderInfo(reader_id, node_id, registered_at=datetime.now(UTC))
            self.receivers[reader_id] = Holding(info, now + self.lease_timeout)
        return True

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

    def is_open_sender(self, sender_id: int) -> bool:
        """Whether ``sender_id`` is registered and still open.

        Args:
            sender_id: the sender.

        Returns:
            True while it may store frames.
        """
        producer = self.producers.get(sender_id)
        return producer is not None and producer.status == "open"

    def close_sender(
        self, sender_id: int, marker: bytes | None = None, end_seq: int | None = None
    ) -> None:
        """End a sender: cleanly, or failed when ``marker`` (a ``WireError`` frame) is given.

        The marker goes into the buffer after everything the sender stored.
        When no sender is left open, receivers get end of channel once drained.

        Args:
            sender_id: the sender; unknown or already ended senders change nothing.
            marker: the producer's ``WireError`` frame, for a failure.
            end_seq: one past its last seq (receivers remember it across a restart).
        """
        if end_seq is not None and marker is None:
            self.ends[sender_id] = max(self.ends.get(sender_id, 0), end_seq)
        producer = self.producers.get(sender_id)
        if producer is None or producer.status != "open":
            return
        producer.status = "failed" if marker is not None else "closed"
        if marker is not None:
            self.buffer.append(Frame(marker, producer=sender_id, stream=0, seq=0, count=0))
        self._forget_tickets(sender_id)
        self._check_senders()

    def close_receiver(self, reader_id: int, delivered: int | None) -> None:
        """Deregister a receiver; what it holds beyond ``delivered`` goes back to the channel.

        Args:
            reader_id: the receiver.
            delivered: its delivered total for its current session; ``None``
                when it never fetched (or does not know).
        """
        holding = self.receivers.pop(reader_id, None)
        if holding is None:
            return
        if delivered is not None:
            self._acknowledge(holding, delivered)
        self._give_back(holding, redelivered=False)
        if not self.receivers:
            self.receivers_closed = True

    # ------------------------------------------------------------ flow control

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

    def store(self, frame: Frame, now: float) -> None:
        """Append an admitted frame to the buffer.

        Messages of it already accepted from its stream (see :meth:`fresh`)
        are skipped; a frame with nothing new is not stored.

        Args:
            frame: the frame (its producer's lease is renewed).
            now: the store clock.
        """
        producer = self.producers.get(frame.producer)
        if producer is not None:
            producer.deadline = now + self.lease_timeout
        accepted = self.accepted.get(frame.stream, 0)
        end = frame.seq + frame.count
        frame.skip = max(frame.skip, min(frame.count, accepted - frame.seq))
        self._trim_delivered(frame)
        if not frame.pending:
            return
        self.accepted[frame.stream] = max(accepted, end)
        self.buffer.append(frame)
        self.buffered += frame.pending
        self.sent += frame.pending
        if producer is not None:
            producer.stored += frame.pending
        used = self.used()
        if used > self.high_watermark:
            self.high_watermark = used

    # ------------------------------------------------------------ handing out

    def take(
        self,
        reader_id: int,
        session: int,
        max_messages: int,
        now: float,
        received: int | None = None,
    ) -> list[Frame]:
        """Hand whole frames, oldest first, to a receiver (at least one if any is buffered).

        The store keeps them, counted against the capacity, until the receiver
        acknowledges them.

        Args:
            reader_id: the receiver (its lease is renewed).
            session: the receiver instance; a new session takes over from the
                previous one of the same id, whose unacknowledged frames go
                back to the channel first.
            max_messages: stop once this many messages are taken.
            now: the store clock.
            received: messages this session got from earlier takes, as the
                receiver counts them; frames handed beyond it never reached
                the receiver (a reply lost with an abandoned call) and go back
                to the front of the buffer first.

        Returns:
            The frames (empty when the buffer is).
        """
        holding = self._session(reader_id, session, now)
        if holding is None or self.resuming_pending():
            return []
        if received is not None and received < holding.handed:
            self._recall(holding, holding.handed - received)
        taken: list[Frame] = []
        total = 0
        buffer = self.buffer
        while buffer and (not taken or total + buffer[0].pending <= max_messages):
            frame = buffer.popleft()
            before = frame.pending
            if self._trim_delivered(frame) and not frame.pending:
                self.buffered -= before
                continue
            self.buffered -= before - frame.pending
            frame.redelivered = frame.redelivered or self.uncertain
            taken.append(frame)
            total += frame.pending
        if taken:
            self.buffered -= total
            self.received += total
            holding.frames.extend(taken)
            holding.handed += total
            self.ever_fetched.add(session)
            self.credit_reader(reader_id, total)
        return taken

    def credit_reader(self, reader_id: int | None, count: int) -> None:
        """Count ``count`` messages as received by ``reader_id`` (for :meth:`reader_infos`).

        Args:
            reader_id: the receiver; ``None`` or unknown ids are ignored.
            count: messages it just received.
        """
        holding = self.receivers.get(reader_id) if reader_id is not None else None
        if holding is None or not count:
            return
        info = holding.info
        holding.info = ReaderInfo(
            info.reader_id,
            info.node_id,
            registered_at=info.registered_at,
            last_seen_at=datetime.now(UTC),
            total_received=info.total_received + count,
        )

    def take_values(self, max_items: int) -> Frame | None:
        """Pop the oldest frame for the object path (no receiver holds it afterwards).

        Args:
            max_items: the most values the caller wants (at least 1).

        Returns:
            The frame, or ``None`` when the buffer is empty.
        """
        if not self.buffer or max_items < 1:
            return None
        frame = self.buffer.popleft()
        self.buffered -= frame.pending
        self.received += frame.pending
        return frame

    def put_back(self, frame: Frame, taken: int) -> None:
        """Return the untaken rest of a frame popped by :meth:`take_values` to the front.

        Args:
            frame: the frame; its ``skip`` is advanced by ``taken``.
            taken: messages of it the object path delivered.
        """
        frame.skip += taken
        rest = frame.pending
        self.buffer.appendleft(frame)
        self.buffered += rest
        self.received -= rest

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

    # ------------------------------------------------------------ liveness

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

    def _check_senders(self) -> None:
        if not self.senders_closed and all(p.status != "open" for p in self.producers.values()):
            self.senders_closed = True

    # ------------------------------------------------------------ end and stats

    def ended_for(self, reader_id: int) -> bool:
        """Whether ``reader_id`` has reached end of channel.

        True once every sender ended, the buffer is empty and no *other*
        receiver holds unacknowledged messages (they could come back if it died).

        Args:
            reader_id: the asking receiver.

        Returns:
            Whether its fetch should answer end of channel.
        """
        if not self.senders_closed or self.buffer:
            return False
        return all(h.held == 0 for rid, h in self.receivers.items() if rid != reader_id)

    def stats(self) -> ChannelStats:
        """The channel's counters.

        Returns:
            The counters; messages held by receivers count as buffered, not received.
        """
        held = sum(h.held for h in self.receivers.values())
        return ChannelStats(
            buffered=self.buffered + held,
            capacity=self.capacity,
            senders=sum(1 for p in self.producers.values() if p.status == "open"),
            receivers=len(self.receivers),
            sent=self.sent,
            received=self.received - held,
            high_watermark=self.high_watermark,
            senders_closed=self.senders_closed,
            receivers_closed=self.receivers_closed,
        )

    def reader_infos(self) -> tuple[ReaderInfo, ...]:
        """What is known about each registered receiver.

        Returns:
            One :class:`~.constants.ReaderInfo` per receiver, in registration order.
        """
        return tuple(h.info for h in self.receivers.values())
