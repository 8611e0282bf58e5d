# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""log_wait's Docker-side pure parts: stream demultiplexing, timestamps, the since option and the run window."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils._docker_logs import (
    ContainerState,
    LogStreamDecoder,
    RawLine,
    docker_since,
    format_timestamp_ns,
    parse_since,
    parse_timestamp_ns,
    run_window_start_ns,
)

T1 = "2026-11-27T05:40:01.123456789Z"
T2 = "2026-11-27T05:40:01.200000000Z"
T1_NS = 1795758001_123456789


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def decode_all(decoder: LogStreamDecoder, data: bytes, step: int) -> list[RawLine]:
    out: list[RawLine] = []
    for start in range(0, len(data), step):
        out.extend(decoder.feed(data[start : start + step]))
    return out + decoder.flush()


@pytest.mark.parametrize("step", [1, 3, 8, 1000], ids=lambda s: f"chunks-of-{s}")
def test_multiplexed_stream_in_any_chunking(step: int) -> None:
    data = frame(1, f"{T1} first line\n".encode()) + frame(2, f"{T2} on stderr \xc3\xa9\n".encode("latin-1")) + frame(1, f"{T2} second\n".encode())
    lines = decode_all(LogStreamDecoder(tty=False), data, step)
    assert [(r.timestamp, r.stream, r.line) for r in lines] == [(T1, "stdout", "first line"), (T2, "stderr", "on stderr é"), (T2, "stdout", "second")]
    assert lines[0].ts_ns == T1_NS


def test_long_line_split_by_docker_is_joined_with_the_first_timestamp() -> None:
    # Docker cuts lines over 16 KiB into partial messages, each with its own timestamp.
    data = frame(1, f"{T1} {'a' * 5}".encode()) + frame(2, f"{T1} err\n".encode()) + frame(1, f"{T2} {'b' * 3}\n".encode())
    lines = LogStreamDecoder(tty=False).feed(data)
    assert [(r.timestamp, r.stream, r.line) for r in lines] == [(T1, "stderr", "err"), (T1, "stdout", "aaaaabbb")]


def test_last_line_without_newline_comes_at_flush() -> None:
    decoder = LogStreamDecoder(tty=False)
    assert decoder.feed(frame(1, f"{T1} no newline".encode())) == []
    assert [r.line for r in decoder.flush()] == ["no newline"]


def test_several_lines_in_one_message_share_its_timestamp() -> None:
    lines = LogStreamDecoder(tty=False).feed(frame(1, f"{T1} one\ntwo\n".encode()))
    assert [(r.timestamp, r.line) for r in lines] == [(T1, "one"), (T1, "two")]


@pytest.mark.parametrize("step", [1, 7, 1000])
def test_tty_stream_is_split_on_newlines(step: int) -> None:
    data = f"{T1} with tty\r\n{T2} \x1b[32mcolour\x1b[0m\r\n{T2} tail".encode()
    lines = decode_all(LogStreamDecoder(tty=True), data, step)
    assert [(r.timestamp, r.stream, r.line) for r in lines] == [(T1, "stdout", "with tty"), (T2, "stdout", "\x1b[32mcolour\x1b[0m"), (T2, "stdout", "tail")]


def test_line_without_timestamp_is_kept() -> None:
    (line,) = LogStreamDecoder(tty=True).feed(b"2026 is not a timestamp\n")
    assert (line.timestamp, line.ts_ns, line.line) == ("", 0, "2026 is not a timestamp")


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        (T1, T1_NS),
        ("2026-11-27T05:40:01Z", 1795758001_000000000),
        ("2026-11-27T07:40:01.5+02:00", 1795758001_500000000),
        ("1970-01-01T00:00:00.000000001Z", 1),
        ("0001-01-01T00:00:00Z", None),
    ],
)
def test_parse_timestamp_keeps_nanoseconds(text: str, ns: int | None) -> None:
    assert parse_timestamp_ns(text) == ns


def test_format_and_docker_since_round_trip() -> None:
    assert format_timestamp_ns(T1_NS) == T1
    assert docker_since(T1_NS) == "1795758001.123456789"
    assert docker_since(1_000_000_001) == "1.000000001"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("start", "start"), (" now ", "now"), ("1795758001.5", 1795758001_500000000), ("1795758001", 1795758001_000000000), (T1, T1_NS)],
)
def test_parse_since(value: str, expected: str | int) -> None:
    assert parse_since(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "", "2026-11-27 05:40:01", "0001-01-01T00:00:00Z", "-5"])
def test_parse_since_refuses_with_the_accepted_forms(value: str) -> None:
    with pytest.raises(ValueError, match="since must be 'start', 'now', an RFC3339 timestamp"):
        parse_since(value)


@pytest.mark.parametrize(
    ("started", "finished", "running", "window"),
    [
        (None, None, False, 0),  # never started
        (10_000_000_000, None, True, 0),  # never stopped: the whole log is this run
        (10_000_000_000, 9_900_000_000, True, 9_950_000_000),  # restarted: halfway between the previous end and this start
        (10_000_000_000, 12_000_000_000, False, 9_975_000_000),  # stopped: 25 ms before its start
        # exited at once: Docker recorded FinishedAt 0.5 ms before StartedAt; the window opens before both
        (10_000_000_000, 9_999_500_000, False, 9_974_500_000),
    ],
)
def test_run_window(started: int | None, finished: int | None, running: bool, window: int) -> None:
    assert run_window_start_ns(started, finished, running) == window


def test_container_state_from_inspect() -> None:
    state = ContainerState.from_inspect(
        {
            "Id": "abc",
            "Name": "/node-a",
            "RestartCount": 2,
            "Config": {"Tty": True},
            "State": {"Status": "exited", "Running": False, "StartedAt": T1, "FinishedAt": "0001-01-01T00:00:00Z", "ExitCode": 1, "OOMKilled": True},
        }
    )
    assert state.result() == {"id": "abc", "name": "node-a", "started_at": T1, "status": "exited", "restart_count": 2}
    assert (state.tty, state.started_ns, state.finished_ns) == (True, T1_NS, None)
    assert state.how_it_ended() == "exited with code 1 at 0001-01-01T00:00:00Z (OOM killed)"
