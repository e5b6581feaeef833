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

    def __post_init__(self) -> None:
        self.store = ChannelStore(
            CID,
            self.capacity,
            lease_timeout=LEASE,
            now=0.0,
            senders=self.senders,
            receivers=self.receivers,
        )

    def handle(self, op: str, args: tuple[Any, ...]) -> Any:
        """Answer one call (see the module docstring)."""
        store = self.store
        now = self.world.now
        reply = getattr(self, f"_{op}")(store, now, *args)
        self.max_used = max(self.max_used, store.used())
        for kind, endpoint in store.expire(now):
            self.world.log(f"store: {kind} {endpoint} lease expired")
        return reply

    def _beat(self, store: ChannelStore, now: float, endpoint: int) -> str:
        store.renew(endpoint, now)
        return "ok"

    def _put(
        self, store: ChannelStore, now: float, sender: int, data: bytes, seq: int, count: int
    ) -> str:
        store.renew(sender, now)
        fresh = store.fresh(sender, seq, count)
        if fresh is None:
            return "gap"
        if not fresh:
            return "ok"
        if not store.is_open_sender(sender):
            return "sender_closed"
        verdict = store.admit(sender, (sender, seq), fresh)
        if verdict == "ok":
            store.store(Frame(data, producer=sender, stream=sender, seq=seq, count=count), now)
        return verdict

    def _close(self, store: ChannelStore, now: float, sender: int) -> str:
        store.close_sender(sender)
        return "ok"

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
    ) -> FrameBatch:
        store.renew(reader, now, session)
        store.ack(reader, session, delivered, now)
        if reader not in store.receivers:
            return FrameBatch("closed", detail="receiver closed")
        taken = store.take(reader, session, most, now, received)
        if not taken:
            return FrameBatch("closed" if store.ended_for(reader) else "empty")
        return FrameBatch(
            "ok",
            tuple(f.data or b"" for f in taken),
            tuple(f.stream for f in taken),
            tuple(f.count for f in taken),
            tuple(f.skip for f in taken),
            tuple(f.redelivered for f in taken),
            exclusive=len(store.ever_fetched) == 1,
        )


def beater(world: World, endpoint: int, owner: Process) -> ProcessBody:
    """The heartbeat thread of ``owner``: beats while it is alive."""
    incarnation = owner.incarnation
    while owner.alive and owner.incarnation == incarnation and not owner.done:
        yield Call("beat", (endpoint,), timeout=BEAT)
        yield Sleep(BEAT)


def producer_body(world: World, pid: int, total: int, limit: int) -> ProcessBody:
    """A deterministic producer: sends ``[pid, 0] .. [pid, total - 1]``, then closes.

    Re-run from the start after a kill, it sends the same values with the
    same seqs under the same stream id (Ray re-running a task).
    """
    rng = world.rng
    outbox: Outbox[list[int]] = Outbox(
        CID, limit=limit, batch_bytes=1 << 20, max_frame_size=1 << 24
    )
    index = 0
    while index < total:
        take = min(total - index, rng.randint(1, limit))
        outbox.pending.extend([pid, i] for i in range(index, index + take))
        index += take
        data, count = outbox.take()
        seq = outbox.stored_seq
        while True:
            reply = yield Call("put", (pid, data, seq, count))
            if reply == "ok":
                outbox.confirm()
                world.log(f"P{pid} stored {seq}..{seq + count - 1}")
                break
            if reply in ("sender_closed", "closed"):
                raise AssertionError(f"P{pid}: put refused: {reply}")
            yield Sleep(0.05 if reply is None else 0.2)  # timeout or "wait"/"gap": ask again
    while (yield Call("close", (pid,))) != "ok":
        pass
    world.log(f"P{pid} closed")


@dataclass
class ReceiverLog:
    """What one receiver delivered and raised."""

    deliveries: list[Delivery] = field(default_factory=list)
    errors: list[ChannelError] = field(default_factory=list)
    ended: bool = False


def receiver_body(world: World, rid: int, log: ReceiverLog, most: int) -> ProcessBody:
    """A receiver: fetches, delivers every message, acknowledges now and then."""
    rng = world.rng
    inbox = Inbox(CID, list[int])
    session = rid * 1000 + 1
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
                yield Call("ack", (rid, session, inbox.delivered))
        if inbox.eof is not None:
            log.ended = True
            world.log(f"R{rid} end of channel")
            return
        reply = yield Call("fetch", (rid, session, most, inbox.delivered, inbox.received))
        if reply is None:
            continue
        if reply.status == "closed" and reply.detail:
            raise AssertionError(f"R{rid}: {reply.detail}")
        if not inbox.accept(reply):
            yield Sleep(0.1)
