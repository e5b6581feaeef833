"""The restart protocol's registrations record, driven alone: no Ray, no asyncio.

A restarted channel actor builds its new epoch from the record its previous
incarnation kept outside itself; these tests play a first epoch, take its
record, restore a second epoch from it and check what the promise needs:
every endpoint known (clones too), ended senders ended with their end seq (a
re-run of one repeats nothing), what departed receivers delivered remembered,
and the redelivered mark when a receiver died holding messages.
"""

from __future__ import annotations

import msgspec

from klaw_core.runtime.channels.ray.restart import Registrations
from klaw_core.runtime.channels.ray.store import ChannelStore, Frame

CID = "chan"
P1, P2, P3, R1, R2 = 1, 2, 3, 11, 12
LEASE = 5.0


def first_epoch() -> ChannelStore:
    store = ChannelStore(CID, 10, lease_timeout=LEASE, now=0.0, senders=[P1], receivers=[R1])
    assert store.add_sender(P2, now=0.0)  # a clone
    assert store.add_receiver(R2, now=0.0)
    return store


def put(store: ChannelStore, producer: int, seq: int, count: int, now: float = 0.0) -> None:
    assert store.admit(producer, (producer, seq), count) == "ok"
    store.store(Frame(b"x", producer=producer, stream=producer, seq=seq, count=count), now)


def restarted(record: Registrations, now: float = 0.0) -> ChannelStore:
    store = ChannelStore(CID, 10, lease_timeout=LEASE, now=now, epoch=record.epoch + 1)
    store.restore(msgspec.msgpack.decode(msgspec.msgpack.encode(record), type=Registrations), now)
    return store


def test_the_record_names_every_endpoint_and_how_each_sender_ended() -> None:
    store = first_epoch()
    store.add_sender(P3, now=0.0)
    put(store, P2, 0, 2)
    taken = store.take(R1, 1, 100, now=0.0)
    store.ack(R1, 1, 2, now=0.0)  # P2's two messages delivered
    put(store, P1, 0, 3)
    store.close_sender(P1, end_seq=3)  # closed, not yet delivered
    store.close_sender(P3, end_seq=0)
    assert store.settle(P3, 0, 0)  # nothing to deliver: ended
    assert not store.settle(P1, 3, 0)
    record = store.registrations()
    assert record == Registrations(
        epoch=0,
        senders=(P2,),
        closing={P1: 3},
        ended={P3: 0},
        receivers=(R1, R2),
        delivered={P2: [(0, 2)]},
    )
    assert [(f.producer, f.seq) for f in taken] == [(P2, 0)]


def test_a_restored_epoch_knows_clones_waits_for_receivers_and_settles_closing_senders() -> None:
    store = first_epoch()
    put(store, P1, 0, 3)
    store.close_sender(P1, end_seq=3)
    new = restarted(store.registrations())
    assert set(new.producers) == {P1, P2}
    assert set(new.receivers) == {R1, R2}
    assert new.resuming_pending()
    new.resume(R1, {P1: [(0, 3)]}, {}, now=1.0)
    new.resume(R2, {}, {}, now=1.0)
    assert not new.resuming_pending()
    assert new.producers[P1].status == "closed"  # everything up to its end was delivered
    assert not new.senders_closed  # the clone P2 is still open


def test_a_re_run_of_a_sender_that_ended_before_the_restart_repeats_nothing() -> None:
    store = first_epoch()
    put(store, P1, 0, 4)
    store.take(R1, 1, 100, now=0.0)
    store.ack(R1, 1, 4, now=0.0)
    store.close_sender(P1, end_seq=4)
    assert store.settle(P1, 4, 0)
    new = restarted(store.registrations())
    new.resume(R1, {}, {}, now=0.0)  # R1 delivered P1's messages in the old epoch
    new.resume(R2, {}, {}, now=0.0)
    assert new.fresh(P1, 0, 4) == 0  # Ray re-ran the producer: it sends its stream again
    assert new.delivered_through(P1, 0) == 4  # ...and may forget it all
    assert new.settle(P1, 4, 0)  # its close is answered at once


def test_what_a_departed_receiver_delivered_is_not_delivered_again_after_a_restart() -> None:
    store = first_epoch()
    put(store, P1, 0, 4)
    store.take(R2, 7, 100, now=0.0)
    store.ack(R2, 7, 4, now=0.0)
    store.close_receiver(R2, 4)
    new = restarted(store.registrations())
    assert set(new.receivers) == {R1}
    new.resume(R1, {}, {}, now=0.0)
    assert new.fresh(P1, 0, 4) == 0  # the producer replays: all of it was delivered


def test_a_receiver_that_died_holding_messages_makes_the_next_epoch_mark_redelivered() -> None:
    store = first_epoch()
    put(store, P1, 0, 2)
    store.take(R2, 7, 100, now=0.0)
    store.renew(R1, 4.0)
    store.renew(P1, 4.0)
    store.renew(P2, 4.0)
    assert store.expire(now=6.0) == [("receiver", R2)]
    record = store.registrations()
    assert record.uncertain
    new = restarted(record, now=6.0)
    new.resume(R1, {}, {}, now=6.0)
    put(new, P1, 0, 2, now=6.0)  # replayed
    (taken,) = new.take(R1, 1, 100, now=6.0)
    assert taken.redelivered


def test_a_record_of_a_channel_whose_receivers_all_closed_keeps_it_closed() -> None:
    store = first_epoch()
    store.close_receiver(R1, None)
    store.close_receiver(R2, None)
    new = restarted(store.registrations())
    assert new.receivers_closed
    assert new.admit(P1, (P1, 0), 1) == "closed"
