# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""zap-like logging on stderr: the node's JSON encoder and its "pretty console" sink (spec section 5)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
import typing as t

LEVELS = {"debug": -1, "info": 0, "warn": 1, "error": 2, "crit": 3, "panic": 4, "fatal": 5}


def format_ts(now: float, unix_ts: bool) -> str | float:
    if unix_ts:
        return now
    stamp = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def render_json(entry: dict[str, t.Any]) -> str:
    return json.dumps(entry, separators=(",", ":"), default=str)


def render_console(entry: dict[str, t.Any]) -> str:
    """The pretty console line: ts, [LEVEL] padded, msg padded to 50, caller padded to 32, sorted key=value pairs."""
    head = f"{entry['ts']} {('[' + entry['level'].upper() + ']'):<8}{entry['msg']:<50} {entry.get('caller', ''):<32}"
    skip = {"ts", "level", "msg", "caller", "stacktrace"}
    details = "".join(f"{key}={_console_value(entry[key])} " for key in sorted(entry) if key not in skip)
    return head + details


def _console_value(value: t.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Logger:
    """A named logger with bound fields; ``named()`` and ``with_()`` return children sharing one sink."""

    def __init__(
        self,
        level: str = "info",
        json_console: bool = False,
        unix_ts: bool = False,
        name: str = "",
        fields: dict[str, t.Any] | None = None,
        stream: t.TextIO | None = None,
        lock: threading.Lock | None = None,
    ) -> None:
        self.level = level
        self.json_console = json_console
        self.unix_ts = unix_ts
        self.name = name
        self.fields = dict(fields or {})
        self.stream = stream if stream is not None else sys.stderr
        self._lock = lock or threading.Lock()

    def _child(self, name: str, fields: dict[str, t.Any]) -> Logger:
        return Logger(self.level, self.json_console, self.unix_ts, name, fields, self.stream, self._lock)

    def named(self, name: str) -> Logger:
        return self._child(f"{self.name}.{name}" if self.name else name, self.fields)

    def with_(self, **fields: t.Any) -> Logger:
        return self._child(self.name, {**self.fields, **fields})

    def enabled(self, level: str) -> bool:
        return LEVELS[level] >= LEVELS.get(self.level, 0)

    def log(self, level: str, msg: str, caller: str, **fields: t.Any) -> None:
        if not self.enabled(level):
            return
        entry: dict[str, t.Any] = {"level": level, "ts": format_ts(time.time(), self.unix_ts)}
        if self.name:
            entry["logger"] = self.name
        entry["caller"] = caller
        entry["msg"] = msg
        entry.update(self.fields)
        entry.update(fields)
        if LEVELS[level] >= LEVELS["error"]:
            # zap adds a stack trace to error-and-above entries; the double names the caller instead of a Go stack.
            entry["stacktrace"] = f"chainlink-sim {caller}"
        line = render_json(entry) if self.json_console else render_console(entry)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def debug(self, msg: str, caller: str, **fields: t.Any) -> None:
        self.log("debug", msg, caller, **fields)

    def info(self, msg: str, caller: str, **fields: t.Any) -> None:
        self.log("info", msg, caller, **fields)

    def warn(self, msg: str, caller: str, **fields: t.Any) -> None:
        self.log("warn", msg, caller, **fields)

    def error(self, msg: str, caller: str, **fields: t.Any) -> None:
        self.log("error", msg, caller, **fields)

    def crit(self, msg: str, caller: str, **fields: t.Any) -> None:
        self.log("crit", msg, caller, **fields)

    def fatal(self, msg: str, caller: str, **fields: t.Any) -> None:
        self.log("fatal", msg, caller, **fields)

    def raw(self, line: str) -> None:
        """A line written outside zap (Go's standard ``log`` package, urfave/cli errors)."""
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()
