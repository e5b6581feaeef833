"""Ray-backed channels: the same ``Sender``/``Receiver`` contract across processes and machines.

A channel's buffer lives in one async Ray actor (:class:`RayChannelActor`) that
stores MessagePack wire frames; :class:`RaySender` batches values into frames,
:class:`RayReceiver` prefetches and decodes them with a typed decoder. Use it
through ``channel(backend="ray", ...)`` (which calls :func:`ray_channel`), or
:class:`RayChannel` to name a channel and attach to it from another job.

This is the only package of klaw-core that imports Ray.
"""

from __future__ import annotations

from klaw_core.runtime.channels.ray.actor import RayChannelActor, remote_actor_class
from klaw_core.runtime.channels.ray.channel import RayReceiver, RaySender
from klaw_core.runtime.channels.ray.connection import ensure_ray, ray_settings
from klaw_core.runtime.channels.ray.constants import (
    DEFAULT_NAMESPACE,
    BatchResult,
    ChannelMetadata,
    FrameBatch,
    PutAck,
    ReaderInfo,
    SingleResult,
)
from klaw_core.runtime.channels.ray.factory import ACTOR_NAME_PREFIX, RayChannel, ray_channel
from klaw_core.runtime.channels.ray.link import RayChannelOptions

__all__ = [
    "ACTOR_NAME_PREFIX",
    "DEFAULT_NAMESPACE",
    "BatchResult",
    "ChannelMetadata",
    "FrameBatch",
    "PutAck",
    "RayChannel",
    "RayChannelActor",
    "RayChannelOptions",
    "RayReceiver",
    "RaySender",
    "ReaderInfo",
    "SingleResult",
    "ensure_ray",
    "ray_channel",
    "ray_settings",
    "remote_actor_class",
]
