"""Who waits at a channel actor: parked receive calls in arrival order, and blocked tasks.

Why sans-IO: which parked ``get_frames`` call may take frames, and how many
tasks wait to send or receive across every process, are plain bookkeeping
that the asyncio actor (:mod:`.actor`) drives and a unit test can check alone.

- **Receive calls are served in arrival order** (trio's rule, across
  processes): a call that finds nothing to take parks at the back of
  :attr:`WaitingCalls.receives`; only the first parked call may take, and a
  newcomer may take only while none is parked, so a ``try_recv`` poll never
  barges past a receiver that was already waiting.
- **Blocked tasks are counted where they block.** Each process's endpoints
  keep their blocked tasks in per-process lines (:class:`~..waiters.TurnLine`)
  and report the counts of their process (keyed by its link id) whenever they
  change; ``stats()`` sums the reports of every *other* process, and the
  asking process adds its own current counts, so the totals are exact once
  the reports have arrived. A report holds for a limited time (the endpoints'
  lease), renewed while tasks still wait, so the tasks of a process that died
  stop counting. Object-path calls parked at the actor count too.
"""

from __future__ import annotations

from collections import deque

__all__ = ["WaitingCalls"]


class WaitingCalls:
    """Parked receive calls and reported waiting tasks of one channel (see the module docstring).

    Example:
        >>> calls = WaitingCalls()
        >>> first, second = object(), object()
        >>> calls.may_take(first)  # nobody parked: a newcomer may take
        True
        >>> calls.park(first); calls.park(second)
        >>> calls.may_take(second), calls.may_take(first)
        (False, True)
        >>> calls.unpark(first)  # served: the next parked call is first now
        True
        >>> calls.report(7, send=2, receive=0, until=10.0); calls.totals(exclude=None, now=1.0)
        (2, 0)
        >>> calls.totals(exclude=7, now=1.0)  # the asking process counts its own tasks itself
        (0, 0)
        >>> calls.totals(exclude=None, now=11.0)  # not renewed: its process is gone
        (0, 0)
    """

    __slots__ = ("object_gets", "object_puts", "receives", "reports")

    def __init__(self) -> None:
        self.receives: deque[object] = deque()
        self.reports: dict[int, tuple[int, int, float]] = {}  # link -> (send, receive, until)
        self.object_puts = 0  # object-path puts parked for room
        self.object_gets = 0  # object-path gets parked for an item

    # ------------------------------------------------------------ receive calls

    def may_take(self, token: object) -> bool:
        """Tell whether a receive call may take frames now.

        Args:
            token: the call (any object, compared by identity).

        Returns:
            True when nobody is parked, or ``token`` is the first parked call.
        """
        receives = self.receives
        return not receives or receives[0] is token

    def park(self, token: object) -> None:
        """Queue a receive call that found nothing, at the back (once).

        Args:
            token: the call.
        """
        if token not in self.receives:
            self.receives.append(token)

    def unpark(self, token: object) -> bool:
        """Take a receive call out of line (served, timed out, closed, woken).

        Args:
            token: the call; one not parked changes nothing.

        Returns:
            Whether it was first (the next one may take now: wake it).
        """
        receives = self.receives
        if receives and receives[0] is token:
            receives.popleft()
            return True
        if token in receives:
            receives.remove(token)
        return False

    # ------------------------------------------------------------ blocked tasks

    def report(self, link_id: int, *, send: int, receive: int, until: float) -> None:
        """Record how many tasks of one process wait to send and to receive.

        Args:
            link_id: the reporting process's link.
            send: its tasks blocked in ``send``/``send_batch``.
            receive: its tasks blocked in ``recv``/``recv_batch``/``async for``.
            until: when the report stops counting unless renewed (actor clock).
        """
        if send or receive:
            self.reports[link_id] = (send, receive, until)
        else:
            self.reports.pop(link_id, None)

    def totals(self, exclude: int | None, now: float) -> tuple[int, int]:
        """Sum the waiting tasks of every process but ``exclude``, with parked object-path calls.

        Args:
            exclude: the asking process's link id (it adds its own counts), or ``None``.
            now: the actor clock; expired reports are dropped.

        Returns:
            ``(tasks_waiting_send, tasks_waiting_receive)``.
        """
        send, receive = self.object_puts, self.object_gets
        for link_id, (s, r, until) in list(self.reports.items()):
            if until < now:
                del self.reports[link_id]
            elif link_id != exclude:
                send += s
                receive += r
        return send, receive
