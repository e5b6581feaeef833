"""One value object for "which channel, and how its endpoints behave": :class:`ChannelRef`.

Why: an endpoint rebuilt in another process (unpickled in a Ray task) needs the
actor handle, the channel id, its capacity, value type, name, namespace and the
endpoint options. Passing them around as one immutable object, rather than as
eight positional arguments, keeps every constructor and ``__reduce__`` short and
makes adding a field (the next issue's epochs) a one-place change.
"""

from __future__ import annotations

from typing import Any

from klaw_core.runtime.channels.ray.options import RayChannelOptions

__all__ = ["ChannelRef"]


class ChannelRef:
    """Everything an endpoint needs to reach its channel; immutable, picklable.

    Args:
        actor: the channel actor's handle.
        channel_id: the id in every wire header of the channel.
        capacity: most messages held, ``None`` when unbounded.
        value_type: the item type (``None`` when untyped).
        name: the name other jobs attach by, if any.
        namespace: the Ray namespace of a named channel.
        options: the endpoints' tuning.

    Example:
        >>> ref = ChannelRef(None, "c1", capacity=8, value_type=int)
        >>> ref.channel_id, ref.capacity, ref.options.lease_timeout
        ('c1', 8, 5.0)
    """

    __slots__ = ("actor", "capacity", "channel_id", "name", "namespace", "options", "value_type")

    actor: Any
    channel_id: str
    capacity: int | None
    value_type: Any
    name: str | None
    namespace: str | None
    options: RayChannelOptions

    def __init__(
        self,
        actor: Any,
        channel_id: str,
        *,
        capacity: int | None,
        value_type: Any = None,
        name: str | None = None,
        namespace: str | None = None,
        options: RayChannelOptions | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "actor", actor)
        set_(self, "channel_id", channel_id)
        set_(self, "capacity", capacity)
        set_(self, "value_type", value_type)
        set_(self, "name", name)
        set_(self, "namespace", namespace)
        set_(self, "options", options if options is not None else RayChannelOptions())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ChannelRef is immutable (tried to set {name!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (
                self.actor,
                self.channel_id,
                self.capacity,
                self.value_type,
                self.name,
                self.namespace,
                self.options,
            ),
        )

    def __repr__(self) -> str:
        return f"ChannelRef({self.channel_id!r}, capacity={self.capacity})"


def _rebuild(
    actor: Any,
    channel_id: str,
    capacity: int | None,
    value_type: Any,
    name: str | None,
    namespace: str | None,
    options: RayChannelOptions,
) -> ChannelRef:
    return ChannelRef(
        actor,
        channel_id,
        capacity=capacity,
        value_type=value_type,
        name=name,
        namespace=namespace,
        options=options,
    )
