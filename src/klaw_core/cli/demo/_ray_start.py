"""How the demo reaches Ray: the configured cluster, or a local one it starts.

Kept to one function (:func:`start_ray`) so how the demo starts Ray can change
in one place.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from klaw_core.runtime.config import KlawConfig

__all__ = ["check_reachable", "start_ray"]


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast when a ``host:port`` (or ``ray://host:port``) Ray address does not answer.

    ``ray.init`` retries an unreachable address for minutes; one TCP connect
    says the same in seconds. Other forms (``"auto"``) are left to Ray.

    Args:
        address: the Ray address; only ``host:port`` and ``ray://host:port``
            (IPv6 hosts in brackets) are checked.
        timeout: seconds to wait for the TCP connection.

    Raises:
        ConnectionError: nothing accepts connections there.

    Example:
        >>> check_reachable("auto")
        >>> check_reachable("127.0.0.1:1", timeout=1)
        Traceback (most recent call last):
        ...
        ConnectionError: cannot reach Ray at '127.0.0.1:1': Connection refused
    """
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"cannot reach Ray at {address!r}: {exc.strerror or exc}") from None


def start_ray(ray: Any, config: KlawConfig) -> bool:
    """Connect to the configured Ray, or start a local one; return whether we started it."""
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {
        "namespace": config.ray.namespace,
        "logging_level": logging.WARNING,
        "include_dashboard": False,
        # Failures reach the driver as exceptions; forwarded worker logs are noise here.
        "log_to_driver": False,
    }
    if config.ray.address is None:
        options["num_cpus"] = config.ray.num_cpus
    else:
        check_reachable(config.ray.address)
        options["address"] = config.ray.address
    ray.init(**options)
    return True
