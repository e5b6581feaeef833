"""Heartbeats: one background thread per process keeps every live endpoint's lease.

Why a thread, not an asyncio task: an endpoint's lease at the channel actor
must survive a producer that is alive but busy, whose event loop is blocked
(``time.sleep``, a long CPU-bound step between sends) for longer than the lease.
A thread runs whenever the GIL is free, so its ``Heartbeat`` envelopes keep
flowing; only a dead process (or a dropped endpoint) stops them, which is
exactly what the lease is meant to detect.

Each tick sends, per channel, one actor call holding one framed ``Heartbeat``
per live endpoint of this process (its ``sender_id`` is the endpoint id), and
looks at the previous tick's reply without waiting: when Ray says the actor
died, every endpoint of that channel here is told at once (Ray knows first), so
even an idle endpoint fails fast; when the reply names a newer epoch (Ray
restarted the actor), every endpoint is told too, so that even an idle one
rejoins it (a sender replays, a receiver reports). Heartbeats are never retried. Endpoints are
held weakly, so a dropped endpoint stops beating.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any, Final, Protocol

import ray as _ray_module
from ray.exceptions import RayActorError

from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.connection import ActorUnavailableError
from klaw_core.runtime.channels.ray.constants import BeatReply
from klaw_core.runtime.channels.wire import Heartbeat

__all__ = ["DEFAULT_HEARTBEAT_INTERVAL", "Beating", "heartbeats", "in_transit", "register"]

# Ray's annotations are partial; its API is used dynamically (the tests check it).
ray: Any = _ray_module

DEFAULT_HEARTBEAT_INTERVAL: Final = 1.0
"""Seconds between two heartbeats of an endpoint."""


class Beating(Protocol):
    """What the heartbeat thread needs from an endpoint.

    Example:
        >>> from klaw_core.runtime.channels.ray.endpoint import RayEndpoint
        >>> hasattr(RayEndpoint, "lease_holder")
        True
    """

    @property
    def lease_holder(self) -> tuple[Any, str, str] | None:
        """``(actor, channel_id, "id/session")`` while the endpoint holds a lease, else ``None``."""
        ...

    def actor_died(self, detail: str) -> None:
        """Ray reported the channel actor dead.

        Args:
            detail: Ray's reason, for the endpoint's ``ChannelLostError``.
        """
        ...

    def actor_restarted(self, epoch: int) -> None:
        """The channel actor answered from incarnation ``epoch`` (called from the thread).

        Args:
            epoch: the actor's current epoch.
        """
        ...


class _Heartbeats:
    """The process's heartbeat thread and the endpoints it keeps alive."""

    def __init__(self) -> None:
        self._endpoints: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._pending: dict[str, Any] = {}  # channel id -> last heartbeat's ref
        # (channel id, "id/session") -> (actor, beat until): endpoints pickled away
        self._transit: dict[tuple[str, str], tuple[Any, float]] = {}
        self.interval = DEFAULT_HEARTBEAT_INTERVAL

    def register(self, endpoint: Beating, interval: float) -> None:
        with self._lock:
            self._endpoints.add(endpoint)
            self.interval = min(self.interval, interval)
        self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="klaw-channel-heartbeats", daemon=True
                )
                self._thread.start()

    def in_transit(self, actor: Any, channel_id: str, beater: str, timeout: float) -> None:
        with self._lock:
            self._transit[(channel_id, beater)] = (actor, time.monotonic() + timeout)
        self._start()

    def beat_once(self) -> int:
        """Send one round of heartbeats now; return how many endpoints were renewed."""
        now = time.monotonic()
        with self._lock:
            endpoints = list(self._endpoints)
            transit = list(self._transit.items())
        by_channel: dict[str, tuple[Any, list[Heartbeat], list[Beating]]] = {}
        for endpoint in endpoints:
            holder = endpoint.lease_holder
            if holder is None:
                continue
            actor, channel_id, beater = holder
            entry = by_channel.setdefault(channel_id, (actor, [], []))
            entry[1].append(Heartbeat.new(beater, channel_id=channel_id))
            entry[2].append(endpoint)
        for (channel_id, beater), (actor, until) in transit:
            if until < now:
                self._forget_transit(channel_id, beater)
                continue
            entry = by_channel.setdefault(channel_id, (actor, [], []))
            entry[1].append(Heartbeat.new(f"{beater}/transit", channel_id=channel_id))
        sent = 0
        codec = get_codec_pool()
        for channel_id, (actor, beats, owners) in by_channel.items():
            died, epoch = self._reply(channel_id)
            if died is not None:
                for endpoint in owners:
                    endpoint.actor_died(died)
                continue
            if epoch:
                for endpoint in owners:
                    endpoint.actor_restarted(epoch)
            try:
                method = actor.heartbeat.options(max_task_retries=0)
                self._pending[channel_id] = method.remote(bytes(codec.encode_frames(beats)))
            except Exception:  # Ray shut down or the actor is gone: nothing to keep alive
                continue
            sent += len(beats)
        return sent

    def _reply(self, channel_id: str) -> tuple[str | None, int]:
        """From the last heartbeat's reply: why the actor is dead (else ``None``), its epoch."""
        ref = self._pending.get(channel_id)
        if ref is None:
            return None, 0
        try:
            ready, _ = ray.wait([ref], timeout=0)
            if not ready:
                return None, 0
            del self._pending[channel_id]
            reply: BeatReply = ray.get(ref, timeout=0)
        except ActorUnavailableError:  # Ray is restarting it: the endpoints rejoin, not a death
            return None, 0
        except RayActorError as exc:
            with self._lock:
                for key in [k for k in self._transit if k[0] == channel_id]:
                    del self._transit[key]
            return f"the channel actor died or is unreachable: {type(exc).__name__}", 0
        except Exception:  # the call failed for another reason: not a death
            return None, 0
        for endpoint_id in reply.superseded:  # their copies speak for themselves now
            prefix = f"{endpoint_id}/"
            with self._lock:
                for key in [
                    k for k in self._transit if k[0] == channel_id and k[1].startswith(prefix)
                ]:
                    del self._transit[key]
        return None, reply.epoch

    def _forget_transit(self, channel_id: str, beater: str) -> None:
        with self._lock:
            self._transit.pop((channel_id, beater), None)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.beat_once()
            except Exception:
                continue


heartbeats = _Heartbeats()
"""This process's heartbeat thread (started by the first endpoint)."""


def register(endpoint: Beating, interval: float) -> None:
    """Keep ``endpoint``'s lease alive from the heartbeat thread while it is referenced.

    Args:
        endpoint: an open endpoint; it stops beating once ``lease_holder`` is
            ``None`` (closed) or it is garbage-collected.
        interval: seconds between heartbeats (the smallest asked for wins).

    Example:
        >>> class Idle:
        ...     lease_holder = None
        ...     def actor_died(self, detail: str) -> None: ...
        >>> idle = Idle()
        >>> register(idle, 1.0)  # no lease holder (closed): the thread skips it
    """
    heartbeats.register(endpoint, interval)


def in_transit(actor: Any, channel_id: str, beater: str, timeout: float) -> None:
    """Beat for an endpoint pickled to another process until its copy speaks (or ``timeout``).

    Args:
        actor: the channel actor.
        channel_id: the channel.
        beater: ``"<endpoint id>/<session>"`` of the instance that moved.
        timeout: seconds to keep beating at most.

    Example:
        >>> in_transit(None, "doc", "1/2", 0.0)  # expires at once: never beats
    """
    heartbeats.in_transit(actor, channel_id, beater, timeout)
