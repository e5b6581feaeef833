"""klaw-core configuration: one TOML file, overridden field by field from the environment.

Why it is built this way:

- Every section is a frozen, strict ``msgspec.Struct`` (``forbid_unknown_fields``,
  ``omit_defaults``) whose fields use the constrained types of
  :mod:`klaw_core.runtime.types`, so a value out of range is rejected with its
  bound, and a saved file holds only what differs from the defaults.
- Values are validated **one field at a time** rather than by one
  ``msgspec.convert`` of the whole document, which would stop at the first
  error. A person fixing a config file wants every problem at once, each
  naming the key path (``channels.capacity``), the bound it broke, and where
  the bad value came from: the file, an environment variable or the default.
- Coercion is lax (``strict=False``) only here, at the boundary: a TOML string
  ``"500"`` or an environment variable ``KLAW_CHANNELS_CAPACITY=500`` becomes
  the integer 500. Everywhere else the structs are typed and trusted.

Where the values come from, lowest priority first:

1. the defaults of the structs below;
2. the file: the ``path`` argument, else ``$KLAW_CONFIG``, else ``./klaw.toml``
   when it exists (a path given explicitly, by argument or ``KLAW_CONFIG``,
   must exist);
3. one environment variable per field, ``KLAW_<SECTION>_<FIELD>`` in upper case
   (``KLAW_RAY_ADDRESS``, ``KLAW_CHANNELS_BATCH_SIZE``). Surrounding blanks are
   ignored. An **empty** variable sets an optional field (``ray.address``,
   ``ray.num_cpus``, ``channels.timeout``, ``executor.task_timeout``) to ``None``, the only way to
   undo a file's value since TOML has no null; for any other field an empty
   variable is an error. A variable with a section prefix but an unknown field
   (``KLAW_CHANNELS_CAPCITY``) is an error too, not silently ignored.

Example:
    >>> config = load_config(environ={"KLAW_CHANNELS_CAPACITY": "500"})
    >>> config.channels.capacity, config.ray.address
    (500, None)
    >>> load_config(environ={"KLAW_CHANNELS_CAPACITY": "0"})
    Traceback (most recent call last):
    ...
    klaw_core.runtime.errors.ConfigError: invalid klaw configuration (1 problem)
      - channels.capacity = '0' (env KLAW_CHANNELS_CAPACITY): expected int >= 1
"""

from __future__ import annotations

import functools
import operator
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, TypeAlias, Union, cast, get_args, get_origin

import msgspec

from klaw_core._wiretypes import DEFAULT_MAX_FRAME_SIZE
from klaw_core.runtime.errors import ConfigError
from klaw_core.runtime.types import (
    BatchSize,
    ChannelCapacity,
    ConcurrencyLimit,
    FrameSize,
    Namespace,
    NonNegativeInt,
    PositiveInt,
    Ratio,
    TimeoutSeconds,
)

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_FILE",
    "ChannelDefaults",
    "CodecConfig",
    "ExecutorConfig",
    "KlawConfig",
    "Origin",
    "RayConfig",
    "TelemetryConfig",
    "channel_defaults",
    "env_var_name",
    "iter_values",
    "load_config",
    "load_config_with_origins",
    "resolve_config_path",
    "save_config",
]

#: Environment variable naming the config file.
CONFIG_ENV_VAR = "KLAW_CONFIG"

#: File read from the working directory when no path is given and it exists.
DEFAULT_CONFIG_FILE = "klaw.toml"

_ENV_PREFIX = "KLAW_"

# Ray's own convention: -1 means "retry/restart forever".
_RetryLimit: TypeAlias = Annotated[
    int, msgspec.Meta(ge=-1, le=1_000_000, description="Retries, -1 for unlimited.")
]
# Unprivileged ports only: a metrics exporter should never need root.
_MetricsPort: TypeAlias = Annotated[
    int, msgspec.Meta(ge=1024, le=65_535, description="TCP port, 1024 to 65535.")
]
_LingerMs: TypeAlias = Annotated[
    float, msgspec.Meta(ge=0.0, le=60_000.0, description="Milliseconds, 0 to 60000.")
]
_LeaseSeconds: TypeAlias = Annotated[
    float, msgspec.Meta(gt=0.0, le=3600.0, description="Seconds, above 0 up to 3600.")
]


class RayConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Where and how to run on Ray.

    Attributes:
        address: Ray cluster address (``"ray://host:10001"``, ``"auto"``); ``None``
            starts a local one-machine Ray.
        namespace: Ray namespace for named actors and channels.
        num_cpus: CPUs for a locally started Ray; ``None`` lets Ray count them.
        max_restarts: actor restarts after a crash (-1 forever).
        max_task_retries: retries of an actor call after a crash (-1 forever).
        max_concurrency: concurrent calls one channel actor serves.

    Example:
        >>> import msgspec
        >>> RayConfig().address, RayConfig().namespace, RayConfig().max_restarts
        (None, 'klaw', 4)
        >>> RayConfig(address="ray://head:10001").address
        'ray://head:10001'
        >>> msgspec.convert({"max_restarts": -2}, RayConfig)
        Traceback (most recent call last):
        ...
        msgspec.ValidationError: ...max_restarts...
    """

    address: str | None = None
    namespace: Namespace = "klaw"
    num_cpus: PositiveInt | None = None
    max_restarts: _RetryLimit = 4
    max_task_retries: _RetryLimit = -1
    max_concurrency: ConcurrencyLimit = 1000


class ChannelDefaults(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Defaults of new channels.

    Attributes:
        capacity: items a bounded channel buffers.
        unbounded: make channels unbounded unless a capacity is asked for.
        timeout: the default deadline, in seconds, of a blocking ``send``/``recv``
            on a channel made by ``channel()`` (past it the call raises
            ``ChannelTimeoutError``); ``None`` (the default) or ``0``: no deadline,
            as in anyio, trio and tokio.
        batch_size: messages a Ray sender packs into one actor call.
        linger_ms: how long a Ray sender waits for a batch to fill before
            flushing; ``0`` (default) is natural batching: a batch leaves as
            soon as the sender has no call in flight.
        lease_timeout: seconds a Ray channel endpoint may stay silent (no
            call, no heartbeat) before the channel declares it lost.
        heartbeat_interval: seconds between heartbeats of an idle Ray endpoint.

    Example:
        >>> import msgspec
        >>> ChannelDefaults().capacity, ChannelDefaults().batch_size
        (131072, 16384)
        >>> # lax, as for a TOML string or KLAW_CHANNELS_CAPACITY=500
        >>> msgspec.convert({"capacity": "500"}, ChannelDefaults, strict=False).capacity
        500
        >>> msgspec.convert({"capacity": 0}, ChannelDefaults)
        Traceback (most recent call last):
        ...
        msgspec.ValidationError: ...capacity...
    """

    capacity: ChannelCapacity = 131_072
    unbounded: bool = False
    timeout: TimeoutSeconds | None = None
    batch_size: BatchSize = 16_384
    linger_ms: _LingerMs = 0.0
    lease_timeout: _LeaseSeconds = 5.0
    heartbeat_interval: _LeaseSeconds = 1.0

    def __post_init__(self) -> None:
        if self.heartbeat_interval >= self.lease_timeout:
            raise ValueError(
                f"channels.heartbeat_interval ({self.heartbeat_interval}) must be below "
                f"channels.lease_timeout ({self.lease_timeout})"
            )


class ExecutorConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Task executor limits.

    Attributes:
        max_workers: tasks run at the same time.
        shutdown_timeout: seconds to wait for running tasks at shutdown.
        task_timeout: seconds one task may run; ``None`` for no limit.

    Example:
        >>> import msgspec
        >>> ExecutorConfig().max_workers, ExecutorConfig().task_timeout
        (64, None)
        >>> ExecutorConfig(task_timeout=120.0).task_timeout
        120.0
        >>> msgspec.convert({"max_worker": 8}, ExecutorConfig)  # a misspelled key
        Traceback (most recent call last):
        ...
        msgspec.ValidationError: ...max_worker...
    """

    max_workers: ConcurrencyLimit = 64
    shutdown_timeout: TimeoutSeconds = 30.0
    task_timeout: TimeoutSeconds | None = None


class TelemetryConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Metrics and tracing.

    Attributes:
        enabled: collect metrics and traces at all.
        metrics_port: port of the metrics endpoint (1024 to 65535).
        trace_sample_rate: fraction of operations traced, 0.0 to 1.0.

    Example:
        >>> import msgspec
        >>> TelemetryConfig().metrics_port, TelemetryConfig().trace_sample_rate
        (9090, 0.1)
        >>> TelemetryConfig(trace_sample_rate=1.0).trace_sample_rate
        1.0
        >>> msgspec.convert({"trace_sample_rate": 1.5}, TelemetryConfig)
        Traceback (most recent call last):
        ...
        msgspec.ValidationError: ...trace_sample_rate...
    """

    enabled: bool = True
    metrics_port: _MetricsPort = 9090
    trace_sample_rate: Ratio = 0.1


class CodecConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Wire codec limits and buffer pooling.

    Attributes:
        max_frame_size: largest frame accepted, in bytes (16 MiB by default).
        buffer_size: initial capacity of a pooled encode buffer, in bytes.
        pool_size: buffers kept for reuse per pool.

    Example:
        >>> import msgspec
        >>> CodecConfig().max_frame_size == 16 * 1024 * 1024
        True
        >>> msgspec.to_builtins(CodecConfig(pool_size=8))  # only what differs from the defaults
        {'pool_size': 8}
        >>> msgspec.convert({"pool_size": -1}, CodecConfig)
        Traceback (most recent call last):
        ...
        msgspec.ValidationError: ...pool_size...
    """

    max_frame_size: FrameSize = DEFAULT_MAX_FRAME_SIZE  # DESIGN §3: 16 MiB
    buffer_size: FrameSize = 4096
    pool_size: NonNegativeInt = 64


class KlawConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """The whole configuration: one struct per TOML table.

    Example:
        >>> KlawConfig().channels.capacity
        131072
        >>> msgspec.structs.replace(KlawConfig(), ray=RayConfig(address="auto")).ray.address
        'auto'
    """

    ray: RayConfig = msgspec.field(default_factory=RayConfig)
    channels: ChannelDefaults = msgspec.field(default_factory=ChannelDefaults)
    executor: ExecutorConfig = msgspec.field(default_factory=ExecutorConfig)
    telemetry: TelemetryConfig = msgspec.field(default_factory=TelemetryConfig)
    codec: CodecConfig = msgspec.field(default_factory=CodecConfig)


class Origin(msgspec.Struct, frozen=True):
    """Where one configuration value came from.

    Attributes:
        kind: ``"default"``, ``"file"``, ``"env"`` or ``"code"`` (a struct passed
            to :func:`save_config`).
        source: the file path or the environment variable name ("" otherwise).

    Example:
        >>> str(Origin("env", "KLAW_RAY_ADDRESS"))
        'env KLAW_RAY_ADDRESS'
        >>> str(Origin("default"))
        'default'
    """

    kind: Literal["default", "file", "env", "code"]
    source: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.source}" if self.source else self.kind


# --------------------------------------------------------------------- the schema


class _Field(msgspec.Struct, frozen=True):
    section: str
    name: str
    type: Any
    default: Any
    optional: bool  # accepts None: an empty environment variable means None

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"


def _accepts_none(tp: Any) -> bool:
    try:
        msgspec.convert(None, tp)
    except msgspec.ValidationError:
        return False
    return True


def _schema() -> dict[str, tuple[type[msgspec.Struct], dict[str, _Field]]]:
    sections: dict[str, tuple[type[msgspec.Struct], dict[str, _Field]]] = {}
    for section in msgspec.structs.fields(KlawConfig):
        cls: type[msgspec.Struct] = section.type
        instance = cls()
        sections[section.name] = (
            cls,
            {
                f.name: _Field(
                    section.name, f.name, f.type, getattr(instance, f.name), _accepts_none(f.type)
                )
                for f in msgspec.structs.fields(cls)
            },
        )
    return sections


_SECTIONS = _schema()
_FIELDS: dict[str, _Field] = {
    field.key: field for _, fields in _SECTIONS.values() for field in fields.values()
}


def env_var_name(key: str) -> str:
    """Return the environment variable that overrides the field ``key``.

    Args:
        key: a key path such as ``"channels.batch_size"``.

    Returns:
        The variable name, ``KLAW_<SECTION>_<FIELD>``.

    Raises:
        KeyError: ``key`` is not a configuration field.

    Example:
        >>> env_var_name("channels.batch_size")
        'KLAW_CHANNELS_BATCH_SIZE'
    """
    field = _FIELDS[key]
    return f"{_ENV_PREFIX}{field.section.upper()}_{field.name.upper()}"


_ENV_NAMES: dict[str, str] = {env_var_name(key): key for key in _FIELDS}
_ENV_SECTION_PREFIXES = tuple(f"{_ENV_PREFIX}{section.upper()}_" for section in _SECTIONS)


def iter_values(config: KlawConfig) -> Iterator[tuple[str, Any]]:
    """Yield ``(key_path, value)`` for every field, in declaration order.

    Args:
        config: the configuration to walk.

    Yields:
        ``(key_path, value)`` pairs such as ``("ray.address", None)``: the
        sections in :class:`KlawConfig` order, each section's fields in
        struct order, defaults included.

    Example:
        >>> dict(iter_values(KlawConfig()))["telemetry.metrics_port"]
        9090
    """
    for section, (_, fields) in _SECTIONS.items():
        values = getattr(config, section)
        for name in fields:
            yield f"{section}.{name}", getattr(values, name)


# ---------------------------------------------------------------------- loading


def resolve_config_path(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """Return the config file to read, or ``None`` to use defaults (and the environment).

    Args:
        path: an explicit file; it must exist.
        environ: the environment to read ``KLAW_CONFIG`` from (``os.environ`` by default).

    Returns:
        ``path``, else ``$KLAW_CONFIG`` (when set and non-empty), else ``./klaw.toml``
        when that file exists, else ``None``.

    Raises:
        ConfigError: an explicitly named file (argument or ``KLAW_CONFIG``) does not exist.

    Example:
        >>> resolve_config_path(environ={"KLAW_CONFIG": "/etc/klaw/missing.toml"})
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.ConfigError: config file '/etc/klaw/missing.toml' (named by KLAW_CONFIG) does not exist
    """
    env = os.environ if environ is None else environ
    if path is not None:
        explicit, how = Path(path), "given"
    elif env.get(CONFIG_ENV_VAR, "").strip():
        explicit, how = Path(env[CONFIG_ENV_VAR].strip()), f"named by {CONFIG_ENV_VAR}"
    else:
        default = Path(DEFAULT_CONFIG_FILE)
        return default if default.is_file() else None
    if not explicit.exists():
        raise ConfigError(f"config file {str(explicit)!r} ({how}) does not exist")
    return explicit


@functools.cache
def channel_defaults() -> ChannelDefaults:
    """Return the ``[channels]`` section of this process's configuration, loaded once.

    ``channel()`` takes its default capacity from it, and Ray channels their
    default ``batch_size`` and ``linger_ms``. Cached so that creating a channel
    never re-reads ``klaw.toml``: set ``KLAW_CHANNELS_*`` variables (or write the
    file) before the first channel is made.

    Returns:
        ``load_config().channels``, as it was at the first call.

    Raises:
        ConfigError: ``klaw.toml`` or a ``KLAW_*`` variable is invalid.

    Example:
        >>> channel_defaults() is channel_defaults()
        True
        >>> channel_defaults().capacity >= 1
        True
    """
    return load_config().channels


def load_config(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> KlawConfig:
    """Load the configuration: defaults, then the TOML file, then ``KLAW_*`` variables.

    Args:
        path: the TOML file; ``None`` means ``$KLAW_CONFIG``, else ``./klaw.toml``
            if present, else defaults only.
        environ: environment to read (``os.environ`` by default).

    Returns:
        The validated, frozen :class:`KlawConfig`.

    Raises:
        ConfigError: the file is missing (when named explicitly), unreadable or not
            TOML (with its line), or any value is unknown or out of range. Every
            problem of the file and the environment is listed in ``problems``.

    Example:
        >>> load_config(environ={"KLAW_RAY_ADDRESS": "auto"}).ray.address
        'auto'
    """
    return load_config_with_origins(path, environ=environ)[0]


def load_config_with_origins(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> tuple[KlawConfig, dict[str, Origin]]:
    """Like :func:`load_config`, also saying where each value came from.

    Args:
        path: as :func:`load_config`: the TOML file, else ``$KLAW_CONFIG``,
            else ``./klaw.toml`` if present.
        environ: environment to read (``os.environ`` by default).

    Returns:
        ``(config, origins)`` where ``origins`` maps every key path
        (``"ray.address"``) to its :class:`Origin`.

    Raises:
        ConfigError: as :func:`load_config`.

    Example:
        >>> config, origins = load_config_with_origins(environ={"KLAW_RAY_NAMESPACE": "prod"})
        >>> str(origins["ray.namespace"]), str(origins["ray.address"])
        ('env KLAW_RAY_NAMESPACE', 'default')
    """
    env = os.environ if environ is None else environ
    file = resolve_config_path(path, env)
    raw: dict[str, tuple[Any, Origin]] = {}
    problems: list[str] = []
    if file is not None:
        _collect_file(file, raw, problems)
    _collect_env(env, raw, problems)
    return _build(raw, problems, file)


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        text = file.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(file)!r}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {str(file)!r} is not UTF-8 text (at byte {exc.start})"
        ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(file)!r} is not valid TOML: {exc}") from exc


def _collect_file(file: Path, raw: dict[str, tuple[Any, Origin]], problems: list[str]) -> None:
    origin = Origin("file", str(file))
    for section, table in _read_toml(file).items():
        if section not in _SECTIONS:
            problems.append(
                f"{section}: unknown section ({origin}); known sections: {', '.join(_SECTIONS)}"
            )
            continue
        fields = _SECTIONS[section][1]
        if not isinstance(table, dict):
            problems.append(
                f"{section} = {table!r} ({origin}): expected a table [{section}] "
                f"with keys {', '.join(fields)}"
            )
            continue
        entries = cast("dict[str, Any]", table)  # tomllib: keys are str
        for name, value in entries.items():
            if name in fields:
                raw[f"{section}.{name}"] = (value, origin)
            else:
                problems.append(
                    f"{section}.{name}: unknown key ({origin}); "
                    f"known keys of [{section}]: {', '.join(fields)}"
                )


def _collect_env(
    env: Mapping[str, str], raw: dict[str, tuple[Any, Origin]], problems: list[str]
) -> None:
    for var in sorted(env):
        if not var.startswith(_ENV_SECTION_PREFIXES):
            continue
        key = _ENV_NAMES.get(var)
        if key is None:
            section = var[len(_ENV_PREFIX) :].split("_", 1)[0].lower()
            known = ", ".join(env_var_name(f"{section}.{name}") for name in _SECTIONS[section][1])
            problems.append(f"{var}: unknown variable for [{section}]; known: {known}")
            continue
        value = env[var].strip()
        if value == "" and _FIELDS[key].optional:
            raw[key] = (None, Origin("env", var))
        else:
            raw[key] = (value, Origin("env", var))


def _describe(exc: msgspec.ValidationError, tp: Any, value: Any) -> str:
    """Say in klaw's words what ``value`` breaks: the bound, or the expected type.

    The bound is read from the field's ``msgspec.Meta``, so the message does not
    depend on how a msgspec release words its own; msgspec's message is the
    fallback for anything else (e.g. an integer too large for 64 bits).
    """
    members = get_args(tp) if get_origin(tp) in (Union, UnionType) else (tp,)
    for member in members:
        if get_origin(member) is not Annotated:
            continue
        base, *extras = get_args(member)
        metas = [m for m in extras if isinstance(m, msgspec.Meta)]
        try:
            plain = msgspec.convert(value, base, strict=False)
        except msgspec.ValidationError:
            continue
        for meta in metas:
            broken = _broken_bound(plain, base, meta)
            if broken is not None:
                return broken
    names = " | ".join(_type_name(m) for m in members)
    if not any(_accepts(m, value) for m in members):
        return f"expected {names}, got {type(value).__name__}"
    text = str(exc).replace("`", "")
    return text[:1].lower() + text[1:]


def _type_name(tp: Any) -> str:
    base = get_args(tp)[0] if get_origin(tp) is Annotated else tp
    return "None" if base is type(None) else getattr(base, "__name__", str(base))


def _accepts(tp: Any, value: Any) -> bool:
    """Whether ``value`` converts to ``tp``'s type, its bounds aside."""
    base = get_args(tp)[0] if get_origin(tp) is Annotated else tp
    try:
        msgspec.convert(value, base, strict=False)
    except msgspec.ValidationError:
        return False
    return True


def _broken_bound(value: Any, base: type, meta: msgspec.Meta) -> str | None:
    """The first bound of ``meta`` that ``value`` breaks, in klaw's words."""
    name = base.__name__
    if isinstance(value, int | float) and not isinstance(value, bool):
        for op, bound in ((">=", meta.ge), (">", meta.gt), ("<=", meta.le), ("<", meta.lt)):
            if bound is not None and not _OPS[op](value, bound):
                return f"expected {name} {op} {bound!r}"
    if isinstance(value, str):
        if meta.min_length is not None and len(value) < meta.min_length:
            return f"expected {name} of length >= {meta.min_length}"
        if meta.max_length is not None and len(value) > meta.max_length:
            return f"expected {name} of length <= {meta.max_length}"
        if meta.pattern is not None and re.search(meta.pattern, value) is None:
            hint = f" ({meta.description})" if meta.description else ""
            return f"expected {name} matching regex {meta.pattern!r}{hint}"
    return None


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


def _build(
    raw: Mapping[str, tuple[Any, Origin]], problems: list[str], file: Path | None
) -> tuple[KlawConfig, dict[str, Origin]]:
    values: dict[str, Any] = {}
    origins: dict[str, Origin] = {}
    for key, field in _FIELDS.items():
        if key not in raw:
            values[key], origins[key] = field.default, Origin("default")
            continue
        value, origin = raw[key]
        origins[key] = origin
        if value == "" and origin.kind == "env":
            problems.append(
                f"{key} is empty ({origin}): unset {origin.source} to use "
                "the file's value or the default"
            )
            continue
        try:
            values[key] = msgspec.convert(value, field.type, strict=False)
        except msgspec.ValidationError as exc:
            problems.append(f"{key} = {value!r} ({origin}): {_describe(exc, field.type, value)}")
    if problems:
        count = len(problems)
        where = f" in {str(file)!r}" if file is not None else ""
        raise ConfigError(
            f"invalid klaw configuration{where} ({count} problem{'s' if count > 1 else ''})",
            tuple(problems),
        )
    sections: dict[str, Any] = {
        section: cls(**{name: values[f"{section}.{name}"] for name in fields})
        for section, (cls, fields) in _SECTIONS.items()
    }
    return KlawConfig(**sections), origins


# ----------------------------------------------------------------------- saving

_HEADER = (
    "# klaw-core configuration. Only values that differ from the defaults are listed;\n"
    "# `klaw config show` prints every value and where it comes from.\n"
)


def save_config(config: KlawConfig, path: str | os.PathLike[str]) -> None:
    """Write ``config`` as TOML that :func:`load_config` reads back identically.

    Only values that differ from the defaults are written, one table per
    section, under a short comment header.

    Args:
        config: the configuration; it is validated first.
        path: the file to write.

    Raises:
        ConfigError: ``config`` holds an invalid value (structs built in Python
            are not validated), or ``tomli_w`` is missing (install
            ``klaw-core[toml]``).
        OSError: the file cannot be written.

    Example:
        >>> import pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "klaw.toml"
        >>> config = KlawConfig(channels=ChannelDefaults(capacity=64))
        >>> save_config(config, target)
        >>> print(target.read_text().split("\\n\\n", 1)[1], end="")
        [channels]
        capacity = 64
        >>> load_config(target, environ={}) == config
        True
    """
    code = Origin("code", "save_config")
    _build({key: (value, code) for key, value in iter_values(config)}, [], None)
    tables = {name: table for name, table in msgspec.to_builtins(config).items() if table}
    try:
        body = msgspec.toml.encode(tables) if tables else b""
    except ImportError as exc:
        raise ConfigError(
            "saving a config as TOML needs tomli_w: pip install 'klaw-core[toml]'"
        ) from exc
    Path(path).write_bytes(_HEADER.encode() + b"\n" + body)
