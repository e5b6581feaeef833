"""Ray-backed channels: the same ``Sender``/``Receiver`` contract across processes and machines.

A channel's buffer lives in one async Ray actor (:class:`RayChannelActor`) that
stores MessagePack wire frames; :class:`RaySender` batches values into frames,
:class:`RayReceiver` prefetches and decodes them with a typed decoder. Use it
through ``channel(backend="ray", ...)`` (which calls :func:`ray_channel`), or
:class:`RayChannel` to name a channel and attach to it from another job.

This is the only package of klaw-core that imports Ray. Its public names load
on first use (PEP 562), so the sans-IO protocol core (:mod:`.store`,
:mod:`.options`, :mod:`.constants`) imports, and is tested, without Ray.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from klaw_core.runtime.channels.ray.actor import RayChannelActor, remote_actor_class
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
    from klaw_core.runtime.channels.ray.identity import ChannelRef
    from klaw_core.runtime.channels.ray.options import RayChannelOptions
    from klaw_core.runtime.channels.ray.receiver import RayReceiver
    from klaw_core.runtime.channels.ray.sender import RaySender

_EXPORTS: dict[str, str] = {
    "ACTOR_NAME_PREFIX": "factory",
    "BatchResult": "constants",
    "ChannelMetadata": "constants",
    "ChannelRef": "identity",
    "DEFAULT_NAMESPACE": "constants",
    "FrameBatch": "constants",
    "PutAck": "constants",
    "RayChannel": "factory",
    "RayChannelActor": "actor",
    "RayChannelOptions": "options",
    "RayReceiver": "receiver",
    "RaySender": "sender",
    "ReaderInfo": "constants",
    "SingleResult": "constants",
    "ensure_ray": "connection",
    "ray_channel": "factory",
    "ray_settings": "connection",
    "remote_actor_class": "actor",
}

__all__ = [
    "ACTOR_NAME_PREFIX",
    "BatchResult",
    "ChannelMetadata",
    "ChannelRef",
    "DEFAULT_NAMESPACE",
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
