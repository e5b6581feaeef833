"""RayReceiver's acknowledgements, as the other receivers of the channel depend on them.

A receiver's fetched messages count as held by it at the actor until it
reports them delivered, and a competing receiver reaches end of channel only
once no other receiver holds anything. So a delivered total must reach the
actor even when the report that would carry it is held back (one report in
flight at a time) and no fetch follows it.
"""

from __future__ import annotations

import asyncio

import pytest

from klaw_core.runtime.channels import channel
from klaw_core.runtime.channels.ray import RayReceiver
from klaw_core.runtime.errors import ChannelClosedError

pytestmark = [pytest.mark.ray, pytest.mark.usefixtures("ray_cluster")]

WAIT = 20.0  # bound on any wait: a broken channel fails the test instead of hanging it


async def test_a_sibling_reaches_the_end_when_the_last_report_was_held_back() -> None:
    """The end report of a receiver that ran dry while a report was in flight is still sent.

    The window is that of a flaky hang of ``test_competing_consumers_each_item_exactly_once[ray]``
    (1 in 10-100 runs): the receiver's last messages were delivered while a
    report was on its way, its end-of-channel report was held back behind it,
    and nothing reported again: its siblings polled "empty" forever. Here the
    report on its way is started first (as when a receiver runs dry waiting
    in line), and the rest runs without yielding, so it is still in flight.
    """
    tx, rx = channel(16, backend="ray", value_type=int)
    assert isinstance(rx, RayReceiver)
    sibling = rx.clone()
    try:
        await tx.send_batch([0, 1, 2])
        await tx.close()
        async with asyncio.timeout(WAIT):
            assert await rx.recv() == 0  # one fetch brought all three, the next is in flight
            fetch = rx._fetch
            assert fetch is not None
            await asyncio.shield(fetch)  # "1 delivered", answered with end of channel
        assert await rx.recv() == 1
        rx._report_soon()  # "2 delivered" on its way (not sent before this task yields)
        assert await rx.recv() == 2
        with pytest.raises(ChannelClosedError):
            await rx.recv()  # end of channel; its report of 3 waits for the one in flight
        async with asyncio.timeout(WAIT):
            with pytest.raises(ChannelClosedError):
                await sibling.recv()  # nothing left: end of channel, not a wait forever
    finally:
        await rx.close()
        await sibling.close()
