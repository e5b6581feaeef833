"""Create Ray channels, or attach to one by name: :class:`RayChannel` and :func:`ray_channel`.

``channel(backend="ray", ...)`` calls :func:`ray_channel`, which creates the
channel actor with its first sender and receiver already registered (no extra
round trip) and returns them. :class:`RayChannel` is the handle for everything
else: a named channel that other jobs attach to with :meth:`RayChannel.attach`,
endpoints made one at a time (a producer job needs no receiver), the actor's
metadata and per-receiver statistics.

A value type must be importable by Ray workers (defined in a module, not in
``__main__``); :func:`~.link.check_portable` refuses it otherwise, here, rather
than letting the actor fail to start. Starting the actor itself is
:func:`~.creation.start_channel_actor`'s.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

import ray as _ray_module

from klaw_core.runtime.channels.ray import incarnation
from klaw_core.runtime.channels.ray.connection import ensure_ray, ray_settings
from klaw_core.runtime.channels.ray.constants import ChannelMetadata, PutAck, ReaderInfo
from klaw_core.runtime.channels.ray.creation import ACTOR_NAME_PREFIX, start_channel_actor
from klaw_core.runtime.channels.ray.identity import ChannelRef
from klaw_core.runtime.channels.ray.link import (
    Link,
    RayChannelOptions,
    call,
    call_blocking,
    closed_error,
    get_link,
    new_endpoint_id,
)
from klaw_core.runtime.channels.ray.receiver import RayReceiver
from klaw_core.runtime.channels.ray.sender import RaySender
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.config import channel_defaults

__all__ = ["ACTOR_NAME_PREFIX", "RayChannel", "default_options", "ray_channel"]

T = TypeVar("T")

# Ray's annotations are partial; its API is used dynamically (the tests check it).
ray: Any = _ray_module


def default_options() -> RayChannelOptions:
    """Endpoint options with the configured ``channels`` batching and lease settings.

    Returns:
        :class:`~.options.RayChannelOptions` with ``batch_size``, ``linger_ms``,
        ``lease_timeout`` and ``heartbeat_interval`` from
        :func:`~klaw_core.runtime.config.channel_defaults` (``linger`` in seconds) and the
        defaults for the rest.

    Example:
        >>> default_options().batch_size == channel_defaults().batch_size
        True
    """
    defaults = channel_defaults()
    return RayChannelOptions(
        batch_size=defaults.batch_size,
        linger=defaults.linger_ms / 1000.0,
        lease_timeout=defaults.lease_timeout,
        heartbeat_interval=defaults.heartbeat_interval,
    )


class RayChannel(Generic[T]):
    """A channel held by a Ray actor; makes its endpoints.

    Make one with :meth:`create` (or :meth:`create_pair`), or connect to a
    named one with :meth:`attach`. Handles and endpoints of one channel in
    one process share its per-process state (a :class:`~.link.Link`).

    Example:
        >>> import asyncio
        >>> async def main() -> list[str]:
        ...     chan = RayChannel.create(16, value_type=str, name="greetings")
        ...     tx, rx = chan.sender(), RayChannel.attach("greetings").receiver()
        ...     async with tx:
        ...         await tx.send("hello")
        ...     async with rx:
        ...         received = [item async for item in rx]
        ...     chan.destroy()
        ...     return received
        >>> asyncio.run(main())
        ['hello']
    """

    __slots__ = ("_link",)

    def __init__(self, link: Link) -> None:
        self._link = link

    @overload
    @classmethod
    def create(
        cls,
        capacity: int | None = None,
        *,
        value_type: type[T],
        name: str | None = None,
        namespace: str | None = None,
        unbounded: bool = False,
        detached: bool = False,
        options: RayChannelOptions | None = None,
        actor_options: dict[str, Any] | None = None,
    ) -> RayChannel[T]: ...
    @overload
    @classmethod
    def create(
        cls,
        capacity: int | None = None,
        *,
        value_type: object = None,
        name: str | None = None,
        namespace: str | None = None,
        unbounded: bool = False,
        detached: bool = False,
        options: RayChannelOptions | None = None,
        actor_options: dict[str, Any] | None = None,
    ) -> RayChannel[Any]: ...
    @classmethod
    def create(
        cls,
        capacity: int | None = None,
        *,
        value_type: object = None,
        name: str | None = None,
        namespace: str | None = None,
        unbounded: bool = False,
        detached: bool = False,
        options: RayChannelOptions | None = None,
        actor_options: dict[str, Any] | None = None,
    ) -> RayChannel[Any]:
        """Start a channel actor (connecting to Ray first if needed); no endpoints yet.

        Args:
            capacity: most messages buffered (default ``DEFAULT_CAPACITY``).
            value_type: the message type; receivers validate against it.
            name: make the channel attachable by this name from other jobs.
            namespace: Ray namespace of a named channel (default: the
                configured ``ray.namespace``).
            unbounded: no capacity limit.
            detached: a named channel outlives the job that created it (until
                :meth:`destroy`).
            options: endpoint tuning (batching, prefetch, timeouts).
            actor_options: extra ``.options()`` for the actor (e.g.
                ``max_restarts``, ``num_cpus``, ``scheduling_strategy``).

        Returns:
            The channel handle.

        Raises:
            ValueError: bad capacity, ``detached`` without a name, or the name
                is taken in the namespace.
            TypeError: ``capacity`` is not an int, or ``value_type`` is defined
                in ``__main__``.
        """
        ref = start_channel_actor(
            capacity,
            unbounded=unbounded,
            value_type=value_type,
            name=name,
            namespace=namespace,
            detached=detached,
            options=options or default_options(),
            actor_options=actor_options,
            senders=(),
            receivers=(),
        )
        return cls(get_link(ref))

    @classmethod
    def create_pair(
        cls,
        capacity: int | None = None,
        *,
        value_type: object = None,
        name: str | None = None,
        namespace: str | None = None,
        unbounded: bool = False,
        detached: bool = False,
        options: RayChannelOptions | None = None,
        actor_options: dict[str, Any] | None = None,
    ) -> tuple[RaySender[Any], RayReceiver[Any]]:
        """Like :meth:`create`, and return a first sender and receiver.

        Both are registered as the actor starts, so this makes no round trip:
        it returns before the actor process is up (the first call waits for it).

        Args:
            capacity: most messages buffered (default ``DEFAULT_CAPACITY``).
            value_type: the message type; receivers validate against it.
            name: make the channel attachable by this name from other jobs.
            namespace: Ray namespace of a named channel (default: the
                configured ``ray.namespace``).
            unbounded: no capacity limit.
            detached: a named channel outlives the job that created it.
            options: endpoint tuning (batching, prefetch, timeouts).
            actor_options: extra ``.options()`` for the actor.

        Returns:
            ``(sender, receiver)``.

        Raises:
            ValueError: bad capacity, ``detached`` without a name, or the name
                is taken in the namespace.
            TypeError: ``capacity`` is not an int, or ``value_type`` is defined
                in ``__main__``.
        """
        sender_id, reader_id = new_endpoint_id(), new_endpoint_id()
        ref = start_channel_actor(
            capacity,
            unbounded=unbounded,
            value_type=value_type,
            name=name,
            namespace=namespace,
            detached=detached,
            options=options or default_options(),
            actor_options=actor_options,
            senders=(sender_id,),
            receivers=(reader_id,),
        )
        chan = cls(get_link(ref))
        return RaySender(chan.ref, sender_id), RayReceiver(chan.ref, reader_id)

    @classmethod
    def attach(
        cls,
        name: str,
        *,
        namespace: str | None = None,
        options: RayChannelOptions | None = None,
    ) -> RayChannel[Any]:
        """Connect to a named channel created by this or another job.

        Blocks for a round trip to the actor. The value type comes from the
        actor, so it must be importable here.

        Args:
            name: the name the channel was created with.
            namespace: its Ray namespace (default: the configured
                ``ray.namespace``).
            options: tuning of the endpoints made from this handle; ignored
                when this process already holds a handle or endpoint of the
                channel (the options it was made with apply).

        Returns:
            A handle on the channel; the channel's capacity and value type are
            the actor's.

        Raises:
            LookupError: no channel of that name in the namespace.
            ChannelLostError: the channel's actor did not answer within
                ``options.reply_timeout``.
        """
        ensure_ray()
        namespace = namespace or ray_settings().namespace
        try:
            actor = ray.get_actor(ACTOR_NAME_PREFIX + name, namespace=namespace)
        except ValueError as exc:
            raise LookupError(f"no channel named {name!r} in namespace {namespace!r}") from exc
        options = options or default_options()
        probe = Link(ChannelRef(actor, f"attach:{name}", capacity=None, options=options))
        metadata: ChannelMetadata = call_blocking(probe, actor.metadata.remote())
        value_type: object = call_blocking(probe, actor.value_type.remote())
        ref = ChannelRef(
            actor,
            metadata.channel_id,
            capacity=metadata.capacity,
            value_type=value_type,
            name=name,
            namespace=namespace,
            options=options,
        )
        return cls(get_link(ref))

    # ------------------------------------------------------------ endpoints

    def sender(self) -> RaySender[T]:
        """Register and return a new sender (one actor round trip).

        Returns:
            An open sender; the channel does not end before it is closed.

        Raises:
            ChannelClosedError: every sender of the channel already closed.
            ChannelLostError: the actor is unreachable or lost its state.
        """
        sender_id = new_endpoint_id()
        self._register(self._link.actor.register_sender, sender_id)
        return RaySender(self._link.ref, sender_id)

    def receiver(self) -> RayReceiver[T]:
        """Register and return a new receiver (one actor round trip).

        Returns:
            An open receiver, competing with the channel's other receivers
            (each message goes to exactly one).

        Raises:
            ChannelClosedError: every receiver of the channel already closed.
            ChannelLostError: the actor is unreachable or lost its state.
        """
        reader_id = new_endpoint_id()
        self._register(self._link.actor.register_receiver, reader_id)
        return RayReceiver(self._link.ref, reader_id)

    def _register(self, method: Any, endpoint_id: int) -> None:
        link = self._link
        if link.lost is not None:  # e.g. destroyed here, and ray.kill has not landed yet
            raise link.lose(link.lost)
        ack: PutAck = call_blocking(link, method.remote(endpoint_id))
        if ack.status == "lost":
            raise link.lose(ack.detail)
        if ack.status != "ok":
            raise closed_error(ack.status, ack.detail)

    # -------------------------------------------------------------- details

    @property
    def ref(self) -> ChannelRef:
        """The channel's identity and endpoint options (what endpoints are built from)."""
        return self._link.ref

    @property
    def channel_id(self) -> str:
        """The id written in every wire header of this channel."""
        return self._link.channel_id

    @property
    def name(self) -> str | None:
        """The name other jobs attach by, or ``None``."""
        return self._link.name

    @property
    def namespace(self) -> str | None:
        """The Ray namespace of a named channel's actor."""
        return self._link.namespace

    @property
    def capacity(self) -> int | None:
        """Most messages buffered at once, ``None`` when unbounded."""
        return self._link.capacity

    @property
    def actor(self) -> Any:
        """The Ray actor handle holding the channel."""
        return self._link.actor

    async def metadata(self) -> ChannelMetadata:
        """Return the actor's description of the channel.

        Returns:
            Id, name, namespace, capacity, the value type's name, creation
            time and the accepted wire versions.

        Raises:
            ChannelLostError: the actor is unreachable.
        """
        link = self._link
        result: ChannelMetadata = await call(link, link.actor.metadata.remote(), 0.0)
        return result

    async def reader_stats(self) -> tuple[ReaderInfo, ...]:
        """Return what the actor knows about each registered receiver.

        Returns:
            One :class:`~.constants.ReaderInfo` per open receiver: its node,
            when it registered, when it last received and how many messages.

        Raises:
            ChannelLostError: the actor is unreachable.
        """
        link = self._link
        result: tuple[ReaderInfo, ...] = await call(link, link.actor.reader_stats.remote(), 0.0)
        return result

    async def stats(self) -> ChannelStats:
        """Return the channel's counters (see ``Sender.stats``).

        Local senders push their batches and local receivers report what they
        delivered first, so within one process the counts are exact.

        Returns:
            The counters; fetched but undelivered messages count as buffered.

        Raises:
            ChannelLostError: the actor died or lost its buffer.
        """
        return await self._link.stats()

    def destroy(self) -> None:
        """Kill the channel actor now; every endpoint then fails with ``ChannelLostError``."""
        link = self._link
        ray.kill(link.actor, no_restart=True)
        incarnation.forget(link.channel_id)
        link.lose("the channel was destroyed")

    def __repr__(self) -> str:
        label = f" name={self._link.name!r}" if self._link.name else ""
        return f"<RayChannel {self._link.channel_id!r}{label} capacity={self._link.capacity}>"


def ray_channel(
    capacity: int | None = None,
    *,
    value_type: object = None,
    name: str | None = None,
    unbounded: bool = False,
    namespace: str | None = None,
    detached: bool = False,
    batch_size: int | None = None,
    batch_bytes: int | None = None,
    linger_ms: float | None = None,
    fetch_size: int | None = None,
    poll_interval: float | None = None,
    reply_timeout: float | None = None,
    max_frame_size: int | None = None,
    lease_timeout: float | None = None,
    heartbeat_interval: float | None = None,
    timeout: float | None = None,
    close_wait: float | None = None,
    actor_options: dict[str, Any] | None = None,
) -> tuple[RaySender[Any], RayReceiver[Any]]:
    """Create a Ray channel and return its first sender and receiver.

    This is what ``channel(backend="ray", ...)`` calls; the keyword arguments
    after ``unbounded`` are the Ray backend's options.

    Args:
        capacity: most messages buffered (default ``DEFAULT_CAPACITY``).
        value_type: the message type; receivers validate against it.
        name: make the channel attachable by this name (:meth:`RayChannel.attach`).
        unbounded: no capacity limit.
        namespace: Ray namespace of a named channel.
        detached: a named channel outlives the job that created it.
        batch_size: most messages per frame and actor call (default: the
            configured ``channels.batch_size``; never more than the capacity).
        batch_bytes: target bytes per frame (default 4 MiB).
        linger_ms: how long a partial batch waits before it is sent (default:
            the configured ``channels.linger_ms``).
        fetch_size: most messages a receiver fetches per call (default 65536).
        poll_interval: longest wait inside one actor call, in seconds.
        reply_timeout: seconds beyond that before the actor is declared lost.
        max_frame_size: largest frame in bytes (default 16 MiB).
        lease_timeout: seconds an endpoint may stay silent before the channel
            declares it lost (default: the configured ``channels.lease_timeout``).
        heartbeat_interval: seconds between heartbeats of an idle endpoint
            (default: the configured ``channels.heartbeat_interval``).
        timeout: the default deadline of every blocking call, in seconds
            (default: the configured ``channels.timeout``; ``0``: none).
        close_wait: longest a sender's ``close()`` waits for its messages to
            be delivered, so that it can replay them if the channel actor
            restarts meanwhile (default 0: no wait).
        actor_options: extra Ray ``.options()`` for the channel actor.

    Returns:
        ``(sender, receiver)``.

    Raises:
        ValueError: bad capacity or option, or the name is taken.
        TypeError: ``capacity`` is not an int, or ``value_type`` is defined in
            ``__main__``.

    Example:
        >>> import asyncio
        >>> async def main() -> list[int]:
        ...     tx, rx = ray_channel(8, value_type=int, batch_size=2, linger_ms=0)
        ...     async with tx:
        ...         await tx.send_batch([1, 2, 3])  # frames of at most 2 messages
        ...     async with rx:
        ...         return [item async for item in rx]
        >>> asyncio.run(main())
        [1, 2, 3]
    """
    defaults = channel_defaults()
    settings: dict[str, Any] = {
        "batch_size": defaults.batch_size,
        "linger": defaults.linger_ms / 1000.0,
        "lease_timeout": defaults.lease_timeout,
        "heartbeat_interval": defaults.heartbeat_interval,
        "timeout": defaults.timeout or None,
    }
    for key, value in (
        ("batch_size", batch_size),
        ("batch_bytes", batch_bytes),
        ("fetch_size", fetch_size),
        ("poll_interval", poll_interval),
        ("reply_timeout", reply_timeout),
        ("max_frame_size", max_frame_size),
        ("lease_timeout", lease_timeout),
        ("heartbeat_interval", heartbeat_interval),
        ("close_wait", close_wait),
    ):
        if value is not None:
            settings[key] = value
    if linger_ms is not None:
        settings["linger"] = linger_ms / 1000.0
    if timeout is not None:
        settings["timeout"] = timeout or None  # 0 means no deadline
    options = RayChannelOptions(**settings)
    return RayChannel.create_pair(
        capacity,
        value_type=value_type,
        name=name,
        namespace=namespace,
        unbounded=unbounded,
        detached=detached,
        options=options,
        actor_options=actor_options,
    )
