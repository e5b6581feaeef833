"""How a blocked endpoint task waits for its turn: bounded by a deadline, in its line.

Shared by the send and receive calls of the Ray endpoints (:mod:`.sending`,
:mod:`.receiving`); the line itself is the sans-IO :class:`~..waiters.TurnLine`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, cast

from klaw_core.runtime.channels.waiters import Entry, TurnLine
from klaw_core.runtime.errors import ChannelTimeoutError

__all__ = ["bounded", "sleep_in_line"]


async def bounded(awaitable: Awaitable[Any], deadline: float | None, timeout: float | None) -> None:
    """Await ``awaitable`` until ``deadline`` (event-loop time); past it, raise ``ChannelTimeoutError``.

    Args:
        awaitable: what to wait for.
        deadline: the loop time to give up at; ``None`` waits without limit.
        timeout: the deadline as configured, named in the error.

    Raises:
        ChannelTimeoutError: the deadline passed first.

    Example:
        >>> async def main() -> str:
        ...     loop = asyncio.get_running_loop()
        ...     try:
        ...         await bounded(asyncio.sleep(10), loop.time() + 0.01, 0.01)
        ...     except ChannelTimeoutError as exc:
        ...         return str(exc)
        ...     return "woken"
        >>> asyncio.run(main())
        'channel operation timed out after 0.01s'
    """
    if deadline is None:
        await awaitable
        return
    remaining = deadline - asyncio.get_running_loop().time()
    try:
        async with asyncio.timeout(max(0.0, remaining)):
            await awaitable
    except TimeoutError:
        raise ChannelTimeoutError(timeout) from None


async def sleep_in_line(
    line: TurnLine, entry: Entry, deadline: float | None, timeout: float | None
) -> Entry:
    """Sleep in ``line`` until woken, keeping the task's place; return its current entry.

    A task whose waiter was resolved already (it was woken, acted, and must
    wait again) gets a fresh waiter in the same place.

    Args:
        line: the line the task is in.
        entry: its entry.
        deadline: the loop time to give up at (``None``: no limit).
        timeout: the deadline as configured, named in the error.

    Returns:
        The entry the task holds now.

    Raises:
        ChannelTimeoutError: the deadline passed first.

    Example:
        >>> async def main() -> bool:
        ...     loop = asyncio.get_running_loop()
        ...     line = TurnLine(owner_loop=loop)
        ...     first = ("rx", loop.create_future())
        ...     line.join(first)
        ...     loop.call_soon(line.wake_head)
        ...     return line.is_head(await sleep_in_line(line, first, None, None))
        >>> asyncio.run(main())
        True
    """
    held = entry
    if entry[1].done():
        entry = line.rearm(entry, (entry[0], asyncio.get_running_loop().create_future()))
    waiter = cast("asyncio.Future[bool]", entry[1])
    try:
        # The waiter itself, not a shield around it: a woken task runs one
        # event-loop step sooner (one message's latency). Cancelled or timed
        # out, the waiter is cancelled with it, which the line reads as done.
        await bounded(waiter, deadline, timeout)
    except BaseException:
        # Cancelled or timed out: the caller leaves the line with the entry it
        # holds, so that entry must be the one in line. Were the fresh one left
        # there, a head would keep the turn forever and every task behind it
        # would wait (tests/hardening/test_cancellation.py found it).
        if entry is not held:
            line.rearm(entry, held)
        raise
    return entry
