"""Queues of blocked tasks, in the order they blocked: the fairness rules both backends share.

No asyncio here: a waiter is any object with ``done()`` and ``set_result()``
(an ``asyncio.Future[bool]`` in the endpoints, a plain stand-in in the unit
tests), so the rules are tested without an event loop. Resolving a waiter with
``True`` gives it its turn; ``False`` tells it to look again because its
endpoint, or the other side of the channel, closed.

Two shapes of the same queue:

- :class:`WaiterQueue`: the local channel *grants* room or an item to as many
  waiters as there is room or items for, popping them off the front
  (:mod:`.local_state` keeps the counts).
- :class:`TurnLine`: the Ray endpoints cannot count what a turn may take (the
  room is at the actor, the items are still in undecoded frames), so one task
  at a time holds the turn: the **head** of the line. It keeps its place while
  it waits for the actor, takes what it came for when it runs (so a
  cancellation never loses an item or admits a value), and passes the turn to
  the next task when it leaves. A newcomer never barges: while the line is not
  empty, ``try_send``/``try_recv`` report full/empty and blocking calls queue.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

__all__ = [
    "Entry",
    "TurnLine",
    "Waiter",
    "WaiterQueue",
    "count_waiting",
    "wake_all",
    "wake_owned_by",
]


class Waiter(Protocol):
    """What a queue needs of a waiting task's wake-up (``asyncio.Future[bool]`` has it).

    Example:
        >>> import asyncio
        >>> loop = asyncio.new_event_loop()
        >>> waiter = loop.create_future()  # what the endpoints queue
        >>> waiter.set_result(True)
        >>> waiter.done(), waiter.result()
        (True, True)
        >>> loop.close()
    """

    def done(self) -> bool:
        """Tell whether the waiter was already resolved or cancelled.

        Returns:
            True once resolved or cancelled.
        """
        ...

    def set_result(self, result: bool, /) -> None:
        """Wake the waiter.

        Args:
            result: ``True`` with a turn (or grant), ``False`` to notice a close.
        """
        ...


Entry = tuple[Any, Waiter]
"""A queued waiter: ``(endpoint, waiter)``; the endpoint is matched by identity on close."""


def wake_all(waiters: deque[Entry], granted: bool = False) -> None:
    """Resolve every queued waiter (with ``False``: to notice a close) and empty the queue.

    Args:
        waiters: the queue.
        granted: the result each waiter gets.

    Example:
        >>> import asyncio
        >>> loop = asyncio.new_event_loop()
        >>> queue = WaiterQueue([("tx", loop.create_future())])
        >>> wake_all(queue); len(queue)
        0
        >>> loop.close()
    """
    while waiters:
        _, waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(granted)


def wake_owned_by(waiters: deque[Entry], owner: object) -> None:
    """Resolve with ``False`` and unqueue the waiters of one endpoint (it was closed).

    Args:
        waiters: the queue.
        owner: the closed endpoint.

    Example:
        >>> import asyncio
        >>> loop = asyncio.new_event_loop()
        >>> queue = WaiterQueue([("a", loop.create_future()), ("b", loop.create_future())])
        >>> wake_owned_by(queue, "a"); [owner for owner, _ in queue]
        ['b']
        >>> loop.close()
    """
    if not any(entry[0] is owner for entry in waiters):
        return
    keep = [entry for entry in waiters if entry[0] is not owner]
    for entry in waiters:
        if entry[0] is owner and not entry[1].done():
            entry[1].set_result(False)
    waiters.clear()
    waiters.extend(keep)


def count_waiting(waiters: deque[Entry]) -> int:
    """How many queued waiters are still waiting (a cancelled one leaves when its task runs).

    Args:
        waiters: the queue.

    Returns:
        The number of entries whose waiter is not resolved yet.

    Example:
        >>> import asyncio
        >>> loop = asyncio.new_event_loop()
        >>> count_waiting(WaiterQueue([("tx", loop.create_future())]))
        1
        >>> loop.close()
    """
    return sum(1 for _, waiter in waiters if not waiter.done())


class WaiterQueue(deque[Entry]):
    """A FIFO of blocked tasks (a ``deque``, so emptiness checks stay C-fast on hot paths).

    Example:
        >>> import asyncio
        >>> loop = asyncio.new_event_loop()
        >>> queue = WaiterQueue()
        >>> queue.append(("rx", loop.create_future()))
        >>> queue.waiting(), bool(queue)
        (1, True)
        >>> queue.close_for("rx"); bool(queue)
        False
        >>> loop.close()
    """

    __slots__ = ()

    def waiting(self) -> int:
        """Return how many queued tasks still wait (anyio's ``tasks_waiting_*``).

        Returns:
            Entries whose waiter is not resolved yet.
        """
        return count_waiting(self)

    def close_for(self, owner: object) -> None:
        """Wake and unqueue the tasks of ``owner`` (with ``False``), which was closed.

        Args:
            owner: the closed endpoint.
        """
        wake_owned_by(self, owner)

    def wake_all(self, granted: bool = False) -> None:
        """Resolve every queued waiter and empty the queue.

        Args:
            granted: the result each waiter gets (``False``: to notice a close).
        """
        wake_all(self, granted)


class TurnLine(WaiterQueue):
    """A FIFO of blocked tasks in which the head holds the turn until it leaves.

    The driver of a task (an endpoint's coroutine) ``join``\\ s the line, acts
    only while it is the head, sleeps on its waiter otherwise (or while the
    head waits for the channel), and ``leave``\\ s it exactly once, whatever
    happened. The head's entry is replaced (:meth:`rearm`) each time it sleeps
    again, so it keeps its place.

    Args:
        owner_loop: what the line belongs to (the endpoints keep one line per
            event loop); never used by the line itself.

    Example:
        >>> import asyncio
        >>> loop = asyncio.new_event_loop()
        >>> line = TurnLine()
        >>> a, b = ("tx", loop.create_future()), ("tx", loop.create_future())
        >>> line.join(a), line.join(b)
        (True, False)
        >>> line.leave(a)  # a took its turn: b is woken, now the head
        >>> b[1].result(), line.is_head(b)
        (True, True)
        >>> loop.close()
    """

    __slots__ = ("owner_loop",)

    def __init__(self, entries: Any = (), owner_loop: object = None) -> None:
        super().__init__(entries)
        self.owner_loop = owner_loop

    def join(self, entry: Entry) -> bool:
        """Queue a task at the back.

        Args:
            entry: ``(endpoint, waiter)``.

        Returns:
            Whether it is the head (it may act at once).
        """
        self.append(entry)
        return len(self) == 1

    def is_head(self, entry: Entry) -> bool:
        """Tell whether ``entry`` holds the turn.

        Args:
            entry: an entry given to :meth:`join` (or :meth:`rearm`).

        Returns:
            True when it is first in line.
        """
        return bool(self) and self[0] is entry

    def rearm(self, entry: Entry, fresh: Entry) -> Entry:
        """Replace a task's entry with one holding a new waiter, in the same place.

        Args:
            entry: its current entry (its waiter was resolved).
            fresh: ``(endpoint, new waiter)``.

        Returns:
            ``fresh``, or ``entry`` when it is no longer in line.
        """
        for index, queued in enumerate(self):
            if queued is entry:
                self[index] = fresh
                return fresh
        return entry

    def wake_head(self) -> None:
        """Tell the head to look again (what it waits for may have arrived)."""
        if self:
            waiter = self[0][1]
            if not waiter.done():
                waiter.set_result(True)

    def leave(self, entry: Entry) -> None:
        """Take a task out of the line (done, cancelled, timed out or failed).

        When it was the head, the next task gets the turn: it is woken.

        Args:
            entry: its entry; one already gone changes nothing.
        """
        if self and self[0] is entry:
            self.popleft()
            self.wake_head()
            return
        for index, queued in enumerate(self):
            if queued is entry:
                del self[index]
                return

    def close_for(self, owner: object) -> None:
        """Wake the tasks of ``owner`` (closed); they leave the line themselves.

        Args:
            owner: the closed endpoint.
        """
        for queued_owner, waiter in self:
            if queued_owner is owner and not waiter.done():
                waiter.set_result(False)

    def wake_all(self, granted: bool = False) -> None:
        """Wake every task so that it looks again (they leave the line themselves).

        Args:
            granted: the result each waiter gets.
        """
        for _, waiter in self:
            if not waiter.done():
                waiter.set_result(granted)

    def waiting(self) -> int:
        """Return how many tasks are in line (the head included: it is still blocked).

        Returns:
            The line's length.
        """
        return len(self)
