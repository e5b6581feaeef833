"""The queues of blocked tasks, driven without an event loop (``waiters.py``).

A plain stand-in waiter records when it is woken and with what, so the turn
rules (first come first served, a woken head keeps its place, no barging) are
checked alone.
"""

from __future__ import annotations

from klaw_core.runtime.channels.waiters import TurnLine, WaiterQueue


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


def entries(
    owner: object, names: str, log: list[tuple[str, bool]]
) -> list[tuple[object, FakeWaiter]]:
    return [(owner, FakeWaiter(name, log)) for name in names]


def test_the_turn_passes_in_arrival_order_one_task_at_a_time() -> None:
    log: list[tuple[str, bool]] = []
    line = TurnLine()
    a, b, c = entries("rx", "abc", log)
    assert [line.join(e) for e in (a, b, c)] == [True, False, False]
    assert log == []  # the head acts at once; the others sleep
    line.leave(a)
    assert log == [("b", True)]
    assert line.is_head(b)
    assert not line.is_head(c)
    line.leave(b)
    line.leave(c)
    assert log == [("b", True), ("c", True)]
    assert not line


def test_a_woken_head_keeps_its_place_when_it_must_wait_again() -> None:
    log: list[tuple[str, bool]] = []
    line = TurnLine()
    a, b = entries("rx", "ab", log)
    line.join(a)
    line.join(b)
    line.wake_head()  # something arrived: the head looks
    assert log == [("a", True)]
    line.wake_head()  # already woken: not woken twice
    fresh = ("rx", FakeWaiter("a2", log))
    assert line.rearm(a, fresh) is fresh  # nothing for it: it sleeps again, still first
    assert line.is_head(fresh)
    line.wake_head()
    assert log[-1] == ("a2", True)
    assert line.rearm(("rx", FakeWaiter("gone", log)), fresh) is not fresh  # not in line


def test_a_task_leaving_from_the_middle_wakes_nobody() -> None:
    log: list[tuple[str, bool]] = []
    line = TurnLine()
    a, b, c = entries("rx", "abc", log)
    for entry in (a, b, c):
        line.join(entry)
    line.leave(b)  # cancelled or timed out while waiting
    line.leave(b)  # leaving twice changes nothing
    assert log == []
    assert [e[1].name for e in line] == ["a", "c"]
    assert line.waiting() == 2


def test_closing_an_endpoint_wakes_its_tasks_to_look_again() -> None:
    log: list[tuple[str, bool]] = []
    line = TurnLine()
    mine = entries("rx", "ab", log)
    other = entries("rx2", "c", log)
    for entry in (mine[0], other[0], mine[1]):
        line.join(entry)
    line.close_for("rx")
    assert log == [("a", False), ("b", False)]
    assert line.waiting() == 3  # they leave the line themselves
    line.wake_all(True)
    assert log[-1] == ("c", True)


def test_a_grant_queue_wakes_and_unqueues_a_closed_endpoints_tasks() -> None:
    log: list[tuple[str, bool]] = []
    queue = WaiterQueue(entries("tx", "ab", log) + entries("tx2", "c", log))
    queue[1][1].cancelled = True  # type: ignore[attr-defined]
    assert queue.waiting() == 2
    queue.close_for("tx")
    assert log == [("a", False)]
    assert [e[1].name for e in queue] == ["c"]  # type: ignore[attr-defined]
    queue.wake_all()
    assert log[-1] == ("c", False)
    assert not queue
