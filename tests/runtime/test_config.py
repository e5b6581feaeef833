"""KlawConfig: defaults, TOML file, KLAW_* overrides, bounds, and error reports."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import msgspec
import pytest

from klaw_core.runtime.config import (
    ChannelDefaults,
    CodecConfig,
    ExecutorConfig,
    KlawConfig,
    Origin,
    RayConfig,
    TelemetryConfig,
    env_var_name,
    iter_values,
    load_config,
    load_config_with_origins,
    resolve_config_path,
    save_config,
)
from klaw_core.runtime.errors import ConfigError


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test in an empty directory with no KLAW_* variable of the caller."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("KLAW_") and name not in (
            "KLAW_NO_EXTENSIONS",
            "KLAW_REQUIRE_EXTENSIONS",
        ):
            monkeypatch.delenv(name)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(excinfo: pytest.ExceptionInfo[ConfigError]) -> str:
    return "\n".join(excinfo.value.problems)


# --------------------------------------------------------------------- defaults


def test_defaults_without_file_or_environment() -> None:
    config, origins = load_config_with_origins(environ={})
    assert config == KlawConfig()
    assert config.ray == RayConfig(address=None, namespace="klaw", max_restarts=4)
    assert config.channels.capacity == 131_072
    assert config.codec.max_frame_size == 16 * 1024 * 1024
    assert set(origins) == {key for key, _ in iter_values(config)}
    assert set(origins.values()) == {Origin("default")}


def test_config_is_frozen() -> None:
    config = load_config(environ={})
    with pytest.raises(AttributeError):
        config.channels.capacity = 5  # type: ignore[misc]


def test_unrelated_klaw_variables_are_ignored() -> None:
    env = {"KLAW_NO_EXTENSIONS": "1", "KLAW_DEBUG": "1", "KLAW_CONFIG": ""}
    assert load_config(environ=env) == KlawConfig()


# ------------------------------------------------------------------------- file


def test_file_values_and_their_origin(tmp_path: Path) -> None:
    path = write(
        tmp_path / "custom.toml",
        '[ray]\naddress = "ray://head:10001"\n\n[channels]\ncapacity = 64\nunbounded = true\n',
    )
    config, origins = load_config_with_origins(path, environ={})
    assert config.ray.address == "ray://head:10001"
    assert config.channels == ChannelDefaults(capacity=64, unbounded=True)
    assert origins["channels.capacity"] == Origin("file", str(path))
    assert origins["channels.timeout"] == Origin("default")


def test_klaw_toml_in_working_directory_is_read() -> None:
    write(Path("klaw.toml"), "[executor]\nmax_workers = 3\n")
    assert resolve_config_path(environ={}) == Path("klaw.toml")
    assert load_config(environ={}).executor == ExecutorConfig(max_workers=3)


def test_klaw_config_variable_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "elsewhere.toml", "[codec]\npool_size = 0\n")
    write(Path("klaw.toml"), "[codec]\npool_size = 7\n")
    env = {"KLAW_CONFIG": str(path)}
    assert load_config(environ=env).codec.pool_size == 0
    # the explicit argument wins over KLAW_CONFIG
    assert load_config("klaw.toml", environ=env).codec.pool_size == 7


def test_klaw_config_from_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "env.toml", "[telemetry]\nenabled = false\n")
    monkeypatch.setenv("KLAW_CONFIG", str(path))
    monkeypatch.setenv("KLAW_TELEMETRY_METRICS_PORT", "9999")
    assert load_config().telemetry == TelemetryConfig(enabled=False, metrics_port=9999)


def test_missing_explicit_path_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"'nope\.toml' \(given\) does not exist"):
        load_config("nope.toml", environ={})


def test_missing_klaw_config_file_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"'gone\.toml' \(named by KLAW_CONFIG\) does not exist"):
        load_config(environ={"KLAW_CONFIG": "gone.toml"})


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.toml", '[ray]\nnamespace = "a"\nnum_cpus = \n')
    with pytest.raises(ConfigError, match=r"broken\.toml' is not valid TOML: .*line 3") as excinfo:
        load_config(path, environ={})
    assert "\n" not in str(excinfo.value)


def test_non_utf8_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[ray]\nnamespace = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"latin1\.toml' is not UTF-8 text \(at byte 22\)"):
        load_config(path, environ={})


def test_directory_instead_of_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path, environ={})


def test_unknown_keys_are_rejected_with_their_path(tmp_path: Path) -> None:
    path = write(tmp_path / "k.toml", "[channels]\ncapcity = 5\n\n[chanels]\ncapacity = 5\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, environ={})
    text = problems_of(excinfo)
    assert f"channels.capcity: unknown key (file {path})" in text
    assert "known keys of [channels]: capacity, unbounded" in text
    assert f"chanels: unknown section (file {path})" in text


def test_top_level_value_instead_of_table(tmp_path: Path) -> None:
    path = write(tmp_path / "flat.toml", "ray = 5\n")
    with pytest.raises(ConfigError, match=r"ray = 5 \(file .*\): expected a table \[ray\]"):
        load_config(path, environ={})


# -------------------------------------------------------------------------- env


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", '[ray]\nnamespace = "file-ns"\naddress = "auto"\n')
    env = {"KLAW_RAY_NAMESPACE": "env-ns", "KLAW_CHANNELS_CAPACITY": "42"}
    config, origins = load_config_with_origins(path, environ=env)
    assert config.ray.namespace == "env-ns"
    assert config.ray.address == "auto"
    assert config.channels.capacity == 42
    assert origins["ray.namespace"] == Origin("env", "KLAW_RAY_NAMESPACE")
    assert origins["ray.address"] == Origin("file", str(path))


def test_every_field_has_an_environment_override() -> None:
    for key, default in iter_values(KlawConfig()):
        name = env_var_name(key)
        assert name == "KLAW_" + key.upper().replace(".", "_")
        value = "" if default is None else str(default)
        config, origins = load_config_with_origins(environ={name: value})
        assert dict(iter_values(config))[key] == default
        assert origins[key] == Origin("env", name)


@pytest.mark.parametrize(
    ("variable", "raw", "key", "expected"),
    [
        ("KLAW_CHANNELS_CAPACITY", " 500 ", "channels.capacity", 500),
        ("KLAW_CHANNELS_UNBOUNDED", "true", "channels.unbounded", True),
        ("KLAW_TELEMETRY_ENABLED", "0", "telemetry.enabled", False),
        ("KLAW_TELEMETRY_TRACE_SAMPLE_RATE", "0.25", "telemetry.trace_sample_rate", 0.25),
        ("KLAW_EXECUTOR_TASK_TIMEOUT", "90", "executor.task_timeout", 90.0),
        ("KLAW_RAY_NUM_CPUS", "2", "ray.num_cpus", 2),
        ("KLAW_RAY_ADDRESS", "ray://10.0.0.1:10001", "ray.address", "ray://10.0.0.1:10001"),
    ],
)
def test_environment_strings_are_coerced(
    variable: str, raw: str, key: str, expected: object
) -> None:
    value = dict(iter_values(load_config(environ={variable: raw})))[key]
    assert value == expected
    assert type(value) is type(expected)


def test_string_to_int_coercion_from_toml(tmp_path: Path) -> None:
    path = write(tmp_path / "s.toml", '[channels]\ncapacity = "500"\ntimeout = 5\n')
    config = load_config(path, environ={})
    assert config.channels.capacity == 500
    assert config.channels.timeout == 5.0
    assert isinstance(config.channels.timeout, float)


def test_empty_variable_sets_an_optional_field_to_none(tmp_path: Path) -> None:
    path = write(tmp_path / "a.toml", '[ray]\naddress = "auto"\nnum_cpus = 2\n')
    env = {"KLAW_RAY_ADDRESS": "", "KLAW_RAY_NUM_CPUS": "  "}
    config, origins = load_config_with_origins(path, environ=env)
    assert config.ray.address is None
    assert config.ray.num_cpus is None
    assert origins["ray.address"] == Origin("env", "KLAW_RAY_ADDRESS")


def test_empty_variable_for_a_required_field_is_an_error() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_config(environ={"KLAW_CHANNELS_CAPACITY": ""})
    assert problems_of(excinfo) == (
        "channels.capacity is empty (env KLAW_CHANNELS_CAPACITY): "
        "unset KLAW_CHANNELS_CAPACITY to use the file's value or the default"
    )


def test_unknown_variable_with_a_section_prefix_is_rejected() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_config(environ={"KLAW_CHANNELS_CAPCITY": "5"})
    assert problems_of(excinfo).startswith(
        "KLAW_CHANNELS_CAPCITY: unknown variable for [channels]; known: KLAW_CHANNELS_CAPACITY,"
    )


def test_uncoercible_environment_value() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_config(environ={"KLAW_TELEMETRY_ENABLED": "maybe"})
    assert problems_of(excinfo) == (
        "telemetry.enabled = 'maybe' (env KLAW_TELEMETRY_ENABLED): expected bool, got str"
    )


# ----------------------------------------------------------------------- bounds

# key -> (a value inside the bounds, a value outside, the bound klaw names)
BOUNDS: dict[str, tuple[Any, Any, str]] = {
    "ray.namespace": ("prod-1", "Prod", "matching regex"),
    "ray.num_cpus": (1, 0, "> 0"),
    "ray.max_restarts": (-1, -2, ">= -1"),
    "ray.max_task_retries": (0, -2, ">= -1"),
    "ray.max_concurrency": (10_000, 10_001, "<= 10000"),
    "channels.capacity": (1_000_000, 0, ">= 1"),
    "channels.timeout": (0, 86_400.5, "<= 86400.0"),
    "channels.batch_size": (100_000, 100_001, "<= 100000"),
    "channels.linger_ms": (0, -0.5, ">= 0.0"),
    "channels.lease_timeout": (3600, 0, "> 0.0"),
    "channels.heartbeat_interval": (0.5, 3600.5, "<= 3600.0"),
    "executor.max_workers": (1, 0, ">= 1"),
    "executor.shutdown_timeout": (86_400, -1, ">= 0.0"),
    "executor.task_timeout": (0.5, 86_401, "<= 86400.0"),
    "telemetry.metrics_port": (1024, 1023, ">= 1024"),
    "telemetry.trace_sample_rate": (1.0, 1.01, "<= 1.0"),
    "codec.max_frame_size": (2**32 - 1, 2**32, "<= 4294967295"),
    "codec.buffer_size": (1, 0, ">= 1"),
    "codec.pool_size": (0, -1, ">= 0"),
}


def test_bounds_table_covers_every_constrained_field() -> None:
    constrained = set()
    for key, _ in iter_values(KlawConfig()):
        section, name = key.split(".")
        cls = type(getattr(KlawConfig(), section))
        tp = next(f.type for f in msgspec.structs.fields(cls) if f.name == name)
        members = get_args(tp) if get_origin(tp) is not Annotated else (tp,)
        if any(get_origin(m) is Annotated for m in members):
            constrained.add(key)
    assert constrained == set(BOUNDS)


def toml_for(key: str, value: object) -> str:
    section, name = key.split(".")
    return msgspec.toml.encode({section: {name: value}}).decode()


@pytest.mark.parametrize("key", sorted(BOUNDS))
def test_value_inside_bounds_is_accepted(key: str, tmp_path: Path) -> None:
    good, _, _ = BOUNDS[key]
    path = write(tmp_path / "in.toml", toml_for(key, good))
    assert dict(iter_values(load_config(path, environ={})))[key] == good
    from_env = load_config(environ={env_var_name(key): str(good)})
    assert dict(iter_values(from_env))[key] == good


@pytest.mark.parametrize("key", sorted(BOUNDS))
def test_value_outside_bounds_names_key_bound_and_origin(key: str, tmp_path: Path) -> None:
    _, bad, bound = BOUNDS[key]
    path = write(tmp_path / "out.toml", toml_for(key, bad))
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, environ={})
    assert problems_of(excinfo).startswith(f"{key} = {bad!r} (file {path}): expected ")
    assert bound in problems_of(excinfo)

    variable = env_var_name(key)
    with pytest.raises(ConfigError) as excinfo:
        load_config(environ={variable: str(bad)})
    assert problems_of(excinfo).startswith(f"{key} = {str(bad)!r} (env {variable}): expected ")
    assert bound in problems_of(excinfo)


def test_upper_bound_of_capacity_and_metrics_port() -> None:
    env = {"KLAW_CHANNELS_CAPACITY": "1000001", "KLAW_TELEMETRY_METRICS_PORT": "65536"}
    with pytest.raises(ConfigError) as excinfo:
        load_config(environ=env)
    assert "expected int <= 1000000" in problems_of(excinfo)
    assert "expected int <= 65535" in problems_of(excinfo)


def test_regex_problem_carries_the_type_description() -> None:
    with pytest.raises(ConfigError, match=r"Namespace: starts with a lowercase letter"):
        load_config(environ={"KLAW_RAY_NAMESPACE": "Bad Name"})


# ------------------------------------------------------------------ multi-error


def test_every_problem_of_file_and_environment_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path / "many.toml",
        "[channels]\ncapacity = 0\nlinger = 3\n\n[telemetry]\ntrace_sample_rate = 2.0\n",
    )
    env = {"KLAW_CODEC_POOL_SIZE": "-5", "KLAW_RAY_NUM_CPUS": "lots"}
    with pytest.raises(ConfigError) as excinfo:
        load_config_with_origins(path, environ=env)
    error = excinfo.value
    assert error.message == f"invalid klaw configuration in {str(path)!r} (5 problems)"
    assert error.problems == (
        f"channels.linger: unknown key (file {path}); known keys of [channels]: "
        "capacity, unbounded, timeout, batch_size, linger_ms, lease_timeout, heartbeat_interval",
        "ray.num_cpus = 'lots' (env KLAW_RAY_NUM_CPUS): expected int | None, got str",
        f"channels.capacity = 0 (file {path}): expected int >= 1",
        f"telemetry.trace_sample_rate = 2.0 (file {path}): expected float <= 1.0",
        "codec.pool_size = '-5' (env KLAW_CODEC_POOL_SIZE): expected int >= 0",
    )
    assert str(error).splitlines()[1:] == [f"  - {p}" for p in error.problems]


def test_origins_name_file_env_and_default(tmp_path: Path) -> None:
    path = write(tmp_path / "o.toml", "[channels]\ncapacity = 8\n")
    _, origins = load_config_with_origins(path, environ={"KLAW_CHANNELS_TIMEOUT": "2.5"})
    assert str(origins["channels.capacity"]) == f"file {path}"
    assert str(origins["channels.timeout"]) == "env KLAW_CHANNELS_TIMEOUT"
    assert str(origins["channels.unbounded"]) == "default"


def test_config_error_pickles() -> None:
    import pickle

    with pytest.raises(ConfigError) as excinfo:
        load_config(environ={"KLAW_CHANNELS_CAPACITY": "0"})
    clone = pickle.loads(pickle.dumps(excinfo.value))
    assert (clone.message, clone.problems) == (excinfo.value.message, excinfo.value.problems)


# ----------------------------------------------------------------------- saving

CUSTOM = KlawConfig(
    ray=RayConfig(address="ray://head:10001", namespace="prod", num_cpus=8, max_restarts=-1),
    channels=ChannelDefaults(
        capacity=256, unbounded=True, timeout=1.5, batch_size=128, linger_ms=1.0
    ),
    executor=ExecutorConfig(max_workers=4, shutdown_timeout=2.0, task_timeout=600.0),
    telemetry=TelemetryConfig(enabled=False, metrics_port=9100, trace_sample_rate=1.0),
    codec=CodecConfig(max_frame_size=1 << 20, buffer_size=65_536, pool_size=0),
)


@pytest.mark.parametrize("config", [KlawConfig(), CUSTOM], ids=["defaults", "custom"])
def test_save_then_load_is_identity(config: KlawConfig, tmp_path: Path) -> None:
    path = tmp_path / "saved.toml"
    save_config(config, path)
    loaded, origins = load_config_with_origins(path, environ={})
    assert loaded == config
    defaults = dict(iter_values(KlawConfig()))
    changed = {key for key, value in iter_values(config) if value != defaults[key]}
    assert {key for key, origin in origins.items() if origin.kind == "file"} == changed


def test_saved_file_is_readable_and_sparse(tmp_path: Path) -> None:
    path = tmp_path / "sparse.toml"
    save_config(KlawConfig(telemetry=TelemetryConfig(metrics_port=9100)), path)
    text = path.read_text()
    assert text.startswith("# klaw-core configuration.")
    assert text.endswith("\n[telemetry]\nmetrics_port = 9100\n")
    assert "[ray]" not in text


def test_save_rejects_an_invalid_struct(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as excinfo:
        save_config(KlawConfig(channels=ChannelDefaults(capacity=0)), tmp_path / "x.toml")
    assert excinfo.value.problems == (
        "channels.capacity = 0 (code save_config): expected int >= 1",
    )
    assert not (tmp_path / "x.toml").exists()


def test_save_without_tomli_w_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tomli_w", None)  # makes `import tomli_w` fail
    with pytest.raises(ConfigError, match=r"needs tomli_w: pip install 'klaw-core\[toml\]'"):
        save_config(CUSTOM, tmp_path / "y.toml")
