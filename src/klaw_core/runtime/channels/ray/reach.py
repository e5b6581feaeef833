"""Whether a Ray address answers, checked without importing Ray.

Kept apart from :mod:`.connection` (which imports Ray) so that ``klaw demo``
can check a configured address before anything heavy is imported.
"""

from __future__ import annotations

import socket

__all__ = ["check_reachable"]


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
