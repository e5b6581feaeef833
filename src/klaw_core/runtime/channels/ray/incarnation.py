"""Which incarnation of a channel actor this is, and its registrations kept in Ray's GCS.

Why: Ray restarts a crashed actor by running its constructor again with the
same arguments, so the new incarnation knows nothing of what happened: not
how many times it restarted (the epoch), nor the senders and receivers
registered after the channel was made. The sans-IO
:class:`~.restart.Registrations` record is small (ids only) and changes only
when an endpoint registers or ends; this module keeps it in Ray's internal
key-value store (held by the GCS, which outlives every actor), under the
channel's id. It is the only code of the channel that talks to the GCS.

Outside Ray (an actor used as a plain object in unit tests) nothing is kept,
and every incarnation is the first.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, Final

import msgspec
import ray as _ray_module

from klaw_core.runtime.channels.ray.restart import Registrations

__all__ = ["forget", "load", "reconstructed", "save"]

# Ray's annotations are partial; its API is used dynamically (the tests check it).
ray: Any = _ray_module

_NAMESPACE: Final = "klaw-channels"


def _kv() -> Any:
    from ray.experimental import internal_kv

    return internal_kv


def _key(channel_id: str) -> bytes:
    return f"registrations/{channel_id}".encode()


def _in_actor() -> bool:
    return bool(ray.is_initialized()) and ray.get_runtime_context().get_actor_id() is not None


def reconstructed() -> bool:
    """Whether this code runs in an actor that Ray restarted after a crash.

    Returns:
        True in a restarted actor; False in its first incarnation or outside Ray.

    Example:
        >>> reconstructed()  # not inside an actor
        False
    """
    if not _in_actor():
        return False
    with warnings.catch_warnings():  # Ray's own property uses a deprecated accessor
        warnings.simplefilter("ignore", DeprecationWarning)
        return bool(ray.get_runtime_context().was_current_actor_reconstructed)


def load(channel_id: str) -> Registrations | None:
    """Read the registrations the previous incarnation kept.

    Args:
        channel_id: the channel.

    Returns:
        The record, or ``None`` when none is kept (outside Ray, or unreadable).

    Example:
        >>> load("no-such-channel") is None
        True
    """
    if not _in_actor():
        return None
    with contextlib.suppress(Exception):  # the GCS unreachable: treated as no record
        data = _kv()._internal_kv_get(_key(channel_id), namespace=_NAMESPACE)
        if data:
            return msgspec.msgpack.decode(data, type=Registrations)
    return None


def save(channel_id: str, record: Registrations) -> bool:
    """Keep ``record`` for the next incarnation (one small GCS write).

    Args:
        channel_id: the channel.
        record: the current registrations.

    Returns:
        Whether it was written (False outside Ray or when the GCS refused).

    Example:
        >>> save("doc", Registrations())  # outside an actor: nothing kept
        False
    """
    if not _in_actor():
        return False
    try:
        _kv()._internal_kv_put(
            _key(channel_id), msgspec.msgpack.encode(record), overwrite=True, namespace=_NAMESPACE
        )
    except Exception:
        return False
    return True


def forget(channel_id: str) -> None:
    """Delete a channel's record (the channel is destroyed; nothing will restart).

    Args:
        channel_id: the channel.

    Example:
        >>> forget("doc")
    """
    if not ray.is_initialized():
        return
    with contextlib.suppress(Exception):
        _kv()._internal_kv_del(_key(channel_id), namespace=_NAMESPACE)
