"""A task waiting in a :class:`TurnLine` gives up its place however it stops waiting."""

from __future__ import annotations

import asyncio

import pytest

from klaw_core.runtime.channels.ray.turns import sleep_in_line
from klaw_core.runtime.channels.waiters import Entry, TurnLine
from klaw_core.runtime.errors import ChannelTimeoutError


def _head_woken_once(line: TurnLine) -> Entry:
    """Join as head and be woken once (the waiter resolves), as a head that must wait again is."""
    head: Entry = ("tx", asyncio.get_running_loop().create_future())
    assert line.join(head)
    line.wake_head()
    return head


async def test_a_head_cancelled_while_sleeping_again_passes_the_turn_on() -> None:
    """The cancellation soak found it: the head's fresh waiter stayed in line after the
    task left with the entry it held, and every task behind it waited forever."""
    loop = asyncio.get_running_loop()
    line = TurnLine(owner_loop=loop)
    head = _head_woken_once(line)
    behind: Entry = ("tx", loop.create_future())
    line.join(behind)

    async def wait_again() -> None:
        try:
            await sleep_in_line(line, head, None, None)  # resolved already: re-armed
        finally:
            line.leave(head)

    task = asyncio.create_task(wait_again())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert line.is_head(behind)
    assert behind[1].result() is True
    assert list(line) == [behind]


async def test_a_head_timing_out_while_sleeping_again_passes_the_turn_on() -> None:
    loop = asyncio.get_running_loop()
    line = TurnLine(owner_loop=loop)
    head = _head_woken_once(line)
    behind: Entry = ("tx", loop.create_future())
    line.join(behind)
    try:
        with pytest.raises(ChannelTimeoutError):
            await sleep_in_line(line, head, loop.time() + 0.01, 0.01)
    finally:
        line.leave(head)
    assert list(line) == [behind]
    assert line.is_head(behind)
