"""Start the actor of a new Ray channel: its capacity, its identity, its Ray options.

Why a separate piece. :class:`~.factory.RayChannel` is the handle a user holds
(endpoints, metadata, attach, destroy); starting the actor happens once per
channel and is all about Ray: the capacity checked before anything starts, the
name other jobs attach by (:data:`ACTOR_NAME_PREFIX`), the restart and
concurrency settings from the ``ray`` configuration, a detached lifetime, and a
taken name reported as such. The first endpoints go with the actor's
constructor, so :meth:`~.factory.RayChannel.create_pair` makes no round trip.
"""

from __future__ import annotations

import operator
import uuid
from typing import Any

from klaw_core.runtime.channels.protocols import DEFAULT_CAPACITY
from klaw_core.runtime.channels.ray.actor import remote_actor_class
from klaw_core.runtime.channels.ray.connection import ensure_ray, ray_settings
from klaw_core.runtime.channels.ray.identity import ChannelRef
from klaw_core.runtime.channels.ray.link import check_portable
from klaw_core.runtime.channels.ray.options import RayChannelOptions

__all__ = ["ACTOR_NAME_PREFIX", "start_channel_actor"]

ACTOR_NAME_PREFIX = "klaw-channel:"
"""Ray actor name of a named channel: this prefix, then the channel's name."""


def _capacity(capacity: int | None, unbounded: bool) -> int | None:
    if unbounded:
        if capacity is not None:
            raise ValueError("give either a capacity or unbounded=True, not both")
        return None
    if capacity is None:
        return DEFAULT_CAPACITY
    capacity = operator.index(capacity)  # TypeError for floats, strings, ...
    if capacity < 1:
        raise ValueError(f"capacity must be at least 1, got {capacity}")
    return capacity


def start_channel_actor(
    capacity: int | None,
    *,
    unbounded: bool,
    value_type: object,
    name: str | None,
    namespace: str | None,
    detached: bool,
    options: RayChannelOptions,
    actor_options: dict[str, Any] | None,
    senders: tuple[int, ...],
    receivers: tuple[int, ...],
) -> ChannelRef:
    """Start a channel actor (connecting to Ray first if needed), its first endpoints registered.

    Args:
        capacity: most messages buffered (``None``: ``DEFAULT_CAPACITY``).
        unbounded: no capacity limit (``capacity`` must then be ``None``).
        value_type: the message type; it must be importable by Ray workers.
        name: the name other jobs attach by, or ``None``.
        namespace: Ray namespace of a named channel (default: the configured
            ``ray.namespace``).
        detached: a named channel outlives the job that created it.
        options: endpoint tuning; the actor takes its frame size and lease.
        actor_options: extra ``.options()`` for the actor.
        senders: ids of senders registered as the actor starts.
        receivers: ids of receivers registered as the actor starts.

    Returns:
        The new channel's reference (actor handle, id, capacity, type, name).

    Raises:
        ValueError: bad capacity, ``detached`` without a name, or the name is
            taken in the namespace.
        TypeError: ``capacity`` is not an int, or ``value_type`` is defined in
            ``__main__``.

    Example:
        >>> from klaw_core.runtime.channels.ray.factory import default_options
        >>> start_channel_actor(
        ...     0, unbounded=False, value_type=int, name=None, namespace=None, detached=False,
        ...     options=default_options(), actor_options=None, senders=(), receivers=(),
        ... )
        Traceback (most recent call last):
        ...
        ValueError: capacity must be at least 1, got 0
    """
    capacity = _capacity(capacity, unbounded)
    check_portable(value_type)
    if detached and name is None:
        raise ValueError("a detached channel needs a name (nothing could attach to it)")
    ensure_ray()
    settings = ray_settings()
    suffix = uuid.uuid4().hex
    channel_id = f"{name}#{suffix[:8]}" if name is not None else f"ch-{suffix[:16]}"
    opts: dict[str, Any] = {
        "num_cpus": 0,
        "max_concurrency": settings.max_concurrency,
        "max_restarts": settings.max_restarts,
        "max_task_retries": settings.max_task_retries,
    }
    if name is not None:
        namespace = namespace or settings.namespace
        opts["name"] = ACTOR_NAME_PREFIX + name
        opts["namespace"] = namespace
        if detached:
            opts["lifetime"] = "detached"
    else:
        namespace = None
    opts.update(actor_options or {})
    try:
        actor = (
            remote_actor_class()
            .options(**opts)
            .remote(
                channel_id,
                capacity,
                value_type,
                senders,
                receivers,
                name=name,
                namespace=namespace,
                max_frame_size=options.max_frame_size,
                lease_timeout=options.lease_timeout,
            )
        )
    except ValueError as exc:
        if name is not None:
            raise ValueError(
                f"a channel named {name!r} already exists in namespace {namespace!r}; "
                "use RayChannel.attach() to connect to it"
            ) from exc
        raise
    return ChannelRef(
        actor,
        channel_id,
        capacity=capacity,
        value_type=value_type,
        name=name,
        namespace=namespace,
        options=options,
    )
