"""What both Ray endpoints share: their link, their lease, pickling, drop detection.

An endpoint holds a lease at the channel actor from the moment it exists: its
calls renew it, and the process's heartbeat thread (:mod:`.liveness`) renews it
while it is idle. Pickling *moves* an endpoint (the copy in the other process
takes over its id and lease; this one stops beating and is not reported as
dropped). An endpoint garbage-collected while still open emits a
``ResourceWarning`` and is closed for the channel, as tokio's ``Drop`` does.
"""

from __future__ import annotations

import warnings
from typing import Any

from klaw_core.runtime.channels.protocols import ClosesOnExit
from klaw_core.runtime.channels.ray import liveness
from klaw_core.runtime.channels.ray.identity import ChannelRef
from klaw_core.runtime.channels.ray.link import Link, check_portable, get_link, new_endpoint_id

__all__ = ["RayEndpoint"]


class RayEndpoint(ClosesOnExit):
    """Base of :class:`~.sender.RaySender` and :class:`~.receiver.RayReceiver`.

    Args:
        ref: the channel.
        endpoint_id: this endpoint's registered sender or reader id.

    Example:
        >>> from klaw_core.runtime.channels.ray.sender import RaySender
        >>> issubclass(RaySender, RayEndpoint)
        True
    """

    __slots__ = ("_closed", "_id", "_link", "_moved", "_stream")

    _link: Link
    _id: int
    _stream: int
    _closed: bool
    _moved: bool

    def __init__(self, ref: ChannelRef, endpoint_id: int) -> None:
        self._link = get_link(ref)
        self._id = endpoint_id
        self._stream = new_endpoint_id()  # this instance's session / sequence stream
        self._closed = False
        self._moved = False
        liveness.register(self, ref.options.heartbeat_interval)

    @property
    def ref(self) -> ChannelRef:
        """The channel this endpoint belongs to."""
        return self._link.ref

    @property
    def channel_id(self) -> str:
        """The channel's id, as written in every wire header."""
        return self._link.channel_id

    @property
    def name(self) -> str | None:
        """The name other jobs attach to the channel by, or ``None``."""
        return self._link.name

    @property
    def closed(self) -> bool:
        """True once this endpoint is closed."""
        return self._closed

    @property
    def lease_holder(self) -> tuple[Any, str, str] | None:
        """``(actor, channel_id, "id/session")`` while this endpoint holds a lease here."""
        if self._closed or self._moved or self._link.lost is not None:
            return None
        return (self._link.actor, self._link.channel_id, f"{self._id}/{self._stream}")

    def actor_died(self, detail: str) -> None:
        """Mark the channel lost for this process (called by the heartbeat thread).

        Args:
            detail: why, as Ray reported it.
        """
        if self._link.lost is None:
            self._link.lost = detail

    def actor_restarted(self, epoch: int) -> None:
        """Ray restarted the channel actor (called by the heartbeat thread); subclasses rejoin.

        Args:
            epoch: the actor's current epoch.
        """

    def __reduce__(self) -> tuple[Any, ...]:
        check_portable(self._link.value_type)
        if not self._moved and not self._closed and self._link.lost is None:
            # Until the copy speaks (a Ray worker can take seconds to start, a
            # task can wait for resources), this process beats for it.
            liveness.in_transit(
                self._link.actor,
                self._link.channel_id,
                f"{self._id}/{self._stream}",
                self._link.options.transit_timeout,
            )
        self._moved = True  # the copy takes over the id and the lease
        return (type(self), (self._link.ref, self._id))

    def _dropped(self) -> None:
        """Close for the channel without awaiting (from ``__del__``); subclasses say how."""

    def __del__(self) -> None:
        try:
            if self._closed or self._moved or self._link.lost is not None:
                return
        except AttributeError:  # __init__ did not finish
            return
        warnings.warn(
            f"{type(self).__name__} of channel {self._link.channel_id!r} was garbage-collected "
            "without close(); it counts as closed",
            ResourceWarning,
            stacklevel=1,
        )
        self._closed = True
        try:
            self._dropped()
        except Exception:
            return
