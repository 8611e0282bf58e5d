# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""pair_guard through the ansible CLI against a real PostgreSQL: keyed by the database (not the pair's name), held for
the run however long, idempotent within a run, refused to a second run (also in check mode) with the holder named,
released when the owning run is gone or on state=absent."""

from __future__ import annotations

import subprocess
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils._guard import GUARD_KEY
from tests.integration.handover.lab import ad_hoc
from tests.support.postgres import PostgresServer


@pytest.fixture
def databases(handover_pg: PostgresServer) -> t.Iterator[tuple[PostgresServer, list[str]]]:
    names = [handover_pg.create_database("guard"), handover_pg.create_database("guard")]
    try:
        yield handover_pg, names
    finally:
        for name in names:
            handover_pg.drop_database(name)


def guard_sessions(pg: PostgresServer, database: str) -> list[str]:
    """application_name of each session holding the guard key in that database (from pg_locks, independently)."""
    conn = pg.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid JOIN pg_database d ON d.oid = l.database"
                " WHERE l.locktype = 'advisory' AND d.datname = %s AND l.classid = %s AND l.objid = %s AND l.objsubid = 2 AND l.granted",
                (database, *GUARD_KEY),
            )
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


@pytest.fixture
def owner() -> t.Iterator[subprocess.Popen[bytes]]:
    """Stands for the ansible-playbook run that takes the guard."""
    proc = subprocess.Popen(["sleep", "300"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_guard_is_held_per_database_and_idempotent_within_a_run(databases: tuple[PostgresServer, list[str]], tmp_path: Path, owner: t.Any) -> None:
    pg, (one, two) = databases
    first = ad_hoc("pair_guard", pg.url(one), tmp_path, name="pair-a", owner_pid=owner.pid)
    assert first["_ok"] and first["changed"] and first["held"], first.get("msg", first)
    assert [e["event"] for e in first["events"]] == ["taken"]
    assert guard_sessions(pg, one) == ["nodeops.chainlink pair_guard pair-a"]
    again = ad_hoc("pair_guard", pg.url(one), tmp_path, name="pair-a", owner_pid=owner.pid)
    assert again["_ok"] and not again["changed"] and again["pid"] == first["pid"]
    # Another pair's database is another guard.
    other = ad_hoc("pair_guard", pg.url(two), tmp_path, name="pair-b", owner_pid=owner.pid)
    assert other["_ok"] and other["changed"], other
    assert guard_sessions(pg, two) == ["nodeops.chainlink pair_guard pair-b"]
    released = ad_hoc("pair_guard", pg.url(one), tmp_path, name="pair-a", state="absent")
    assert released["_ok"] and released["changed"]
    assert guard_sessions(pg, one) == [] and guard_sessions(pg, two) != []
    assert not ad_hoc("pair_guard", pg.url(one), tmp_path, name="pair-a", state="absent")["changed"]


def test_second_run_on_the_same_database_is_refused_under_any_name(databases: tuple[PostgresServer, list[str]], tmp_path: Path, owner: t.Any) -> None:
    pg, (one, _two) = databases
    first = ad_hoc("pair_guard", pg.url(one), tmp_path / "one", name="pair-a", owner_pid=owner.pid)
    assert first["_ok"], first
    second_owner = subprocess.Popen(["sleep", "300"])
    try:
        # Another controller (its own state dir) whose inventory calls the same pair otherwise.
        for check_mode in (False, True):
            args = {"name": "renamed", "owner_pid": second_owner.pid, "timeout": 1, **({"_ansible_check_mode": True} if check_mode else {})}
            started = time.monotonic()
            second = ad_hoc("pair_guard", pg.url(one), tmp_path / "two", **args)
            assert not second["_ok"]
            assert "another run is changing the pair of 'renamed'" in second["msg"]
            assert "'nodeops.chainlink pair_guard pair-a'" in second["msg"] and "Nothing was changed" in second["msg"]
            assert time.monotonic() - started >= (0 if check_mode else 1.0)  # waited for a run that might be ending
        assert guard_sessions(pg, one) == ["nodeops.chainlink pair_guard pair-a"]
    finally:
        second_owner.kill()
        second_owner.wait()


def test_guard_is_released_when_its_run_is_gone(databases: tuple[PostgresServer, list[str]], tmp_path: Path) -> None:
    pg, (one, _two) = databases
    run = subprocess.Popen(["sleep", "300"])
    taken = ad_hoc("pair_guard", pg.url(one), tmp_path, name="pair-a", owner_pid=run.pid)
    assert taken["_ok"], taken
    assert guard_sessions(pg, one)
    run.kill()  # the controller is gone (Ctrl-C, SIGKILL, lost machine)
    run.wait()
    deadline = time.monotonic() + 5
    while guard_sessions(pg, one) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert guard_sessions(pg, one) == []
    # The next run takes it at once.
    with subprocess.Popen(["sleep", "300"]) as nxt:
        try:
            assert ad_hoc("pair_guard", pg.url(one), tmp_path, name="pair-a", owner_pid=nxt.pid)["_ok"]
        finally:
            nxt.kill()
