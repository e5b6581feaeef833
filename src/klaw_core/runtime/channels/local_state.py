"""The state one in-process channel shares between its endpoints, and its turn rules.

No asyncio here: a waiter is any object with ``done()`` and ``set_result()``
(an ``asyncio.Future`` in :mod:`.local`, a plain stand-in in the unit tests),
so the fairness rules are tested without an event loop.

The rules (python-trio's memory channels, adapted to asyncio's cancellation):

- Blocked senders wait in one FIFO queue, blocked receivers in another, and
  are served strictly first-come first-served.
- Serving a waiter is a **grant**, handed over at the moment room (or an item)
  appears: the waiter is taken off the queue and its future resolved with
  ``True``. A granted sender owns one free slot (taken out of ``open_limit``), a granted
  receiver one buffered item (``claimed``), until its task runs: nobody can
  take them in between, so a woken waiter keeps its place and never has to
  queue again. (trio hands the *value* over instead; in asyncio a task can be
  cancelled after it was woken and before it runs, and a grant can then be
  passed on to the next waiter — a value could not be taken back.)
- A new arrival never barges: a send may only use room that is neither
  buffered nor reserved, a receive only items that are not claimed, and only
  while no task of its own endpoint holds a grant it has not used yet (its
  ``_busy`` count, which a closed endpoint also raises) — so the items of several tasks sharing one endpoint keep the
  order in which they were admitted. Until then the ``try_`` calls report
  full/empty and the blocking calls queue behind.
- ``open_limit`` is ``limit`` minus the slots granted and not used yet: the
  length up to which a newcomer may fill the buffer.
- Invariants: senders wait only while ``len(buffer) >= open_limit``;
  receivers wait only while ``len(buffer) <= claimed``. Every change that
  frees room or adds an item grants it at once (``grant_room``/``grant_items``).
- A waiter resolved with ``False`` was woken without a grant: its endpoint, or
  the other side of the channel, closed.

Items leave in the order they entered, and they enter in the order senders
were admitted, so a sender's items (also those of several tasks sharing it)
are received in order.
"""

from __future__ import annotations

import sys
from collections import deque
from typing import Any, Generic, TypeVar

from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.channels.waiters import (
    Entry,
    Waiter,
    WaiterQueue,
    count_waiting,
    wake_all,
    wake_owned_by,
)

__all__ = [
    "Entry",
    "LocalChannelState",
    "Waiter",
    "WaiterQueue",
    "count_waiting",
    "wake_all",
    "wake_owned_by",
]

T = TypeVar("T")


class LocalChannelState(Generic[T]):
    """What both ends of one in-process channel share.

    ``received`` is derived: ``sent - len(buffer)``. The endpoints read and
    write the fields directly on their fast paths; the methods are the slow
    paths that hand out grants.

    Example:
        >>> state = LocalChannelState(2, None)
        >>> state.buffer.extend([1, 2]); state.sent = 2
        >>> state.snapshot().buffered, state.describe()
        (2, 'capacity=2 buffered=2 senders=1 receivers=1')
    """

    __slots__ = (
        "buffer",
        "capacity",
        "claimed",
        "high_watermark",
        "limit",
        "name",
        "open_limit",
        "receivers",
        "recv_waiters",
        "send_waiters",
        "senders",
        "sent",
        "timeout",
    )

    def __init__(
        self, capacity: int | None, name: str | None, timeout: float | None = None
    ) -> None:
        self.buffer: deque[T] = deque()
        self.name = name
        self.capacity = capacity
        self.limit = sys.maxsize if capacity is None else capacity
        self.timeout = timeout
        self.senders = 1
        self.receivers = 1
        self.sent = 0
        self.high_watermark = 0
        self.open_limit = self.limit  # minus the free slots granted to woken senders not run yet
        self.claimed = 0  # buffered items granted to woken receivers that have not run yet
        self.send_waiters = WaiterQueue()  # (endpoint, waiter); the endpoint's ``_busy``
        self.recv_waiters = WaiterQueue()  # counts the grants its tasks hold and have not used

    # ------------------------------------------------------------ grants

    def grant_room(self) -> None:
        """Grant free slots to waiting senders, oldest first, one slot each."""
        waiters = self.send_waiters
        buffer = self.buffer
        while waiters and len(buffer) < self.open_limit:
            owner, waiter = waiters.popleft()
            if not waiter.done():  # a cancelled one is skipped
                self.open_limit -= 1
                owner._busy += 1
                waiter.set_result(True)

    def grant_items(self) -> None:
        """Grant unclaimed buffered items to waiting receivers, oldest first, one item each."""
        waiters = self.recv_waiters
        buffer = self.buffer
        while waiters and len(buffer) > self.claimed:
            owner, waiter = waiters.popleft()
            if not waiter.done():
                self.claimed += 1
                owner._busy += 1
                waiter.set_result(True)

    def release_slot(self, owner: Any) -> None:
        """A granted sender will not use its slot (cancelled or closed): pass it on.

        Args:
            owner: the endpoint whose task held the grant.
        """
        self.open_limit += 1
        owner._busy -= 1
        if self.send_waiters:
            self.grant_room()

    def release_item(self, owner: Any) -> None:
        """A granted receiver will not take its item (cancelled or closed): pass it on.

        Args:
            owner: the endpoint whose task held the grant.
        """
        self.claimed -= 1
        owner._busy -= 1
        if self.recv_waiters:
            self.grant_items()

    def added(self, count: int) -> None:
        """Account for items just appended; grant them to waiting receivers.

        Args:
            count: how many were appended to ``buffer``.
        """
        self.sent += count
        if len(self.buffer) > self.high_watermark:
            self.high_watermark = len(self.buffer)
        if self.recv_waiters:
            self.grant_items()

    def taken(self) -> None:
        """After items left the buffer: grant the room, and end waiting receivers' wait
        once the last claimed item is gone and no sender is left."""
        if self.send_waiters:
            self.grant_room()
        if not self.buffer and not self.senders and self.recv_waiters:
            wake_all(self.recv_waiters)

    # ------------------------------------------------------------ endpoints leaving

    def sender_left(self, owner: object) -> None:
        """A sender closed (or was dropped): wake its blocked sends; at the last one,
        end the channel for waiting receivers once nothing is buffered.

        Args:
            owner: the endpoint that left (its queued waiters are woken).
        """
        self.senders -= 1
        wake_owned_by(self.send_waiters, owner)
        if not self.senders and not self.buffer:
            wake_all(self.recv_waiters)

    def receiver_left(self, owner: object) -> None:
        """A receiver closed (or was dropped): wake its blocked receives; at the last
        one, every blocked send fails.

        Args:
            owner: the endpoint that left (its queued waiters are woken).
        """
        self.receivers -= 1
        wake_owned_by(self.recv_waiters, owner)
        if not self.receivers:
            wake_all(self.send_waiters)

    # ------------------------------------------------------------ reporting

    def snapshot(self) -> ChannelStats:
        """Return the counters as a :class:`ChannelStats`.

        Returns:
            A new snapshot; granted waiters that have not run yet no longer count
            as waiting.
        """
        buffered = len(self.buffer)
        return ChannelStats(
            buffered=buffered,
            capacity=self.capacity,
            senders=self.senders,
            receivers=self.receivers,
            sent=self.sent,
            received=self.sent - buffered,
            high_watermark=self.high_watermark,
            senders_closed=self.senders == 0,
            receivers_closed=self.receivers == 0,
            tasks_waiting_send=count_waiting(self.send_waiters),
            tasks_waiting_receive=count_waiting(self.recv_waiters),
        )

    def describe(self) -> str:
        """Return the one-line description that endpoints show in ``repr``.

        Returns:
            Name, capacity, buffered count and endpoint counts.
        """
        capacity = "unbounded" if self.capacity is None else f"capacity={self.capacity}"
        label = "" if self.name is None else f"name={self.name!r} "
        return (
            f"{label}{capacity} buffered={len(self.buffer)} "
            f"senders={self.senders} receivers={self.receivers}"
        )
