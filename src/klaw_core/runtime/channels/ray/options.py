"""Tuning of a Ray channel's endpoints: batching, prefetch, deadlines, leases.

Kept apart from the endpoints so that the value object naming a channel
(:class:`~.identity.ChannelRef`) and every module can import it without cycles.
"""

from __future__ import annotations

import msgspec

from klaw_core._wirecore import DEFAULT_MAX_FRAME_SIZE

__all__ = ["RayChannelOptions"]


class RayChannelOptions(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """Tuning of a Ray channel's endpoints; travels with pickled endpoints.

    Attributes:
        batch_size: most messages a sender packs into one frame and actor call.
        batch_bytes: target size of one batch frame; a sender lowers its batch
            size when messages are large, so one call stays near this size.
            Ray stores an argument over 100 KiB in its object store at a cost
            of about 2 ms per object here, so frames of a few MiB amortise it
            (4 MiB vs 1 MiB: 0.99M vs 0.86M msg/s in ``bench_ray_channel``).
        linger: seconds a sender waits for a batch to fill before sending it
            (``0``, the default: natural batching, a batch leaves as soon as
            no call of this sender is in flight and grows only while one is).
        fetch_size: most messages a receiver fetches in one call.
        poll_interval: longest a call waits inside the actor before returning
            to the endpoint (which then checks the actor is alive and waits again).
        reply_timeout: seconds allowed for a reply beyond that wait; after it
            the actor is declared lost.
        max_frame_size: largest frame, in bytes.
        lease_timeout: seconds the actor waits without a call or heartbeat
            from an endpoint before declaring it lost.
        heartbeat_interval: seconds between heartbeats of an idle endpoint
            (sent from a background thread; keep it well under ``lease_timeout``).
        transit_timeout: longest a pickled endpoint may take to reach its new
            process (a Ray task waiting for resources, a worker starting)
            while the process it left beats for it; after that, its lease runs.
        timeout: the default deadline, in seconds, of a blocking ``send``,
            ``send_batch``, ``recv``, ``recv_batch`` (without a timeout) and
            ``async for``: past it the call raises
            :class:`~klaw_core.runtime.errors.ChannelTimeoutError` and the
            channel is as if it had not been made. ``None``: no deadline
            (``channel()`` passes the configured ``channels.timeout``).
        close_wait: longest ``close()`` of a sender waits until every message
            it stored was delivered, so that it can still replay them if the
            channel actor restarts meanwhile (``0``, the default: it returns
            once the close is recorded; what it stored and was not delivered
            is then lost if the actor restarts, and named in the error).
            Never waited for in a process holding an open receiver of the
            channel (it may be the one to deliver them).

    Example:
        >>> RayChannelOptions(batch_size=512).linger
        0.0
    """

    batch_size: int = 16_384
    batch_bytes: int = 4 << 20
    linger: float = 0.0
    fetch_size: int = 65_536
    poll_interval: float = 1.0
    reply_timeout: float = 30.0
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    lease_timeout: float = 5.0
    heartbeat_interval: float = 1.0
    transit_timeout: float = 300.0
    timeout: float | None = None
    close_wait: float = 0.0

    def __post_init__(self) -> None:
        for field in ("batch_size", "batch_bytes", "fetch_size", "max_frame_size"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be at least 1, got {getattr(self, field)}")
        for field in ("linger", "poll_interval", "reply_timeout", "close_wait"):
            if not getattr(self, field) >= 0:
                raise ValueError(f"{field} must be >= 0, got {getattr(self, field)}")
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 or None, got {self.timeout}")
        if not 0 < self.heartbeat_interval < self.lease_timeout:
            raise ValueError(
                f"heartbeat_interval must be > 0 and below lease_timeout ({self.lease_timeout}), "
                f"got {self.heartbeat_interval}"
            )
