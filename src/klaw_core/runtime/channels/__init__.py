"""Typed channels: one ``channel()`` call, the same ``Sender``/``Receiver`` on every transport.

``channel()`` picks the transport; code after it only sees the protocols of
:mod:`.protocols`, so a pipeline written and tested in-process
(``backend="local"``) runs across Ray actors (``backend="ray"``) unchanged.

Importing this package never imports Ray: the Ray backend
(:mod:`klaw_core.runtime.channels.ray`) is imported inside ``channel()``, the
first time ``backend="ray"`` is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any, Literal, TypeVar, overload

from klaw_core.runtime.channels.local import LocalReceiver, LocalSender, local_channel
from klaw_core.runtime.channels.protocols import (
    DEFAULT_CAPACITY,
    Receiver,
    ReferenceReceiver,
    ReferenceSender,
    Sender,
)
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.config import channel_defaults
from klaw_core.runtime.errors import (
    ChannelClosed,
    ChannelClosedError,
    ChannelEmpty,
    ChannelEmptyError,
    ChannelEnded,
    ChannelEndedError,
    ChannelError,
    ChannelFull,
    ChannelFullError,
    ChannelLost,
    ChannelLostError,
    ChannelTimeout,
    ChannelTimeoutError,
    EndpointClosed,
    EndpointClosedError,
    InvalidMessage,
    InvalidMessageError,
    ProducerFailed,
    ProducerFailedError,
    ProducerLost,
    ProducerLostError,
    ReceiversClosed,
    ReceiversClosedError,
)

# ------------------------------------------------------------------ wire format
# The wire/codec/framing/schema/views names are re-exported here by their own
# modules' authors; nothing above this line may import them (they must not
# depend on the channel endpoints, and the endpoints must stay importable
# without them).

__all__ = [
    # factory and protocols
    "DEFAULT_CAPACITY",
    "Backend",
    "ChannelStats",
    "Receiver",
    "ReferenceReceiver",
    "ReferenceSender",
    "Sender",
    "channel",
    # in-process backend
    "LocalReceiver",
    "LocalSender",
    "local_channel",
    # errors (struct + exception twins)
    "ChannelClosed",
    "ChannelClosedError",
    "ChannelEmpty",
    "ChannelEmptyError",
    "ChannelError",
    "ChannelFull",
    "ChannelFullError",
    "ChannelLost",
    "ChannelLostError",
    "ChannelTimeout",
    "ChannelTimeoutError",
    "InvalidMessage",
    "InvalidMessageError",
    "ChannelEnded",
    "ChannelEndedError",
    "EndpointClosed",
    "EndpointClosedError",
    "ProducerFailed",
    "ProducerFailedError",
    "ProducerLost",
    "ProducerLostError",
    "ReceiversClosed",
    "ReceiversClosedError",
]

T = TypeVar("T")

Backend = Literal["local", "ray"]
"""The transports ``channel()`` knows."""

_RAY_BACKEND = "klaw_core.runtime.channels.ray.factory"
_RAY_FACTORY = "ray_channel"


@overload
def channel(
    capacity: int | None = None,
    *,
    backend: Backend = "local",
    value_type: type[T],
    name: str | None = None,
    unbounded: bool = False,
    **options: Any,
) -> tuple[Sender[T], Receiver[T]]: ...
@overload
def channel(
    capacity: int | None = None,
    *,
    backend: Backend = "local",
    value_type: object = None,
    name: str | None = None,
    unbounded: bool = False,
    **options: Any,
) -> tuple[Sender[Any], Receiver[Any]]: ...
def channel(
    capacity: int | None = None,
    *,
    backend: Backend = "local",
    value_type: object = None,
    name: str | None = None,
    unbounded: bool = False,
    **options: Any,
) -> tuple[Sender[Any], Receiver[Any]]:
    """Create a channel and return its first ``(sender, receiver)`` pair.

    A configured ``channels.timeout`` becomes the default deadline of either
    backend's blocking calls (they raise ``ChannelTimeoutError`` past it); unset
    (the default), they wait until the channel can serve them or closes.

    Args:
        capacity: the most items buffered at once; default: the configured
            ``channels.capacity`` (131,072 unless ``klaw.toml`` or
            ``KLAW_CHANNELS_CAPACITY`` says otherwise; a configured
            ``channels.unbounded = true`` makes the default unbounded). Must
            be omitted when ``unbounded``.
        backend: ``"local"`` (coroutines of this event loop) or ``"ray"``
            (across processes and machines through a Ray actor).
        value_type: the item type. It types the endpoints (``value_type=int``
            gives ``Sender[int]``/``Receiver[int]``); the Ray backend also
            validates received items against it. In-process, items are not
            serialised, so it is not checked at run time.
        name: ``"ray"``: a name other jobs can attach to the channel by;
            ``"local"``: a label shown in ``repr``.
        unbounded: no limit on buffered items; only when asked, since a fast
            producer can then exhaust memory.
        **options: backend-specific settings (the Ray backend's batching and
            actor options); the local backend takes none.

    Returns:
        ``(sender, receiver)``; ``clone()`` either for more producers or
        consumers.

    Raises:
        ValueError: unknown backend, ``capacity < 1``, or ``capacity`` with
            ``unbounded=True``.
        TypeError: an option the backend does not know.
        ImportError: ``backend="ray"`` without Ray installed.

    Example:
        >>> import asyncio
        >>> async def main() -> list[int]:
        ...     tx, rx = channel(capacity=8, value_type=int)
        ...     async with tx:
        ...         await tx.send_batch([1, 2, 3])
        ...     return [item async for item in rx]
        >>> asyncio.run(main())
        [1, 2, 3]
    """
    configured = channel_defaults()
    if capacity is None and not unbounded:
        unbounded = configured.unbounded
        capacity = None if unbounded else configured.capacity
    if backend == "local":
        if options:
            raise TypeError(f"the local backend takes no options, got {sorted(options)}")
        local: tuple[LocalSender[Any], LocalReceiver[Any]] = local_channel(
            capacity, unbounded=unbounded, name=name, timeout=configured.timeout
        )
        return local
    if backend == "ray":
        factory = _ray_factory()
        pair: tuple[Sender[Any], Receiver[Any]] = factory(
            capacity, value_type=value_type, name=name, unbounded=unbounded, **options
        )
        return pair
    raise ValueError(f"unknown channel backend {backend!r}; expected 'local' or 'ray'")


def _ray_factory() -> Any:
    """Import the Ray backend on first use and return its ``ray_channel`` factory."""
    try:
        module = importlib.import_module(_RAY_BACKEND)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == "ray" or missing.startswith("ray."):
            raise ImportError("backend='ray' needs Ray: pip install 'klaw-core[ray]'") from exc
        if _RAY_BACKEND.startswith(missing):
            raise ImportError(
                f"the Ray channel backend is not available: no {_RAY_BACKEND}"
            ) from exc
        raise
    factory = getattr(module, _RAY_FACTORY, None)
    if factory is None:
        raise ImportError(
            f"the Ray channel backend is not available: {_RAY_BACKEND} "
            f"does not define {_RAY_FACTORY}()"
        )
    return factory
