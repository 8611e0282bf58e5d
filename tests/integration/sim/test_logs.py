# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""What an operator sees: application_name, the log formats and exact lines, and the waiting-line cadence (spec 3, 5)."""

from __future__ import annotations

import re

from tests.integration.sim.helpers import V1, V2, Db
from tests.support.sim import SimFactory

ISO_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
WAITING = "Another application is currently holding the database lease (or a previous instance exited uncleanly), waiting for lease to expire..."


def test_application_name_carries_version_and_app_id(db: Db, sim_factory: SimFactory) -> None:
    holder = sim_factory.start(V2, db.url)
    holder.wait_booted()
    standby = sim_factory.start(V1, db.url, locking_mode="lease")
    standby.wait_waiting()
    for node, version in ((holder, V2), (standby, V1)):
        names = {name for _pid, name in db.sessions(node.app_id or "")}
        assert names == {f"Chainlink {version} |App|{node.app_id}"}
        assert len(next(iter(names))) == 58
    # The observer join of spec 4.10: the lease row maps to exactly the holder's backends.
    joined = db.rows(
        "SELECT DISTINCT a.application_name FROM lease_lock l JOIN pg_stat_activity a ON a.application_name LIKE 'Chainlink %%|App|' || l.client_id"
    )
    assert joined == [(f"Chainlink {V2} |App|{holder.app_id}",)]


def test_long_prerelease_version_cuts_application_name_to_63(db: Db, sim_factory: SimFactory) -> None:
    version = "2.29.0-beta.20251020-datastreams"
    node = sim_factory.start(version, db.url)
    node.wait_booted()
    client_id = db.lease()[0] or ""
    names = db.rows("SELECT DISTINCT application_name FROM pg_stat_activity WHERE application_name LIKE %s", (f"Chainlink {version} |App|%",))
    assert len(names) == 1
    name = names[0][0]
    assert name == f"Chainlink {version} |App|{client_id}"[:63] and len(name) == 63
    assert client_id.startswith(name.rsplit("|", 1)[1]) and name.rsplit("|", 1)[1] != client_id


def test_json_logs_keys_and_fields(db: Db, sim_factory: SimFactory) -> None:
    holder = sim_factory.start(V2, db.url, json_logs=True)
    holder.wait_booted()
    standby = sim_factory.start(V2, db.url, json_logs=True)
    standby.wait_waiting()
    booted = next(r for r in holder.records() if r["msg"].startswith("Chainlink booted in"))
    assert list(booted)[:5] == ["level", "ts", "logger", "caller", "msg"]
    assert booted["level"] == "info" and ISO_TS.match(booted["ts"])
    assert re.fullmatch(r"Chainlink booted in \d+\.\d\ds", booted["msg"])
    assert booted["appID"] == holder.app_id and booted["logger"] == "RunNode"
    assert re.fullmatch(rf"{re.escape(V2)}@[0-9a-f]{{7}}", booted["version"])
    assert re.fullmatch(r"[a-z]+/[a-z_]+\.go:\d+", booted["caller"])
    waiting = next(r for r in standby.records() if r["msg"] == WAITING)
    assert waiting["level"] == "info" and waiting["tryCount"] == 0 and waiting["appID"] == standby.app_id
    assert waiting["logger"] == "RunNode.LockedDB.LeaseLock"
    start = standby.records()[0]
    assert start["msg"].startswith(f"Starting Chainlink Node {V2} at commit ") and start["Version"] == V2
    listening = next(r for r in holder.records() if r["msg"].startswith("Listening and serving HTTP on"))
    assert listening["msg"] == f"Listening and serving HTTP on 127.0.0.1:{holder.http_port}"
    assert (listening["ip"], listening["port"]) == ("127.0.0.1", holder.http_port)


def test_console_logs_v1_env_config_logger_prefix(db: Db, sim_factory: SimFactory) -> None:
    holder = sim_factory.start(V1, db.url, locking_mode="lease")
    holder.wait_booted()
    standby = sim_factory.start(V1, db.url, locking_mode="lease")
    line = standby.wait_waiting().text
    match = re.match(r"^(\S+) \[INFO\]  (.{50,}?) +(\S+\.go:\d+) +(.*)$", line)
    assert match, line
    assert ISO_TS.match(match[1]) and match[2].rstrip() == WAITING
    fields = dict(kv.split("=", 1) for kv in match[4].split())
    assert list(fields) == sorted(fields)
    assert fields["tryCount"] == "0" and fields["appID"] == standby.app_id
    assert re.fullmatch(rf"{re.escape(V1)}@[0-9a-f]{{7}}\.RunNode\.LockedDB\.LeaseLock", fields["logger"])
    assert "version" not in fields


def test_waiting_line_cadence_powers_of_two(db: Db, sim_factory: SimFactory) -> None:
    holder = sim_factory.start(V2, db.url)
    holder.wait_booted()
    # A fast-polling standby (50 ms) reaches ~40 tries in two seconds.
    standby = sim_factory.start(V2, db.url, lease_duration="1s", refresh="50ms", json_logs=True)
    standby.wait_for_line(r'"tryCount":32', 6)
    standby.terminate()
    assert standby.wait_exit() == 1
    counts = [r["tryCount"] for r in standby.records() if r.get("msg") == WAITING]
    assert counts == [0, 1, 2, 4, 8, 16, 32]
    json_lines = [line for line in standby.log_lines() if line.text.startswith("{")]
    times = {line.json()["tryCount"]: line.at for line in json_lines if line.json().get("msg") == WAITING}
    # Between try 16 and try 32 lie 16 polls of 45..55 ms (2.x jitter is +-10 %) plus query time.
    assert 16 * 0.045 <= times[32] - times[16] <= 16 * 0.055 + 0.6
