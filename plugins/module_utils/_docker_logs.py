# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""Follow a container's log through the Docker API, on top of community.docker's client.

The connection (docker_host, TLS, api_version, SSH, missing ``requests``) is community.docker's AnsibleDockerClient;
this file adds what it lacks: a follow=1 log stream with a deadline, its demultiplexing into timestamped lines, and
the window that selects the container's current run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import http.client
import math
import re
import struct
import time
import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._docker import DockerApiClient, transport_missing
from ansible_collections.nodeops.chainlink.plugins.module_utils._log_patterns import ParsedLine, parse_line
from ansible_collections.nodeops.chainlink.plugins.module_utils._redact import redact, redact_text

if t.TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule

_NS = 1_000_000_000
# Docker stamps the first lines of a run a few milliseconds before it records State.StartedAt (measured: up to
# 3 ms on an idle host), so a window opening exactly at StartedAt would miss them.
_EXITED_RUN_SLACK_NS = 25_000_000
_TIMESTAMP_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")
_UNIX_SECONDS_RE = re.compile(r"^(\d+)(?:\.(\d{1,9}))?$")
_STREAMS = {0: "stdin", 1: "stdout", 2: "stderr"}
_HEADER = struct.Struct(">BxxxL")
_READ_SIZE = 65536


class LogWaitError(Exception):
    """The wait ended without success; ``details`` go into the module's failure result."""

    def __init__(self, msg: str, **details: t.Any) -> None:
        super().__init__(msg)
        self.details = details


class WaitTimeout(Exception):
    """The deadline passed while the log stream was open."""


# --- timestamps ---------------------------------------------------------------------------------------------------


def parse_timestamp_ns(text: str) -> int | None:
    """RFC3339 (with up to nanosecond fractions) to nanoseconds since the epoch; Docker's zero time gives None."""
    if len(text) == 30 and text[19] == "." and text[29] == "Z" and text[20:29].isdigit():
        seconds = _epoch_seconds(text[:19], "Z")  # Docker's own fixed-width form: the fast path
        return None if seconds is None else seconds * _NS + int(text[20:29])
    found = _TIMESTAMP_RE.match(text.strip())
    if found is None:
        raise ValueError(f"not an RFC3339 timestamp: {text!r}")
    base, fraction, zone = found.groups()
    seconds = _epoch_seconds(base, zone)
    if seconds is None:
        return None
    return seconds * _NS + int((fraction or "0").ljust(9, "0"))


@functools.lru_cache(maxsize=64)
def _epoch_seconds(base: str, zone: str) -> int | None:
    # Cached: a busy log has thousands of lines within the same second, and datetime parsing is the costly part.
    stamp = dt.datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    return None if stamp.year <= 1 else int(stamp.timestamp())


def format_timestamp_ns(ns: int) -> str:
    seconds, nanos = divmod(ns, _NS)
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def docker_since(ns: int) -> str:
    """The logs API's ``since``: seconds with a nanosecond fraction (the daemon keeps the full precision)."""
    seconds, nanos = divmod(ns, _NS)
    return f"{seconds}.{nanos:09d}"


def parse_since(value: str) -> str | int:
    """Validate the since option: ``start``, ``now``, or a time (returned as nanoseconds)."""
    text = value.strip()
    if text in ("start", "now"):
        return text
    unix = _UNIX_SECONDS_RE.match(text)
    if unix is not None:
        return int(unix.group(1)) * _NS + int((unix.group(2) or "0").ljust(9, "0"))
    try:
        parsed = parse_timestamp_ns(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError(
            f"since must be 'start', 'now', an RFC3339 timestamp such as 2026-01-02T15:04:05.5Z or unix seconds such as 1767366245.5; got {value!r}."
        )
    return parsed


def run_window_start_ns(started_ns: int | None, finished_ns: int | None, running: bool = True) -> int:
    """Where the container's current (or last) run begins in its log, in nanoseconds; 0 means the whole log.

    - never started or never stopped: everything in the log belongs to this run;
    - running after a restart (the previous run finished before this one started): halfway between the two, which
      leaves a margin on both sides (a restart takes tens of milliseconds; lines are stamped a few ms off either end);
    - not running (exited, restarting): FinishedAt is this run's end; a little before the earlier of StartedAt and
      FinishedAt, as the previous run's end is no longer recorded. A process that exits at once can have Docker
      record FinishedAt before StartedAt, so StartedAt alone would put its lines outside the window.
    """
    if started_ns is None or finished_ns is None:
        return 0
    if running and finished_ns < started_ns:
        return (finished_ns + started_ns) // 2
    return max(min(started_ns, finished_ns) - _EXITED_RUN_SLACK_NS, 0)


# --- stream decoding ----------------------------------------------------------------------------------------------


class RawLine(t.NamedTuple):  # a tuple: one is built per log line, and tuples are the cheapest to build
    timestamp: str  # Docker's, RFC3339 with nanoseconds ('' if the line carried none)
    ts_ns: int
    stream: str
    line: str


class LogLine(t.NamedTuple):
    raw: RawLine
    parsed: ParsedLine

    @classmethod
    def parse(cls, raw: RawLine) -> LogLine:
        return cls(raw, parse_line(raw.line))

    def result(self) -> dict[str, t.Any]:
        return {
            "line": self.raw.line,
            "timestamp": self.raw.timestamp,
            "stream": self.raw.stream,
            "msg": self.parsed.msg,
            "level": self.parsed.level,
            "fields": self.parsed.fields,
        }

    def display(self) -> str:
        return f"{self.raw.timestamp} {self.raw.line}"


class LogStreamDecoder:
    """Turns the bytes of a ``/containers/{id}/logs?timestamps=1`` response into timestamped lines.

    Without a TTY the stream is multiplexed: 8-byte frame headers (stream, length), one log message per frame.
    With a TTY it is the raw byte stream. Every message starts with Docker's timestamp and a space. Docker splits
    lines longer than 16 KiB into several messages, each with its own timestamp: the pieces are joined again and
    the line keeps the first piece's timestamp.
    """

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self._buffer = bytearray()
        self._pending: dict[str, tuple[str, bytearray]] = {}

    def feed(self, data: bytes) -> list[RawLine]:
        self._buffer += data
        lines: list[RawLine] = []
        if self.tty:
            end = self._buffer.rfind(b"\n")
            if end >= 0:
                chunk = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                for piece in chunk.split(b"\n")[:-1]:
                    self._message("stdout", piece + b"\n", lines)
            return lines
        buffer, pos, size = self._buffer, 0, len(self._buffer)
        while size - pos >= _HEADER.size:
            stream_id, length = _HEADER.unpack_from(buffer, pos)
            end = pos + _HEADER.size + length
            if end > size:
                break
            self._message(_STREAMS.get(stream_id, str(stream_id)), bytes(buffer[pos + _HEADER.size : end]), lines)
            pos = end
        del buffer[:pos]
        return lines

    def flush(self) -> list[RawLine]:
        """At the end of the stream: whatever is left is a last line without a newline."""
        lines: list[RawLine] = []
        if self.tty and self._buffer:
            self._message("stdout", bytes(self._buffer), lines)
        self._buffer.clear()
        for stream, (stamp, data) in self._pending.items():
            lines.append(_raw_line(stamp, stream, bytes(data)))
        self._pending.clear()
        return lines

    def _message(self, stream: str, payload: bytes, lines: list[RawLine]) -> None:
        stamp, body = _split_timestamp(payload)
        if not self._pending and body[-1:] == b"\n" and body.find(b"\n") == len(body) - 1:
            lines.append(_raw_line(stamp, stream, body[:-1]))  # the usual case: one whole line
            return
        pending = self._pending.pop(stream, None)
        if pending is not None:
            stamp, body = pending[0], bytes(pending[1]) + body
        *complete, rest = body.split(b"\n")
        lines.extend(_raw_line(stamp, stream, piece) for piece in complete)
        if rest:
            self._pending[stream] = (stamp, bytearray(rest))


def _split_timestamp(payload: bytes) -> tuple[str, bytes]:
    if payload[30:31] == b" " and payload[29:30] == b"Z" and payload[19:20] == b".":
        # Docker's fixed-width RFC3339Nano in UTC, e.g. 2026-11-27T05:40:01.123456789Z (checked when parsed).
        return payload[:30].decode("ascii", "replace"), payload[31:]
    head, sep, body = payload.partition(b" ")
    if sep and head[:1].isdigit():
        stamp = head.decode("ascii", "replace")
        if _TIMESTAMP_RE.match(stamp):
            return stamp, body
    return "", payload


def _raw_line(stamp: str, stream: str, data: bytes) -> RawLine:
    try:
        ts_ns = (parse_timestamp_ns(stamp) or 0) if stamp else 0
    except ValueError:
        stamp, ts_ns, data = "", 0, stamp.encode() + b" " + data
    return RawLine(stamp, ts_ns, stream, data.decode("utf-8", "replace").rstrip("\r"))


# --- the client ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ContainerState:
    id: str
    name: str
    status: str
    running: bool
    started_at: str
    finished_at: str
    exit_code: int | None
    restart_count: int
    tty: bool
    oom_killed: bool
    error: str

    @classmethod
    def from_inspect(cls, data: dict[str, t.Any]) -> ContainerState:
        state = data.get("State") or {}
        return cls(
            id=data["Id"],
            name=str(data.get("Name", "")).lstrip("/"),
            status=str(state.get("Status", "")),
            running=bool(state.get("Running")),
            started_at=str(state.get("StartedAt", "")),
            finished_at=str(state.get("FinishedAt", "")),
            exit_code=state.get("ExitCode"),
            restart_count=int(data.get("RestartCount") or 0),
            tty=bool((data.get("Config") or {}).get("Tty")),
            oom_killed=bool(state.get("OOMKilled")),
            error=str(state.get("Error") or ""),
        )

    @property
    def started_ns(self) -> int | None:
        return parse_timestamp_ns(self.started_at) if self.started_at else None

    @property
    def finished_ns(self) -> int | None:
        return parse_timestamp_ns(self.finished_at) if self.finished_at else None

    def result(self) -> dict[str, t.Any]:
        return {"id": self.id, "name": self.name, "started_at": self.started_at, "status": self.status, "restart_count": self.restart_count}

    def how_it_ended(self) -> str:
        """E.g. ``exited with code 1 at 2026-...Z (OOM killed)``."""
        if self.status == "exited":
            text = f"exited with code {self.exit_code} at {self.finished_at}"
        elif self.status == "restarting":
            text = f"is restarting (the last run exited with code {self.exit_code} at {self.finished_at})"
        else:
            text = f"is {self.status or 'not running'}"
        if self.oom_killed:
            text += " (OOM killed)"
        if self.error:
            text += f" (error: {self.error})"
        return text


class DockerLogsClient(DockerApiClient):  # type: ignore[misc]  # its base is community.docker's untyped client
    """community.docker's AnsibleDockerClient (through the _docker adapter) plus a deadline-bounded log stream.

    ``check_params`` runs on the parsed module parameters before the first connection attempt, so bad input is
    refused even when no daemon answers. ``timeout`` is the module's own wait timeout (float); every Docker API call
    is bounded by it (rounded up to whole seconds, as community.docker's ``timeout`` is an integer).
    """

    def __init__(self, argument_spec: dict[str, t.Any], check_params: t.Callable[[AnsibleModule], None], **kwargs: t.Any) -> None:
        self._check_params: t.Callable[[AnsibleModule], None] | None = check_params
        self.reached = False
        # the caller's secrets in every form (secret_values), masked in everything returned
        self.secrets: list[str] = []
        super().__init__(argument_spec=argument_spec, **kwargs)

    def prepare_params(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        if self._check_params is not None:
            check, self._check_params = self._check_params, None
            check(self.module)
        params["timeout"] = max(1, math.ceil(params["timeout"]))
        return params

    @property
    def daemon(self) -> str:
        return str(self.module.params.get("docker_host"))

    def fail(self, msg: str, **kwargs: t.Any) -> t.NoReturn:
        if not self.reached and not transport_missing():
            msg = f"Cannot talk to the Docker daemon at {self.daemon}: {msg}. Check that the daemon runs and that docker_host (or DOCKER_HOST) points to it."
        # raw log lines may carry a URL with its password (user:pass@), a password= value or one of the caller's secrets
        details: dict[str, t.Any] = redact(kwargs, self.secrets)
        super().fail(redact_text(msg, self.secrets), **details)
        raise SystemExit(1)  # fail_json exits; this line only tells type checkers so

    def exit(self, **result: t.Any) -> t.NoReturn:
        """exit_json with the log lines returned (matched, fields) redacted as in fail()."""
        self.module.exit_json(**redact(result, self.secrets))
        raise SystemExit(0)  # exit_json exits; this line only tells type checkers so

    def find_container(self, name: str) -> ContainerState | None:
        data = self.get_container(name)
        self.reached = True
        return ContainerState.from_inspect(data) if data else None

    def inspect_container(self, container_id: str) -> ContainerState | None:
        data = self.get_container_by_id(container_id)
        return ContainerState.from_inspect(data) if data else None

    def follow_logs(self, container: ContainerState, since_ns: int, deadline: float) -> t.Iterator[RawLine]:
        """Yield the container's log lines stamped at or after ``since_ns`` (0: all) as they are written.

        Returns when the stream ends (the container stopped); raises WaitTimeout when ``deadline`` (a
        time.monotonic() value) passes first. Only lines already complete are yielded while the stream is open.
        """
        params: dict[str, t.Any] = {"follow": 1, "stdout": 1, "stderr": 1, "timestamps": 1}
        if since_ns > 0:
            params["since"] = docker_since(since_ns)
        response, sockets = self.stream_get("/containers/{0}/logs", container.id, params=params)
        try:
            reader = _http_response(response)
            if not sockets:
                raise LogWaitError(
                    f"The connection to {self.daemon} offers no read timeout, so the wait could not end on time; this transport is not supported."
                )
            decoder = LogStreamDecoder(container.tty)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout()
                for sock in sockets:
                    sock.settimeout(remaining)
                try:
                    data = reader.read1(_READ_SIZE)
                except TimeoutError as exc:
                    raise WaitTimeout() from exc
                if not data:
                    break
                yield from decoder.feed(data)
            yield from decoder.flush()
        finally:
            response.close()


def _http_response(response: t.Any) -> http.client.HTTPResponse:
    """The http.client response under requests/urllib3: its read1() returns as soon as any bytes arrive.

    community.docker reaches the same object to stream attach output; urllib3's own read(n) would wait for n bytes.
    """
    raw = getattr(response.raw, "_fp", None)
    if not isinstance(raw, http.client.HTTPResponse):
        raise LogWaitError(f"Unexpected HTTP response object {type(raw).__name__} on the log stream; this transport is not supported.")
    return raw
