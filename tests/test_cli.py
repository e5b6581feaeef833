"""The ``klaw`` command, run for real: ``python -m klaw_core ...`` in a subprocess.

Each subcommand's success path, and its bad-input paths: exit code 2, a clear
one-line reason on stderr, never a traceback.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import msgspec
import pytest

import klaw_core
from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.wire import (
    Ack,
    ControlAction,
    ControlMessage,
    DataMessage,
    Heartbeat,
    WireError,
)
from ray_support import HAVE_RAY

SRC = Path(klaw_core.__file__).resolve().parents[1]


def klaw_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment minus config variables, importing this klaw_core."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (
            k.startswith("KLAW_") and k not in ("KLAW_NO_EXTENSIONS", "KLAW_REQUIRE_EXTENSIONS")
        )
    }
    env.pop("RAY_ADDRESS", None)  # the demo starts its own Ray
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    env.update({"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"})
    env.update(extra or {})
    return env


def klaw(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "klaw_core", *args],
        cwd=cwd,
        env=klaw_env(env),
        input=None if stdin is None else stdin.decode("latin-1"),
        capture_output=True,
        text=True,
        encoding="latin-1",
        timeout=timeout,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def assert_usage_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit code 2 and exactly one line on stderr containing every fragment."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


ENVELOPES = [
    DataMessage.new({"order": 7, "symbol": "KLAW"}, channel_id="jobs", seq=0, ts=1000),
    ControlMessage.new(
        ControlAction.CLOSE, metadata={"why": "done"}, channel_id="jobs", seq=1, ts=1001
    ),
    Heartbeat.new("worker-1", ts=5),
    Ack.new(41, channel_id="jobs", ts=0),
    WireError.new("E_FULL", "channel full", details={"capacity": 8}, ts=0),
]


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    path = tmp_path / "frames.bin"
    path.write_bytes(bytes(get_codec_pool().encode_frames(ENVELOPES)))
    return path


# ---------------------------------------------------------------- top level


def test_version(tmp_path: Path) -> None:
    result = klaw("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"klaw-core {klaw_core.__version__}"


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    assert_usage_error(klaw(cwd=tmp_path), "the following arguments are required: COMMAND")


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    assert_usage_error(klaw("frobnicate", cwd=tmp_path), "invalid choice: 'frobnicate'")


# ---------------------------------------------------------------------- info


def test_info_reports_versions_and_implementation(tmp_path: Path) -> None:
    result = klaw("info", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"klaw-core    {klaw_core.__version__}" in result.stdout
    assert msgspec.__version__ in result.stdout
    assert f"wire core    {klaw_core.IMPLEMENTATION} " in result.stdout
    try:
        ray_version = importlib.metadata.version("ray")
    except importlib.metadata.PackageNotFoundError:
        ray_version = "not installed"
    assert f"Ray          {ray_version}" in result.stdout


def test_info_json_does_not_import_ray(tmp_path: Path) -> None:
    code = (
        "import sys; from klaw_core.cli import main; rc = main(['info', '--json']); "
        "print('ray imported' if 'ray' in sys.modules else 'ray not imported'); sys.exit(rc)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=klaw_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    facts_line, verdict = result.stdout.splitlines()
    facts = json.loads(facts_line)
    assert facts["implementation"] == klaw_core.IMPLEMENTATION
    assert facts["klaw_core"] == klaw_core.__version__
    assert verdict == "ray not imported"


def test_info_with_a_broken_klaw_config_still_reports(tmp_path: Path) -> None:
    result = klaw("info", cwd=tmp_path, env={"KLAW_CONFIG": "missing.toml"})
    assert result.returncode == 0
    assert (
        "invalid: config file 'missing.toml' (named by KLAW_CONFIG) does not exist" in result.stdout
    )


# -------------------------------------------------------------------- config


def test_config_check_defaults(tmp_path: Path) -> None:
    result = klaw("config", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: no file")


def test_config_check_valid_file(tmp_path: Path) -> None:
    (tmp_path / "klaw.toml").write_text("[channels]\ncapacity = 64\n")
    result = klaw("config", "check", cwd=tmp_path, env={"KLAW_RAY_ADDRESS": "auto"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: klaw.toml: 1 value(s) from the file, 1 from the environment\n"


def test_config_check_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[channels]\ncapacity = 0\ncapcity = 5\n\n[ray]\nnamespace = "Prod"\n')
    result = klaw(
        "config", "check", str(path), cwd=tmp_path, env={"KLAW_TELEMETRY_METRICS_PORT": "80"}
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"klaw: error: invalid klaw configuration in {str(path)!r} (4 problems)"
    assert lines[1].startswith(f"  - channels.capcity: unknown key (file {path})")
    assert lines[2].startswith(
        f"  - ray.namespace = 'Prod' (file {path}): expected str matching regex"
    )
    assert lines[3] == f"  - channels.capacity = 0 (file {path}): expected int >= 1"
    assert (
        lines[4]
        == "  - telemetry.metrics_port = '80' (env KLAW_TELEMETRY_METRICS_PORT): expected int >= 1024"
    )
    assert len(lines) == 5


def test_config_check_missing_file(tmp_path: Path) -> None:
    assert_usage_error(
        klaw("config", "check", "nope.toml", cwd=tmp_path),
        "klaw: error: config file 'nope.toml' (given) does not exist",
    )


def test_config_check_invalid_toml(tmp_path: Path) -> None:
    (tmp_path / "klaw.toml").write_text("[ray]\naddress = \n")
    assert_usage_error(
        klaw("config", "check", cwd=tmp_path), "'klaw.toml' is not valid TOML", "line 2"
    )


def test_config_show_names_each_origin(tmp_path: Path) -> None:
    (tmp_path / "klaw.toml").write_text("[channels]\ncapacity = 64\n")
    result = klaw("config", "show", cwd=tmp_path, env={"KLAW_RAY_ADDRESS": "ray://head:10001"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "# config: klaw.toml"
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:]}
    assert len(rows) == 22
    assert rows["channels.capacity"] == ["64", "file", "klaw.toml"]
    assert rows["ray.address"] == ['"ray://head:10001"', "env", "KLAW_RAY_ADDRESS"]
    assert rows["ray.num_cpus"] == ["(not", "set)", "default"]
    assert rows["telemetry.metrics_port"] == ["9090", "default"]


def test_config_show_json(tmp_path: Path) -> None:
    result = klaw("config", "show", "--json", cwd=tmp_path, env={"KLAW_CHANNELS_UNBOUNDED": "true"})
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)["values"]
    assert values["channels.unbounded"] == {
        "value": True,
        "origin": "env KLAW_CHANNELS_UNBOUNDED",
        "env": "KLAW_CHANNELS_UNBOUNDED",
    }


def test_config_show_bad_environment(tmp_path: Path) -> None:
    result = klaw("config", "show", cwd=tmp_path, env={"KLAW_CHANNELS_CAPACITY": "lots"})
    assert result.returncode == 2
    assert result.stderr.splitlines()[1] == (
        "  - channels.capacity = 'lots' (env KLAW_CHANNELS_CAPACITY): expected int, got str"
    )


def test_config_needs_an_action(tmp_path: Path) -> None:
    assert_usage_error(klaw("config", cwd=tmp_path), "klaw config: error:", "ACTION")


# -------------------------------------------------------------------- schema


def test_schema_wire(tmp_path: Path) -> None:
    result = klaw("schema", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document["versions"]) == {"1"}
    assert {
        "DataMessage_Raw_",
        "ControlMessage",
        "Heartbeat",
        "Ack",
        "WireError",
        "WireHeader",
    } <= set(document["$defs"])
    assert ">>>" not in result.stdout  # docstring examples are stripped


def test_schema_config_on_one_line(tmp_path: Path) -> None:
    result = klaw("schema", "config", "--indent", "0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    defs = json.loads(result.stdout)["$defs"]
    port = defs["TelemetryConfig"]["properties"]["metrics_port"]
    assert (port["minimum"], port["maximum"]) == (1024, 65535)


def test_schema_bad_arguments(tmp_path: Path) -> None:
    assert_usage_error(klaw("schema", "yaml", cwd=tmp_path), "invalid choice: 'yaml'")
    assert_usage_error(klaw("schema", "--indent", "-1", cwd=tmp_path), "must be an integer >= 0")


# ------------------------------------------------------------------- inspect


def test_inspect_prints_one_line_per_envelope(frames: Path) -> None:
    result = klaw("inspect", str(frames), cwd=frames.parent)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines] == [
        "DataMessage",
        "ControlMessage",
        "Heartbeat",
        "Ack",
        "WireError",
    ]
    assert lines[0].split()[0] == "0"
    assert "channel_id='jobs' seq=0 ts=1000" in lines[0]
    assert "payload={'order': 7, 'symbol': 'KLAW'}" in lines[0]
    assert "action='close'" in lines[1]
    assert "metadata={'why': 'done'}" in lines[1]
    assert "acked_seq=41" in lines[3]
    assert result.stderr == f"{frames}: 5 envelope(s)\n"


def test_inspect_json_lines(frames: Path) -> None:
    result = klaw("inspect", "--json", str(frames), cwd=frames.parent)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    first = records[0]
    assert first["type"] == "DataMessage"
    assert first["tag"] == 1
    assert first["offset"] == 0
    assert first["header"] == {"version": 1, "kind": 1, "channel_id": "jobs", "seq": 0, "ts": 1000}
    assert first["fields"] == {"payload": {"order": 7, "symbol": "KLAW"}}
    assert records[1]["offset"] == first["size"]
    assert sum(r["size"] for r in records) == frames.stat().st_size
    assert records[4]["fields"]["details"] == {"capacity": 8}


def test_inspect_stdin(frames: Path) -> None:
    result = klaw("inspect", "-", cwd=frames.parent, stdin=frames.read_bytes())
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 5
    assert result.stderr == "<stdin>: 5 envelope(s)\n"


def test_inspect_corrupt_envelope_names_the_offset(frames: Path) -> None:
    data = bytearray(frames.read_bytes())
    second = 4 + int.from_bytes(data[:4], "big")
    data[second + 4] = 0x00  # the second envelope no longer starts with an array
    bad = frames.with_name("corrupt.bin")
    bad.write_bytes(bytes(data))
    result = klaw("inspect", str(bad), cwd=frames.parent)
    assert_usage_error(result, f"klaw: error: {bad}: ", f"(at byte {second + 4})")
    assert len(result.stdout.splitlines()) == 1  # the envelope before it was printed


def test_inspect_truncated_stream(frames: Path) -> None:
    bad = frames.with_name("truncated.bin")
    bad.write_bytes(frames.read_bytes()[:-3])
    assert_usage_error(
        klaw("inspect", str(bad), cwd=frames.parent), "frame declares", "present (at byte"
    )


def test_inspect_frame_too_large(tmp_path: Path) -> None:
    bad = tmp_path / "huge.bin"
    bad.write_bytes(b"\x00\x10\x00\x00" + b"\x90")
    assert_usage_error(
        klaw("inspect", "--max-frame-size", "1024", str(bad), cwd=tmp_path),
        "frame declares 1048576 bytes, more than the maximum 1024 (at byte 0)",
    )


def test_inspect_unknown_schema_version(frames: Path) -> None:
    data = frames.read_bytes()
    first = data[: 4 + int.from_bytes(data[:4], "big")]
    bad = frames.with_name("v9.bin")
    bad.write_bytes(first.replace(b"\x95\x01", b"\x95\x09", 1))
    assert_usage_error(
        klaw("inspect", str(bad), cwd=frames.parent),
        "schema version 9 is not registered (known: 1) (at byte 4)",
    )


def test_inspect_missing_file(tmp_path: Path) -> None:
    assert_usage_error(
        klaw("inspect", "nope.bin", cwd=tmp_path),
        "klaw: error: cannot open 'nope.bin': No such file or directory",
    )


def test_inspect_needs_a_file(tmp_path: Path) -> None:
    assert_usage_error(klaw("inspect", cwd=tmp_path), "klaw inspect: error:", "FILE")


def test_inspect_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    path = tmp_path / "many.bin"
    path.write_bytes(bytes(get_codec_pool().encode_frames([Heartbeat.new("w", ts=0)] * 50_000)))
    process = subprocess.Popen(
        [sys.executable, "-m", "klaw_core", "inspect", str(path)],
        cwd=tmp_path,
        env=klaw_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    assert process.stdout.readline().split()[1] == b"Heartbeat"
    process.stdout.close()  # like `klaw inspect many.bin | head -1`
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 0
    assert b"Traceback" not in stderr


#: ``python -m klaw_core`` with Python's SIGINT handler installed. A suite
#: started in the background by a shell without job control (``cmd &`` in a
#: script, as CI runners may start it) has SIGINT ignored, its children inherit
#: that, and Python keeps it ignored: Ctrl-C is then the shell's to deliver, not
#: the test's. This test is about klaw's answer to SIGINT, so its child takes
#: the signal whatever the suite's own disposition (no ``preexec_fn``: unsafe in
#: a process with threads, as a Ray test session has).
RUN_WITH_SIGINT = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'klaw'; runpy.run_module('klaw_core', run_name='__main__', alter_sys=True)"
)


def test_interrupt_exits_130(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_WITH_SIGINT, "inspect", "-"],
        cwd=tmp_path,
        env=klaw_env({"PYTHONUNBUFFERED": "1"}),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdin.write(bytes(get_codec_pool().encode_frames([Heartbeat.new("w", ts=0)])))
    process.stdin.flush()
    assert b"Heartbeat" in process.stdout.readline()  # it is now waiting for more input
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    assert process.stderr.read() == b"klaw: error: interrupted\n"
    process.stdin.close()
    process.stdout.close()
    process.stderr.close()


# --------------------------------------------------------------------- bench


def test_bench_quick(tmp_path: Path) -> None:
    result = klaw("bench", "--quick", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    lines = out.splitlines()
    assert lines[1].split() == ["operation", "cython", "python", "speed-up"]
    rows = lines[3:11]
    assert [row.split()[0] for row in rows] == [
        "encode_frames",
        "split_frames",
        "decode_frames",
        "FrameDecoder.feed",
        "peek_header,",
        "peek_header,",
        "peek_version",
        "BufferPool",
    ]
    for row in rows:
        *_, compiled_ns, pure_ns, speed_up = row.split()
        assert float(pure_ns.replace(",", "")) > 0
        assert compiled_ns == "-" or float(compiled_ns.replace(",", "")) > 0
        assert speed_up == "-" or speed_up.endswith("x")
    codec = [line.split() for line in lines if line.startswith(("encode ", "decode + validate"))]
    assert len(codec) == 2
    assert f"msgspec {msgspec.__version__}" in lines[-1]


def test_bench_rejects_unknown_option(tmp_path: Path) -> None:
    assert_usage_error(klaw("bench", "--fast", cwd=tmp_path), "unrecognized arguments: --fast")


# ---------------------------------------------------------------------- demo


def test_demo_rejects_bad_arguments(tmp_path: Path) -> None:
    assert_usage_error(
        klaw("demo", "--messages", "0", cwd=tmp_path), "must be an integer >= 1, got '0'"
    )
    assert_usage_error(klaw("demo", "--producers", "two", cwd=tmp_path), "got 'two'")


def test_demo_with_bad_config_fails_before_starting_ray(tmp_path: Path) -> None:
    result = klaw("demo", cwd=tmp_path, env={"KLAW_CHANNELS_CAPACITY": "0"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "klaw: error: invalid klaw configuration (1 problem)",
        "  - channels.capacity = '0' (env KLAW_CHANNELS_CAPACITY): expected int >= 1",
    ]


def test_demo_with_missing_config_file(tmp_path: Path) -> None:
    assert_usage_error(
        klaw("demo", "--config", "nope.toml", cwd=tmp_path),
        "config file 'nope.toml' (given) does not exist",
    )


def test_demo_with_unreachable_ray_address(tmp_path: Path) -> None:
    result = klaw("demo", cwd=tmp_path, env={"KLAW_RAY_ADDRESS": "127.0.0.1:1"})
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "klaw: error: cannot reach Ray at '127.0.0.1:1': Connection refused"
    )


@pytest.mark.ray
@pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed")
def test_demo_prints_the_throughput_table(tmp_path: Path) -> None:
    result = klaw(
        "demo",
        "--messages",
        "6000",
        "--producers",
        "2",
        "--queue-items",
        "300",
        cwd=tmp_path,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Throughput: 2 producers -> 1 consumer, capacity 131,072, batches of 16,384; "
        "Ray: local (started by klaw demo)"
    )
    rows = lines[3:7]
    assert rows[0].startswith("klaw Ray channel      send_batch / recv_batch")
    assert rows[1].startswith("klaw Ray channel      send / async for")
    assert rows[2].startswith("ray.util.queue.Queue  put_nowait_batch / get_nowait_batch")
    assert rows[3].startswith("ray.util.queue.Queue  put / get")
    assert [row.split()[-4] for row in rows] == ["6,000", "6,000", "6,000", "300"]
    assert rows[2].endswith("1.00x")
    assert any(line.startswith("klaw Ray channel (send_batch / recv_batch): ") for line in lines)
    assert lines[-1].startswith(f"versions: klaw-core {klaw_core.__version__}")
    assert "klaw Ray channel, batch: 6,000/6,000" in result.stderr


@pytest.mark.ray
@pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed")
def test_demo_with_faults_shows_every_message_arrived_exactly_once(tmp_path: Path) -> None:
    result = klaw("demo", "--faults", "--messages", "20000", cwd=tmp_path, timeout=240)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "(raylet)" not in line]  # Ray's logs
    start = lines.index("Faults: 2 producer tasks -> 1 consumer, every (producer, seq) counted")
    lines = lines[start:]
    table = {line.split()[0]: line.split()[1:] for line in lines[3:6]}
    assert table == {
        "0": ["10,000", "10,000", "0", "0"],
        "1": ["10,000", "10,000", "0", "0"],
        "all": ["20,000", "20,000", "0", "0"],
    }
    recoveries = [line for line in lines if line.startswith(("producer 0's worker", "channel"))]
    assert [line.rsplit(None, 1)[0] for line in recoveries] == [
        "producer 0's worker SIGKILLed (Ray re-ran the task)",
        "channel actor killed (Ray restarted it)",
    ]
    assert all(float(line.rsplit(None, 1)[1]) < 240 for line in recoveries)
    assert lines[-2].startswith(
        "every message arrived exactly once: 20,000 messages, 0 lost, 0 duplicated, no error"
    )
