"""Connect to Ray once, where the configuration says, or start a local one-machine Ray.

Why a helper: a Ray channel has to be usable with no setup at all (the
embedded default starts a local Ray, like ``ray.init()`` does) and also inside
a program that already called ``ray.init`` or runs on a cluster. The address
and namespace come from :func:`klaw_core.runtime.config.load_config` (the
``[ray]`` section of ``klaw.toml``, overridden by ``KLAW_RAY_ADDRESS``,
``KLAW_RAY_NAMESPACE``, ...), read once per process. Nothing is started when
Ray is already initialised: inside a Ray task or actor, and in a driver that
set Ray up itself, the existing connection is used as it is.
"""

from __future__ import annotations

import functools
from typing import Any

import ray as _ray_module

from klaw_core.runtime.config import RayConfig, load_config

__all__ = ["ensure_ray", "ray_settings"]

# Ray's annotations are partial; its API is used dynamically (the tests check it).
ray: Any = _ray_module


@functools.cache
def ray_settings() -> RayConfig:
    """Return the ``[ray]`` configuration of this process (loaded once).

    Returns:
        The ``[ray]`` section of :func:`~klaw_core.runtime.config.load_config`,
        cached: later changes to ``klaw.toml`` or the environment are not seen.

    Raises:
        ConfigError: ``klaw.toml`` or a ``KLAW_RAY_*`` variable is invalid.

    Example:
        >>> ray_settings().namespace
        'klaw'
    """
    return load_config().ray


def ensure_ray() -> None:
    """Make sure this process is connected to Ray.

    Does nothing when Ray is already initialised. Otherwise connects to
    ``ray.address`` when it is configured, else starts a local Ray (``num_cpus``
    from the configuration, no dashboard, worker logs not forwarded).

    Raises:
        ConfigError: the configuration is invalid.
        ConnectionError: Ray could not connect to the configured address.

    Example:
        >>> ensure_ray()  # starts a local Ray unless one is up or configured
        >>> ray.is_initialized()
        True
    """
    if ray.is_initialized():
        return
    settings = ray_settings()
    if settings.address is not None:
        ray.init(address=settings.address, log_to_driver=False)
    else:
        ray.init(
            num_cpus=settings.num_cpus,
            include_dashboard=False,
            log_to_driver=False,
        )
