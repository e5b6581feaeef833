"""The channel actor's state machine: frames, capacity, what receivers hold, leases.

Why sans-IO: everything a Ray channel promises at the actor (flow control,
first-come-first-served admission of blocked senders, liveness, redelivery,
end of channel) is decided here, by plain methods that take the time as a
``now`` argument and never await, sleep or call Ray. The asyncio actor
(:mod:`.actor`) only drives it: it calls a method, then wakes whoever waits on
the outcome. So the rules are unit-tested without Ray, and a simulator can run
them under a fake clock (the next issue's simulation tests).

The three concerns, each in a module of its own that :class:`ChannelStore`
takes as a base (this module keeps registration, storing, handing out, end
of channel and stats; :mod:`.restart` keeps the restart protocol):

- **Flow control** (:mod:`.admission`, :meth:`ChannelStore.admit`): capacity counts messages, both
  buffered and handed to receivers but not yet acknowledged. Puts that do not
  fit queue up and are admitted strictly in arrival order (no barging).
- **Acknowledgement** (:mod:`.acks`, :meth:`ChannelStore.ack`): a receiver reports the running
  total it delivered; fully delivered frames are forgotten and their room freed.
  Until then the store keeps every frame it handed out.
- **Liveness** (:mod:`.leases`, :meth:`ChannelStore.expire`): every endpoint holds a lease,
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

from klaw_core.runtime.channels.ray.acks import Acknowledgement
from klaw_core.runtime.channels.ray.admission import Admission
from klaw_core.runtime.channels.ray.constants import ReaderInfo
from klaw_core.runtime.channels.ray.entries import (
    PRODUCER_FAILED,
    PRODUCER_LOST,
    Frame,
    Holding,
    ProducerState,
    marker_frame,
)
from klaw_core.runtime.channels.ray.leases import Leases
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


class ChannelStore(Admission, Acknowledgement, Leases, RestartProtocol):
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

    # ------------------------------------------------------------ storing (admission: .admission)

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

    # ------------------------------------------------------------ end of senders

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
