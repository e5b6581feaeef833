"""The restart protocol of a channel store: epochs, replay, receiver reports, registrations.

Why its own module: a restarted channel actor (Ray re-runs its constructor;
the buffer is gone) must deliver every message exactly once all the same.
The rules for that are plain bookkeeping, kept apart from the store's flow
control (:mod:`.store`) and, like it, sans-IO:

- **Epochs.** Each incarnation of the actor is an epoch; a call made for
  another epoch is refused, so nothing an endpoint sent to a dead incarnation
  is applied to the new one by accident.
- **Replay.** Producers keep what was stored and not yet delivered
  (:meth:`~.outbox.Outbox.keep_until_delivered`) and replay it to the new
  epoch; every put tells the oldest seq its producer still holds
  (:meth:`RestartProtocol.forget_below`), every reply says how far its
  messages were delivered (:meth:`RestartProtocol.delivered_through`).
- **Receiver reports.** Receivers tell the new epoch which seq spans they
  delivered (:meth:`RestartProtocol.resume`); it hands nothing out until every
  receiver reported or its lease expired, drops what was delivered, and marks
  what it hands out *redelivered* when a receiver died unreported.
- **Registrations** (:class:`Registrations`): which senders and receivers
  exist and which senders ended, kept outside the actor by its driver, so
  that the new epoch knows endpoints registered after the channel was made
  (clones, attached endpoints) and senders that ended before the restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

import msgspec

from klaw_core.runtime.channels.ray.entries import Holding, ProducerState
from klaw_core.runtime.channels.ray.seqranges import SeqRanges

__all__ = ["Registrations", "RestartProtocol"]


class _Counted(Protocol):
    """A stored frame, as the restart protocol sees it."""

    @property
    def stream(self) -> int: ...

    @property
    def seq(self) -> int: ...

    @property
    def skip(self) -> int: ...

    @property
    def count(self) -> int: ...


class Registrations(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """What a channel actor keeps outside itself, so that its next incarnation knows its endpoints.

    Small (ids only), and written only when an endpoint registers or ends.

    Attributes:
        epoch: the incarnation that wrote it (the next one is ``epoch + 1``).
        senders: senders still open, or ended without every message known
            delivered (failed or lost): they must rejoin or their lease runs out.
        closing: senders closed cleanly, with one past their last seq, whose
            messages are not yet all known delivered (they may come to replay).
        ended: senders closed cleanly with every message delivered, with one
            past their last seq (a re-run of one sends nothing new).
        receivers: receivers still registered.
        receivers_closed: every receiver closed (the channel takes no more).
        delivered: per stream, the seq spans known delivered when it was
            written (what receivers that left delivered: the ones still
            registered report theirs to the next epoch).
        uncertain: a receiver died holding messages it may have delivered:
            the next epoch marks what it hands out *redelivered*.

    Example:
        >>> record = Registrations(epoch=2, senders=(7,), receivers=(9,))
        >>> msgspec.msgpack.decode(msgspec.msgpack.encode(record), type=Registrations) == record
        True
    """

    epoch: int = 0
    senders: tuple[int, ...] = ()
    closing: dict[int, int] = msgspec.field(default_factory=lambda: dict[int, int]())
    ended: dict[int, int] = msgspec.field(default_factory=lambda: dict[int, int]())
    receivers: tuple[int, ...] = ()
    receivers_closed: bool = False
    delivered: dict[int, list[tuple[int, int]]] = msgspec.field(
        default_factory=lambda: dict[int, list[tuple[int, int]]]()
    )
    uncertain: bool = False


class RestartProtocol:
    """The restart half of :class:`~.store.ChannelStore` (a mixin; see the module docstring).

    Example:
        >>> from klaw_core.runtime.channels.ray.store import ChannelStore
        >>> store = ChannelStore("c", 4, lease_timeout=5.0, now=0.0, epoch=1)
        >>> store.restore(Registrations(senders=(1,), receivers=(2,)), now=0.0)
        >>> store.resuming_pending(), store.delivered_through(1, 0)
        (True, 0)
        >>> store.resume(2, {1: [(0, 5)]}, {}, now=1.0)
        >>> store.resuming_pending(), store.delivered_through(1, 0)
        (False, 5)
    """

    producers: dict[int, ProducerState]
    receivers: dict[int, Holding]
    delivered: dict[int, SeqRanges]
    accepted: dict[int, int]
    ever_fetched: set[int]
    receivers_closed: bool

    def init_restart(self, epoch: int) -> None:
        """Set up the restart state of a new store.

        Args:
            epoch: the actor's incarnation (0 for the first).
        """
        self.epoch = epoch
        self.closure_known: set[int] = set()  # closed senders a receiver has heard of
        self.reported: set[int] = set()  # receivers that delivered before a restart
        self.ends: dict[int, int] = {}  # cleanly closed sender -> one past its last seq
        self.settled: set[int] = set()  # closed senders whose every message was delivered
        self.shared = False  # a receiver before a restart was not the only one
        self.uncertain = False  # a receiver died before telling what it delivered
        self.orphaned = False  # a receiver died holding messages (it may have delivered them)
        self.resuming: set[int] = set()  # receivers the new epoch waits to hear from

    if TYPE_CHECKING:  # provided by the store

        def add_sender(self, sender_id: int, now: float) -> bool: ...

        def add_receiver(self, reader_id: int, now: float, node_id: str | None = None) -> bool: ...

        def renew(
            self, endpoint_id: int, now: float, session: int | None = None, transit: bool = False
        ) -> bool: ...

        def _forget_tickets(self, sender_id: int) -> None: ...

        def _check_senders(self) -> None: ...

    # ------------------------------------------------------------ registrations

    def registrations(self) -> Registrations:
        """The record to keep outside the actor (see :class:`Registrations`).

        Returns:
            This epoch's senders, closing and ended senders, and receivers.
        """
        senders: list[int] = []
        closing: dict[int, int] = {}
        ended: dict[int, int] = {}
        for sender_id, producer in self.producers.items():
            if sender_id in self.settled:
                ended[sender_id] = self.ends.get(sender_id, 0)
            elif producer.status == "closed" and sender_id in self.ends:
                closing[sender_id] = self.ends[sender_id]
            else:
                senders.append(sender_id)
        return Registrations(
            self.epoch,
            tuple(senders),
            closing,
            ended,
            tuple(self.receivers),
            self.receivers_closed,
            {stream: list(r.spans) for stream, r in self.delivered.items() if r.spans},
            self.uncertain or self.orphaned,
        )

    def restore(self, record: Registrations, now: float) -> None:
        """Register what an earlier epoch recorded; every receiver must then report.

        Args:
            record: the last :meth:`registrations` of the previous epoch.
            now: the store clock (every endpoint gets a fresh lease).
        """
        for sender_id in (*record.senders, *record.closing, *record.ended):
            self.add_sender(sender_id, now)
        for sender_id, end in (*record.closing.items(), *record.ended.items()):
            self.ends[sender_id] = max(self.ends.get(sender_id, 0), end)
        for sender_id in record.ended:
            self.producers[sender_id].status = "closed"
            self.settled.add(sender_id)
        for stream, spans in record.delivered.items():
            ranges = self.delivered.setdefault(stream, SeqRanges())
            for start, end in spans:
                ranges.add(start, end)
        self.uncertain = self.uncertain or record.uncertain
        self.orphaned = self.orphaned or record.uncertain
        for reader_id in record.receivers:
            self.add_receiver(reader_id, now)
        self.resuming |= set(record.receivers)
        if record.receivers_closed and not self.receivers:
            self.receivers_closed = True
        self.settle_closed()

    def settle(self, sender_id: int, end_seq: int, start: int) -> bool:
        """Whether a closed sender may forget what it kept: every message delivered.

        Unlike :meth:`close_settled`, no receiver has to have heard of the
        close: the driver keeps :meth:`registrations` outside the actor, so the
        next epoch knows a settled sender ended.

        Args:
            sender_id: the closed sender (its stream).
            end_seq: one past its last seq.
            start: its oldest kept seq.

        Returns:
            True once every seq below ``end_seq`` was delivered (or no receiver
            is left); the sender is then recorded as settled (also across a
            restart: a re-run of it is told so again).
        """
        if (
            sender_id in self.settled
            or self.receivers_closed
            or self.delivered_through(sender_id, start) >= end_seq
        ):
            self.settled.add(sender_id)
            return True
        return False

    # ------------------------------------------------------------ epochs

    def resuming_pending(self) -> bool:
        """Whether a receiver registered from the start has yet to :meth:`resume`.

        Returns:
            True while handing out must wait (after a restart only).
        """
        return bool(self.resuming) and any(r in self.receivers for r in self.resuming)

    def resume(
        self,
        reader_id: int,
        delivered: dict[int, list[tuple[int, int]]],
        closed: dict[int, int],
        now: float,
        exclusive: bool = False,
    ) -> None:
        """A receiver tells a restarted store what it delivered and which senders it saw close.

        Args:
            reader_id: the receiver (its lease is renewed).
            delivered: per stream, the seq spans it delivered to its application.
            closed: senders it heard closed cleanly, with one past their last
                seq; each counts as closed once everything up to it is
                delivered (until then it may come back to replay).
            now: the store clock.
            exclusive: it was the only receiver that ever fetched.
        """
        if delivered:
            self.reported.add(reader_id)
        self.shared = self.shared or (bool(delivered) and not exclusive) or len(self.reported) > 1
        for stream, spans in delivered.items():
            ranges = self.delivered.setdefault(stream, SeqRanges())
            for start, end in spans:
                ranges.add(start, end)
        for sender_id, end in closed.items():
            self.ends[sender_id] = max(self.ends.get(sender_id, 0), end)
        self.settle_closed()
        self.resuming.discard(reader_id)
        self.renew(reader_id, now)

    def settle_closed(self) -> None:
        """Count as closed every open sender known closed before a restart and fully delivered."""
        for sender_id, end in self.ends.items():
            producer = self.producers.get(sender_id)
            if (
                producer is not None
                and producer.status == "open"
                and self.delivered_through(sender_id, 0) >= end
            ):
                producer.status = "closed"
                self._forget_tickets(sender_id)
        self._check_senders()

    def delivered_within(self, frames: Iterable[_Counted]) -> tuple[tuple[int, int, int], ...]:
        """Seq spans inside ``frames`` delivered already, for the receiver to drop.

        Skipping covers a delivered *start* of a frame; after a restart a
        replayed frame can also hold delivered seqs further in.

        Args:
            frames: frames being handed out.

        Returns:
            ``(stream, start, end)`` spans (empty in the common case).
        """
        spans: list[tuple[int, int, int]] = []
        for frame in frames:
            ranges = self.delivered.get(frame.stream)
            if ranges is None or not frame.count:
                continue
            first, end = frame.seq + frame.skip, frame.seq + frame.count
            spans.extend(
                (frame.stream, max(a, first), min(b, end))
                for a, b in ranges.spans
                if a < end and b > first
            )
        return tuple(spans)

    def is_exclusive(self, reader_id: int) -> bool:
        """Whether ``reader_id`` is the only receiver that ever fetched, across restarts.

        Then it sees every message, and a gap in a stream's seqs means loss.

        Args:
            reader_id: the receiver asking (after a :meth:`take`).

        Returns:
            True while no other receiver has fetched from this channel.
        """
        if self.shared or self.uncertain or self.reported - {reader_id}:
            return False
        return len(self.ever_fetched) == 1

    def delivered_through(self, stream: int, start: int) -> int:
        """The first seq of ``stream`` from ``start`` on not known delivered.

        A producer keeps every message from there on, to replay it if the
        actor restarts; it forgets what is below.

        Args:
            stream: the producer's stream.
            start: its oldest kept seq.

        Returns:
            A seq at or after ``start``.
        """
        ranges = self.delivered.get(stream)
        through = start if ranges is None else ranges.through(start)
        if stream in self.settled:  # ended, every message delivered (maybe before a restart)
            through = max(through, self.ends.get(stream, 0))
        return through

    def forget_below(self, stream: int, start: int) -> None:
        """Treat seqs of ``stream`` below ``start`` as delivered (its producer kept none).

        Args:
            stream: the producer's stream.
            start: its oldest kept seq.
        """
        self.delivered.setdefault(stream, SeqRanges()).add(0, start)
        self.accepted[stream] = max(self.accepted.get(stream, 0), start)

    def closed_senders(self) -> dict[int, int]:
        """Senders that closed cleanly, with one past their last seq (receivers remember them).

        Returns:
            ``{sender_id: end_seq}``.
        """
        return dict(self.ends)

    def close_settled(self, sender_id: int, end_seq: int, start: int = 0) -> bool:
        """Whether a closed sender may forget its messages: all delivered and its end known.

        Args:
            sender_id: the closed sender (its stream).
            end_seq: one past its last seq.
            start: its oldest kept seq.

        Returns:
            True once every seq up to ``end_seq`` was delivered and a receiver
            heard it closed (or no receiver is left).
        """
        if self.receivers_closed:
            return True
        return (
            sender_id in self.closure_known and self.delivered_through(sender_id, start) >= end_seq
        )
