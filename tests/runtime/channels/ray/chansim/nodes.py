"""The simulated store, producers and receivers: real protocol cores, simulated calls.

The store node answers calls the way :class:`~klaw_core.runtime.channels.ray.actor.ChannelActor`
does (renew the caller's lease, acknowledge, admit, store, take), but without
awaiting: a put that does not fit answers ``"wait"`` and the producer asks
again with the same ticket. Producers encode with a real
:class:`~klaw_core.runtime.channels.ray.outbox.Outbox`; receivers decode,
check order and count deliveries with a real
:class:`~klaw_core.runtime.channels.ray.inbox.Inbox`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from klaw_core.runtime.channels.ray.constants import FrameBatch
from klaw_core.runtime.channels.ray.inbox import NOTHING, Inbox
from klaw_core.runtime.channels.ray.outbox import Outbox
from klaw_core.runtime.channels.ray.store import ChannelStore, Frame
from klaw_core.runtime.errors import ChannelError

from .world import Call, Process, ProcessBody, Sleep, World

__all__ = ["CID", "Delivery", "StoreNode", "producer_body", "receiver_body"]

CID = "sim"
LEASE = 10.0
BEAT = 1.0


@dataclass
class Delivery:
    """One message handed to a receiver's application."""

    receiver: int
    producer: int
    seq: int
    redelivered: bool
    at: float


@dataclass
class StoreNode:
    """The channel actor: a :class:`ChannelStore` answering simulated calls."""

    world: World
    capacity: int
    senders: list[int]
    receivers: list[int]
    store: ChannelStore = field(init=False)
    max_used: int = 0

    epoch: int = 0
    uncertain: bool = False  # an epoch began without a dead receiver's report

    def __post_init__(self) -> None:
        self._new_store()

    def _new_store(self) -> None:
        self.store = ChannelStore(
            CID,
            self.capacity,
            lease_timeout=LEASE,
            now=self.world.now,
            senders=self.senders,
            receivers=self.receivers,
            epoch=self.epoch,
        )

    def restart(self) -> None:
        """The actor died and Ray restarted it: its state is gone, the epoch goes up.

        As the Ray actor does, the new store starts from the registrations the
        old one kept outside itself (the driver keeps them in Ray's GCS), not
        from the endpoints the channel was created with.
        """
        record = self.store.registrations()
        self.epoch += 1
        self.store = ChannelStore(
            CID, self.capacity, lease_timeout=LEASE, now=self.world.now, epoch=self.epoch
        )
        self.store.restore(record, self.world.now)
        self.world.log(f"STORE RESTART epoch {self.epoch}: {record}")

    def handle(self, op: str, args: tuple[Any, ...]) -> Any:
        """Answer one call (see the module docstring); calls of another epoch are fenced off."""
        store = self.store
        now = self.world.now
        epoch, *rest = args
        if epoch != self.epoch and op != "beat":
            # A heartbeat is not fenced: it proves the process alive whatever
            # epoch it knows (seed 12893: a receiver whose calls were all
            # dropped for 10 s after a restart lost its lease while its
            # heartbeats, of the old epoch, were refused).
            return ("epoch", self.epoch)
        reply = getattr(self, f"_{op}")(store, now, *rest)
        self.uncertain = self.uncertain or store.uncertain
        self.max_used = max(self.max_used, store.used())
        for kind, endpoint in store.expire(now):
            self.world.log(f"store: {kind} {endpoint} lease expired")
        return reply

    def _beat(self, store: ChannelStore, now: float, endpoint: int) -> str:
        store.renew(endpoint, now)
        return "ok"

    def _put(
        self,
        store: ChannelStore,
        now: float,
        sender: int,
        data: bytes,
        seq: int,
        count: int,
        oldest: int,
    ) -> tuple[str, int]:
        store.renew(sender, now)
        store.forget_below(sender, oldest)
        through = store.delivered_through(sender, oldest)
        if store.receivers_closed:
            return ("closed", through)
        fresh = store.fresh(sender, seq, count)
        if fresh is None:
            return ("gap", through)
        if not fresh:
            return ("ok", through)
        if not store.is_open_sender(sender):
            return ("sender_closed", through)
        verdict = store.admit(sender, (sender, seq), fresh)
        if verdict == "ok":
            store.store(Frame(data, producer=sender, stream=sender, seq=seq, count=count), now)
        return (verdict, store.delivered_through(sender, oldest))

    def _close(
        self, store: ChannelStore, now: float, sender: int, end: int, oldest: int
    ) -> tuple[str, int]:
        store.renew(sender, now)
        store.forget_below(sender, oldest)
        store.close_sender(sender, end_seq=end)
        settled = store.settle(sender, end, oldest)  # as the actor's end_sender decides
        return ("ok" if settled else "wait", store.delivered_through(sender, oldest))

    def _ack(
        self, store: ChannelStore, now: float, reader: int, session: int, delivered: int
    ) -> str:
        store.ack(reader, session, delivered, now)
        return "ok"

    def _fetch(
        self,
        store: ChannelStore,
        now: float,
        reader: int,
        session: int,
        most: int,
        delivered: int,
        received: int,
        report: dict[int, list[tuple[int, int]]] | None,
        known_closed: dict[int, int],
        exclusive: bool,
    ) -> tuple[FrameBatch, dict[int, int]]:
        store.renew(reader, now, session)
        if report is not None:
            store.resume(reader, report, known_closed, now, exclusive)
        store.closure_known.update(known_closed)
        store.ends.update(known_closed)
        store.ack(reader, session, delivered, now)
        closed = store.closed_senders()
        if reader not in store.receivers:
            return FrameBatch("closed", detail="receiver closed"), closed
        taken = store.take(reader, session, most, now, received)
        if not taken:
            return FrameBatch("closed" if store.ended_for(reader) else "empty"), closed
        return FrameBatch(
            "ok",
            tuple(f.data or b"" for f in taken),
            tuple(f.stream for f in taken),
            tuple(f.count for f in taken),
            tuple(f.skip for f in taken),
            tuple(f.redelivered for f in taken),
            store.delivered_within(taken),
            exclusive=store.is_exclusive(reader),
        ), closed


def beater(world: World, endpoint: int, owner: Process, epoch: list[int]) -> ProcessBody:
    """The heartbeat thread of ``owner``: beats while it is alive."""
    incarnation = owner.incarnation
    while owner.alive and owner.incarnation == incarnation and not owner.done:
        yield Call("beat", (epoch[0], endpoint), timeout=BEAT)
        yield Sleep(BEAT)


def producer_body(world: World, pid: int, total: int, limit: int, epoch: list[int]) -> ProcessBody:
    """A deterministic producer: sends ``[pid, 0] .. [pid, total - 1]``, then closes.

    Re-run from the start after a kill, it sends the same values with the
    same seqs under the same stream id (Ray re-running a task). It keeps what
    was stored and not delivered, replays it when the store's epoch changes,
    and its close waits until everything was delivered.
    """
    rng = world.rng
    outbox: Outbox[list[int]] = Outbox(
        CID, limit=limit, batch_bytes=1 << 20, max_frame_size=1 << 24
    )
    outbox.keep_until_delivered()
    index = 0
    while index < total:
        take = min(total - index, rng.randint(1, limit))
        outbox.pending.extend([pid, i] for i in range(index, index + take))
        index += take
        data, count = outbox.take()
        if not (yield from _put(world, pid, outbox, epoch, (outbox.stored_seq, count, data))):
            return
        outbox.confirm()
        world.log(f"P{pid} stored {outbox.stored_seq - count}..{outbox.stored_seq - 1}")
    while True:
        reply = yield Call("close", (epoch[0], pid, outbox.next_seq, outbox.oldest()))
        if reply is None:
            continue
        verdict, value = reply
        if verdict == "ok":
            break
        if verdict == "epoch":
            epoch[0] = value
            if not (yield from _put(world, pid, outbox, epoch, None)):
                return
            continue
        outbox.release(value)
        yield Sleep(0.2)
    world.log(f"P{pid} closed")


Batch = tuple[int, int, bytes]  # (first seq, count, frame)


def _put(
    world: World, pid: int, outbox: Outbox[list[int]], epoch: list[int], batch: Batch | None
) -> Generator[Call | Sleep, Any, bool]:
    """Store ``batch``, or (``None``) replay every kept batch; whether the channel is still open.

    A new epoch or a gap (the store misses seqs before this batch) starts the
    replay over from the oldest kept batch, then ``batch``: replaying is
    always safe, the store drops every (producer, seq) it already has or
    delivered. A second restart in the middle of a replay is the case that
    needs the start-over (seed 11845: the replay went on from where it was and
    asked the new epoch for seqs after a gap, forever).
    """

    def everything() -> list[Batch]:
        return [*(outbox.kept or ()), *([batch] if batch is not None else [])]

    todo = everything() if batch is None else [batch]
    while todo:
        seq, size, frame = todo[0]
        reply = yield Call("put", (epoch[0], pid, frame, seq, size, outbox.oldest()))
        if reply is None:
            yield Sleep(0.05)
            continue
        verdict, value = reply
        if verdict == "epoch":
            epoch[0] = value
            world.log(f"P{pid} replays {len(outbox.kept or ())} kept batches to epoch {value}")
            todo = everything()
            continue
        if verdict == "closed":
            return False
        if verdict == "sender_closed":
            raise AssertionError(f"P{pid}: put refused: {verdict}")
        outbox.release(value)
        if verdict == "ok":
            todo.pop(0)
        elif verdict == "gap":
            todo = everything()
        else:
            yield Sleep(0.2)  # "wait" for room
    return True


@dataclass
class ReceiverLog:
    """What one receiver delivered and raised."""

    deliveries: list[Delivery] = field(default_factory=list)
    errors: list[ChannelError] = field(default_factory=list)
    ended: bool = False


def receiver_body(
    world: World, rid: int, log: ReceiverLog, most: int, epoch: list[int]
) -> ProcessBody:
    """A receiver: fetches, delivers every message, acknowledges now and then.

    When the store's epoch changes it drops what it holds undelivered and
    tells the new store what it delivered and which senders it saw close.
    """
    rng = world.rng
    inbox = Inbox(CID, list[int])
    session = rid * 1000 + 1
    report: dict[int, list[tuple[int, int]]] | None = None
    known_closed: dict[int, int] = {}
    while True:
        while True:
            try:
                value = inbox.next()
            except ChannelError as exc:  # pragma: no cover - reported by the checker
                log.errors.append(exc)
                world.log(f"R{rid} raised {exc!r}")
                continue
            if value is NOTHING:
                break
            producer, seq = value
            log.deliveries.append(Delivery(rid, producer, seq, inbox.redelivered, world.now))
            if rng.random() < 0.1:
                yield Sleep(rng.uniform(0.0, 0.3))  # the application is slow
            if rng.random() < 0.05:
                yield Call("ack", (epoch[0], rid, session, inbox.delivered))
        if inbox.eof is not None:
            log.ended = True
            world.log(f"R{rid} end of channel")
            return
        args = (rid, session, most, inbox.delivered, inbox.received, report, known_closed)
        args = (*args, inbox.exclusive)
        reply = yield Call("fetch", (epoch[0], *args))
        if reply is None:
            continue
        if reply[0] == "epoch":
            epoch[0] = reply[1]
            report = inbox.restart()
            session += 1
            world.log(f"R{rid} resumes at epoch {epoch[0]}: delivered {report}")
            continue
        batch, known_closed = reply
        report = None
        if batch.status == "closed" and batch.detail:
            raise AssertionError(f"R{rid}: {batch.detail}")
        if not inbox.accept(batch):
            yield Sleep(0.1)
