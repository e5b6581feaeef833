"""The demo's own logic that needs no Ray: splitting work, checking arrivals, the report.

The pipeline itself runs for real in tests/test_cli.py (``klaw demo``, marked ``ray``).
"""

from __future__ import annotations

import pickle
import socket

import pytest

from klaw_core.cli._demo import ProgressLine, format_report
from klaw_core.cli._demo_faults import format_faults
from klaw_core.cli.demo import DemoEvent, DemoReport, RunResult, check_reachable, split_evenly
from klaw_core.cli.demo._faults import FaultReport, ProducerCount, Recovery
from klaw_core.cli.demo._watch import Checker


@pytest.mark.parametrize(("total", "parts"), [(10, 3), (1, 4), (200_000, 2), (7, 7)])
def test_split_evenly(total: int, parts: int) -> None:
    counts = split_evenly(total, parts)
    assert len(counts) == parts
    assert sum(counts) == total
    assert max(counts) - min(counts) <= 1


def test_demo_event_pickles_by_reference() -> None:
    event = DemoEvent(1, 2, "sensor-2", 1.0)
    assert b"klaw_core.cli.demo._events" in pickle.dumps(event)  # Ray workers import it from here
    assert pickle.loads(pickle.dumps(event)) == event


def events(producer: int, seqs: range) -> list[DemoEvent]:
    return [DemoEvent(producer, seq, "s", 0.0) for seq in seqs]


def test_checker_accepts_interleaved_in_order_streams() -> None:
    checker = Checker("chan", 2)
    assert checker.check(events(0, range(3)) + events(1, range(2))) == 5
    assert checker.check(events(1, range(2, 4))) == 2


def test_checker_detects_a_lost_message() -> None:
    checker = Checker("chan", 1)
    with pytest.raises(RuntimeError, match=r"chan: producer 0 message 2 arrived where 1 was due"):
        checker.check(events(0, range(1)) + events(0, range(2, 3)))


def test_checker_detects_a_duplicate() -> None:
    checker = Checker("chan", 1)
    checker.check(events(0, range(2)))
    with pytest.raises(RuntimeError, match="message 1 arrived where 2 was due"):
        checker.check(events(0, range(1, 2)))


def test_checker_detects_a_wrong_type() -> None:
    with pytest.raises(RuntimeError, match="chan delivered dict, not DemoEvent"):
        Checker("chan", 1).check([{"producer": 0, "seq": 0}])


def test_check_reachable_refuses_a_closed_port() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionError, match=rf"cannot reach Ray at 'ray://127.0.0.1:{port}'"):
        check_reachable(f"ray://127.0.0.1:{port}", timeout=2)


def test_check_reachable_accepts_a_listening_port_and_other_forms() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_reachable(f"127.0.0.1:{server.getsockname()[1]}")
    check_reachable("auto")
    check_reachable("ray://head")


def test_report_table_and_ratios() -> None:
    runs = (
        RunResult("klaw Ray channel", "send_batch / recv_batch", 200_000, 0.5),
        RunResult("klaw Ray channel", "send / async for", 200_000, 1.0),
        RunResult("ray.util.queue.Queue", "put_nowait_batch / get_nowait_batch", 200_000, 2.0),
        RunResult("ray.util.queue.Queue", "put / get", 2_000, 5.0),
    )
    report = DemoReport(runs, 2, 10_000, 4096, "local", {"klaw-core": "0.1.0", "Ray": "2.60.0"})
    lines = format_report(report).splitlines()
    assert lines[0].split() == [
        "transport", "API", "(producer", "/", "consumer)", "messages", "seconds", "msg/s", "vs", "Queue", "batch",
    ]  # fmt: skip
    assert lines[2].split()[-4:] == ["200,000", "0.500", "400,000", "4.00x"]
    assert lines[4].split()[-4:] == ["200,000", "2.000", "100,000", "1.00x"]
    assert lines[5].split()[-4:] == ["2,000", "5.000", "400", "0.004x"]
    assert lines[7] == (
        "klaw Ray channel (send_batch / recv_batch): 4.00x "
        "ray.util.queue.Queue (put_nowait_batch / get_nowait_batch)"
    )
    assert (
        lines[8]
        == "klaw Ray channel (send_batch / recv_batch): 1,000x ray.util.queue.Queue (put / get)"
    )
    assert lines[9] == "versions: klaw-core 0.1.0, Ray 2.60.0"


def test_progress_line_on_a_terminal_rewrites_in_place() -> None:
    class Terminal:
        def __init__(self) -> None:
            self.text = ""

        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> int:
            self.text += text
            return len(text)

        def flush(self) -> None:
            pass

    out = Terminal()
    line = ProgressLine(out)  # type: ignore[arg-type]
    line("run", 50, 100)
    line("run", 100, 100)
    first, second = out.text.split("\r")[1:]
    assert first.startswith("  run: 50/100 (50%)")
    assert second.startswith("  run: 100/100 (100%)")
    assert second.endswith("\n")
    assert not first.endswith("\n")


def test_fault_report_names_loss_and_duplicates() -> None:
    report = FaultReport(
        (ProducerCount(0, 10, 9, 1, 0), ProducerCount(1, 10, 11, 0, 1)),
        (Recovery("channel actor killed (Ray restarted it)", 1.25),),
        2.0,
        ("ChannelLostError: gone",),
    )
    assert not report.exactly_once
    text = format_faults(report)
    assert "all         20        20     1           1" in text
    assert "channel actor killed (Ray restarted it)              1.25" in text
    assert "error at the consumer: ChannelLostError: gone" in text
    assert text.splitlines()[-1].startswith("NOT exactly once: 20 messages, 1 lost, 1 duplicated")
