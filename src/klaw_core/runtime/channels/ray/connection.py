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
import logging
from typing import Any

import ray as _ray_module
import ray.exceptions as _ray_exceptions

from klaw_core.runtime.channels.ray.reach import check_reachable
from klaw_core.runtime.config import RayConfig, load_config

__all__ = [
    "ActorUnavailableError",
    "RAY_REPORTS_RESTARTING",
    "check_reachable",
    "ensure_ray",
    "ray_settings",
]


class _NeverRaised(Exception):
    """Stands in for an error this Ray never raises (``except`` it catches nothing).

    Example:
        >>> issubclass(_NeverRaised, Exception)
        True
    """


RAY_REPORTS_RESTARTING: bool = hasattr(_ray_exceptions, "ActorUnavailableError")
"""Whether this Ray fails a call to a restarting actor with its own error (recent Ray; 2.10 does not)."""

ActorUnavailableError: type[Exception] = getattr(
    _ray_exceptions, "ActorUnavailableError", _NeverRaised
)
"""What a call to an actor that Ray is restarting fails with (recent Ray; 2.10 has none).

Older Ray has no separate error: such a call fails with ``RayActorError``
like a call to a dead actor, and the endpoints treat it as one (a restart is
then survived through Ray's task retries, ``max_task_retries``, the default).
"""

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


def ensure_ray(
    settings: RayConfig | None = None,
    *,
    num_cpus: int | None = None,
    runtime_env: dict[str, Any] | None = None,
) -> bool:
    """Make sure this process is connected to Ray: the one place klaw starts or joins Ray.

    Does nothing when Ray is already initialised. Otherwise connects to
    ``settings.address`` when it is set (after checking it answers), else
    starts a local Ray (no dashboard, worker logs not forwarded, warnings only).
    Channels, ``klaw demo`` and the benchmarks all come through here.

    Args:
        settings: the ``[ray]`` configuration; default :func:`ray_settings`.
        num_cpus: CPUs of a local Ray (default ``settings.num_cpus``).
        runtime_env: Ray's runtime environment for the workers, if any.

    Returns:
        True when this call started or joined Ray, False when it was up already.

    Raises:
        ConfigError: the configuration is invalid.
        ConnectionError: the configured address does not answer.

    Example:
        >>> _ = ensure_ray()  # starts a local Ray unless one is up or configured
        >>> ray.is_initialized()
        True
    """
    if ray.is_initialized():
        return False
    settings = settings or ray_settings()
    options: dict[str, Any] = {
        "namespace": settings.namespace,
        "logging_level": logging.WARNING,
        "include_dashboard": False,
        # Failures reach the caller as exceptions; forwarded worker logs are noise.
        "log_to_driver": False,
    }
    if runtime_env is not None:
        options["runtime_env"] = runtime_env
    if settings.address is not None:
        check_reachable(settings.address)
        options["address"] = settings.address
    else:
        options["num_cpus"] = num_cpus if num_cpus is not None else settings.num_cpus
    ray.init(**options)
    return True
