# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""log_wait's decisions when the log stream ends, with the Docker boundary replaced by a scripted client.

The real engine (tests/integration/modules/test_log_wait.py) cannot stop at the exact instants these cases need:
a stream that ends while the run goes on (the module follows again without repeating lines) and an inspect that
already sees the next run of a restarted container.
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils._docker_logs import (
    ContainerState,
    DockerLogsClient,
    LogWaitError,
    RawLine,
    WaitTimeout,
    format_timestamp_ns,
)
from ansible_collections.nodeops.chainlink.plugins.module_utils._log_patterns import Matcher, build_fail_on, build_patterns
from ansible_collections.nodeops.chainlink.plugins.modules.log_wait import LogWaiter, Parameters

BASE_NS = 1795758000_000000000
STARTED = format_timestamp_ns(BASE_NS)


def state(started_at: str = STARTED, status: str = "running", exit_code: int = 0, finished_at: str = "0001-01-01T00:00:00Z") -> ContainerState:
    return ContainerState(
        id="c0ffee",
        name="node-a",
        status=status,
        running=status == "running",
        started_at=started_at,
        finished_at=finished_at,
        exit_code=exit_code,
        restart_count=0,
        tty=False,
        oom_killed=False,
        error="",
    )


def line(offset_ms: int, text: str) -> RawLine:
    ns = BASE_NS + offset_ms * 1_000_000
    return RawLine(format_timestamp_ns(ns), ns, "stderr", text)


class ScriptedClient:
    """Plays back log streams (one list of lines per opened stream) and container states (one per inspect)."""

    daemon = "unix:///var/run/docker.sock"

    def __init__(self, streams: list[list[RawLine]], inspections: list[ContainerState | None], timeout_after: bool = False) -> None:
        self.streams = streams
        self.inspections = inspections
        self.timeout_after = timeout_after
        self.opened_since: list[int] = []

    def find_container(self, name: str) -> ContainerState | None:
        return state()

    def inspect_container(self, container_id: str) -> ContainerState | None:
        return self.inspections.pop(0)

    def follow_logs(self, container: ContainerState, since_ns: int, deadline: float) -> t.Iterator[RawLine]:
        self.opened_since.append(since_ns)
        # Like the daemon: everything stamped at or after since.
        yield from (raw for raw in self.streams.pop(0) if raw.ts_ns >= since_ns)
        if self.timeout_after and not self.streams:
            raise WaitTimeout()


def run(client: ScriptedClient, regex: list[str], occurrences: int = 1, fail_on: list[str] | None = None) -> dict[str, t.Any]:
    matcher = Matcher(build_patterns(regex, [], "msg"), "any", occurrences, build_fail_on(fail_on or [], "msg"))
    waiter = LogWaiter(t.cast(DockerLogsClient, client), Parameters(name="node-a", matcher=matcher, since="start", timeout=5))
    return waiter.wait()


def test_stream_ending_while_running_is_followed_again_without_repeating_lines() -> None:
    first = [line(1, "a"), line(2, "tick 1"), line(2, "b")]
    # The daemon repeats everything from the last timestamp seen (2 ms), including both lines stamped then.
    second = [*first, line(3, "tick 2")]
    client = ScriptedClient([first, second], [state(), state()])
    result = run(client, ["^tick"], occurrences=2)
    assert [m["msg"] for m in result["matched"]] == ["tick 1", "tick 2"]
    assert client.opened_since == [0, BASE_NS + 2_000_000]


def test_inspect_seeing_the_next_run_reports_a_restart() -> None:
    new_start = format_timestamp_ns(BASE_NS + 5_000_000_000)
    client = ScriptedClient([[line(1, "run 1")]], [state(started_at=new_start, finished_at=format_timestamp_ns(BASE_NS + 4_900_000_000))])
    with pytest.raises(LogWaitError) as failure:
        run(client, ["never"])
    message = str(failure.value)
    assert message.startswith(
        f"Container 'node-a' restarted while waiting for regex 'never' (0 of 1 matching lines seen): the watched run started at {STARTED}"
    )
    assert f"the new one started at {new_start}" in message
    assert failure.value.details["last_lines"] == [f"{format_timestamp_ns(BASE_NS + 1_000_000)} run 1"]


@pytest.mark.parametrize(
    ("inspected", "text"),
    [
        (None, "Container 'node-a' was removed while waiting for regex 'never'"),
        (state(status="removing"), "Container 'node-a' was removed while waiting for regex 'never'"),
        (state(status="exited", exit_code=1, finished_at="2026-11-27T05:40:01Z"), "Container 'node-a' stopped: it exited with code 1 at 2026-11-27T05:40:01Z"),
        (state(status="restarting", exit_code=2), "Container 'node-a' stopped: it is restarting (the last run exited with code 2"),
    ],
)
def test_end_of_stream_verdicts(inspected: ContainerState | None, text: str) -> None:
    with pytest.raises(LogWaitError, match=r"^" + text.replace("(", r"\(")):
        run(ScriptedClient([[line(1, "x")]], [inspected]), ["never"])


def test_timeout_keeps_the_progress_and_the_last_lines() -> None:
    client = ScriptedClient([[line(i, f"tick {i}") for i in range(1, 26)]], [], timeout_after=True)
    with pytest.raises(LogWaitError) as failure:
        run(client, ["^tick"], occurrences=30)
    assert "Timed out after 5 s waiting for regex '^tick' (30 occurrences) in the log of container 'node-a' (25 of 30 matching lines seen" in str(failure.value)
    assert len(failure.value.details["last_lines"]) == 20
    assert len(failure.value.details["matched"]) == 25


def test_timeout_on_a_log_cut_after_the_start_says_so() -> None:
    # the oldest line left is 60 s after the run started: the booted line was rotated away
    client = ScriptedClient([[line(60_000, "later line")]], [], timeout_after=True)
    with pytest.raises(LogWaitError) as failure:
        run(client, ["booted"])
    assert f"The log now begins at {format_timestamp_ns(BASE_NS + 60_000_000_000)}, 60 s after the run started" in str(failure.value)
    assert failure.value.details["log_cut"] is True


def test_a_log_that_reaches_back_to_the_start_is_not_cut() -> None:
    client = ScriptedClient([[line(300, "first line")]], [], timeout_after=True)
    with pytest.raises(LogWaitError) as failure:
        run(client, ["booted"])
    assert "rotated or truncated" not in str(failure.value) and failure.value.details["log_cut"] is False


def test_fail_on_returns_the_failed_line() -> None:
    client = ScriptedClient([[line(1, "Another node has taken the lease, exiting immediately"), line(2, "never")]], [])
    with pytest.raises(LogWaitError) as failure:
        run(client, ["never"], fail_on=["lease_lost"])
    assert failure.value.details["failed_line"]["msg"] == "Another node has taken the lease, exiting immediately"
    assert failure.value.details["matched"] == []


def test_missing_requests_library_is_reported_by_name(tmp_path: Path) -> None:
    """The module process with ``requests`` not importable fails with Ansible's missing-library message."""
    root = Path(__file__).resolve().parents[4]
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"name": "node-a", "preset": "booted"}}))
    blocker = (
        "import runpy, sys\n"
        "sys.modules['requests'] = None  # makes every 'import requests' raise ImportError\n"
        f"sys.argv = ['log_wait', {str(args)!r}]\n"
        f"runpy.run_path({str(root / 'plugins' / 'modules' / 'log_wait.py')!r}, run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocker],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(root / ".collections"), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    result = json.loads(done.stdout)
    assert result["failed"]
    assert result["msg"].startswith("Failed to import the required Python library (requests)")
