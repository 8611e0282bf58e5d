# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""chainlink-sim's zap-like log encoders: JSON key order and the pretty console line."""

from __future__ import annotations

import io
import json

from chainlink_sim.log import Logger, format_ts, render_console


def test_json_key_order_and_named_children() -> None:
    out = io.StringIO()
    root = Logger(json_console=True, stream=out, fields={"version": "2.29.0@abcdef0"})
    root.named("RunNode").named("LockedDB").named("LeaseLock").with_(appID="u").info("msg here", "pg/lease_lock.go:1", tryCount=0)
    record = json.loads(out.getvalue())
    assert list(record) == ["level", "ts", "logger", "caller", "msg", "version", "appID", "tryCount"]
    assert record["logger"] == "RunNode.LockedDB.LeaseLock" and record["level"] == "info"


def test_level_filter_and_stacktrace_on_errors() -> None:
    out = io.StringIO()
    log = Logger(level="info", json_console=True, stream=out)
    log.debug("hidden", "a.go:1")
    log.error("shown", "a.go:2")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "stacktrace" in json.loads(lines[0])


def test_console_line_layout() -> None:
    line = render_console(
        {"level": "info", "ts": "2022-12-12T10:00:00.000Z", "caller": "cmd/x.go:1", "msg": "Chainlink booted in 1.00s", "logger": "RunNode", "appID": "u"}
    )
    assert line.startswith("2022-12-12T10:00:00.000Z [INFO]  Chainlink booted in 1.00s")
    assert line[25:33] == "[INFO]  " and line[33:83].rstrip() == "Chainlink booted in 1.00s" and line[83] == " "
    assert line.endswith("appID=u logger=RunNode ")


def test_timestamps() -> None:
    assert format_ts(0.0, False) == "1970-01-01T00:00:00.000Z"
    assert format_ts(1.5, True) == 1.5
