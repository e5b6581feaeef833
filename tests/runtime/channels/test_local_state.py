"""The in-process channel's turn rules, driven without an event loop.

``LocalChannelState`` only needs waiters with ``done()``/``set_result()``; a
plain stand-in records the order in which waiters are granted or woken.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from klaw_core.runtime.channels.local_state import (
    Entry,
    LocalChannelState,
    count_waiting,
    wake_owned_by,
)


class FakeWaiter:
    """A waiter that records its result; ``cancelled`` makes it count as done."""

    def __init__(self, name: str, log: list[tuple[str, bool]]) -> None:
        self.name = name
        self.log = log
        self.result: bool | None = None
        self.cancelled = False

    def done(self) -> bool:
        return self.cancelled or self.result is not None

    def set_result(self, result: bool, /) -> None:
        assert not self.done(), f"{self.name} resolved twice"
        self.result = result
        self.log.append((self.name, result))


class Owner:
    """An endpoint as the state sees it: the grants its tasks hold."""

    def __init__(self) -> None:
        self._busy = 0


def queue(
    waiters: deque[Entry], owner: object, names: str, log: list[tuple[str, bool]]
) -> list[FakeWaiter]:
    made = [FakeWaiter(name, log) for name in names]
    waiters.extend((owner, w) for w in made)
    return made


def full_state(capacity: int = 2) -> LocalChannelState[Any]:
    state: LocalChannelState[Any] = LocalChannelState(capacity, None)
    state.buffer.extend(range(capacity))
    state.sent = capacity
    return state


def test_room_is_granted_to_senders_first_come_first_served_one_slot_each() -> None:
    state, log, tx = full_state(), [], Owner()
    queue(state.send_waiters, tx, "abc", log)
    state.buffer.popleft()
    state.grant_room()
    assert log == [("a", True)]
    assert state.open_limit == 1
    state.buffer.popleft()
    state.grant_room()
    assert log == [("a", True), ("b", True)]
    assert (state.open_limit, tx._busy, len(state.send_waiters)) == (0, 2, 1)
    state.grant_room()  # no room left: c keeps waiting
    assert len(log) == 2


def test_a_released_slot_goes_to_the_next_sender_and_cancelled_ones_are_skipped() -> None:
    state, log, tx = full_state(1), [], Owner()
    _, b, _ = queue(state.send_waiters, tx, "abc", log)
    b.cancelled = True
    state.buffer.popleft()
    state.grant_room()
    assert log == [("a", True)]
    state.release_slot(tx)  # a was cancelled after its grant
    assert log == [("a", True), ("c", True)]
    assert (state.open_limit, tx._busy) == (0, 1)
    assert not state.send_waiters


def test_items_are_granted_to_receivers_first_come_first_served_and_claims_block_newcomers() -> (
    None
):
    state: LocalChannelState[Any] = LocalChannelState(4, None)
    log: list[tuple[str, bool]] = []
    rx = Owner()
    queue(state.recv_waiters, rx, "ab", log)
    state.buffer.append("x")
    state.added(1)
    assert log == [("a", True)]
    assert state.claimed == 1  # the item is a's until it runs
    state.buffer.append("y")
    state.added(1)
    assert log == [("a", True), ("b", True)]
    assert (state.claimed, state.sent, state.high_watermark) == (2, 2, 2)
    state.release_item(rx)  # a cancelled: nobody waits, the item is free again
    assert (state.claimed, rx._busy) == (1, 1)


def test_closing_one_endpoint_wakes_only_its_own_waiters_in_place() -> None:
    state, log = full_state(), []
    mine, other = object(), object()
    queue(state.send_waiters, mine, "a", log)
    queue(state.send_waiters, other, "b", log)
    queue(state.send_waiters, mine, "c", log)
    state.senders = 2
    state.sender_left(mine)
    assert log == [("a", False), ("c", False)]
    assert [w.name for _, w in state.send_waiters] == ["b"]  # type: ignore[attr-defined]
    assert state.senders == 1


def test_end_of_channel_waits_for_claimed_items_to_be_taken() -> None:
    state: LocalChannelState[Any] = LocalChannelState(4, None)
    log: list[tuple[str, bool]] = []
    rx = Owner()
    queue(state.recv_waiters, rx, "a", log)
    state.buffer.append(1)
    state.added(1)  # granted to a
    queue(state.recv_waiters, rx, "b", log)
    state.sender_left("tx")  # the last sender: 1 is still claimed by a
    assert log == [("a", True)]
    state.buffer.popleft()
    state.claimed -= 1
    state.taken()  # a took it: b learns of the end
    assert log == [("a", True), ("b", False)]


def test_the_last_receiver_leaving_wakes_every_blocked_sender() -> None:
    state, log = full_state(), []
    queue(state.send_waiters, "tx", "ab", log)
    queue(state.recv_waiters, "rx", "r", log)
    state.receiver_left("rx")
    assert log == [("r", False), ("a", False), ("b", False)]
    assert state.snapshot().receivers_closed


def test_wake_owned_by_with_no_waiter_of_that_owner_changes_nothing() -> None:
    log: list[tuple[str, bool]] = []
    waiters: deque[Entry] = deque()
    queue(waiters, "x", "ab", log)
    wake_owned_by(waiters, "y")
    assert (log, len(waiters)) == ([], 2)


def test_snapshot_counts_only_tasks_still_waiting() -> None:
    state, log = full_state(), []
    a, _ = queue(state.send_waiters, "tx", "ab", log)
    queue(state.recv_waiters, "rx", "r", log)
    a.cancelled = True
    stats = state.snapshot()
    assert (stats.tasks_waiting_send, stats.tasks_waiting_receive) == (1, 1)
    assert count_waiting(state.send_waiters) == 1
    assert (stats.buffered, stats.sent, stats.received) == (2, 2, 0)
