# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cases of the node's 1.x ``advisory_lock_test.go``, plus the dual mode, against chainlink-sim 1.11.0 processes."""

from __future__ import annotations

import time

from tests.integration.sim.helpers import DURATION, V1, V2, Db
from tests.support.sim import SimFactory

LOCK_ID = 1027321974924625846
ADVISORY_ROWS = (
    "SELECT l.pid, l.mode, l.granted, l.objsubid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND (l.classid::bigint << 32) | l.objid::bigint = %s"
)


def test_takes_lock_visible_in_pg_locks_second_waits_then_takes_over(db: Db, sim_factory: SimFactory) -> None:
    first = sim_factory.start(V1, db.url, locking_mode="advisorylock")
    first.wait_booted()
    rows = db.rows(ADVISORY_ROWS, (LOCK_ID,))
    assert len(rows) == 1
    _locktype, mode, granted, objsubid, app_name = rows[0]
    assert (mode, granted, objsubid) == ("ExclusiveLock", True, 1)
    assert app_name == f"Chainlink {V1} |App|{first.app_id}"
    assert db.rows("SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory'") == [(239192036, 2840971190)]
    assert not db.has_table("lease_lock"), "advisorylock mode never touches the lease"

    second = sim_factory.start(V1, db.url, locking_mode="advisorylock")
    line = second.wait_for_line(r"Another application holds the advisory lock, waiting\.\.\.")
    assert "tryCount=0" in line.text
    # The standby uses pg_try_advisory_lock: it never queues, so there is no granted=false row.
    assert [r[2] for r in db.rows(ADVISORY_ROWS, (LOCK_ID,))] == [True]

    first.terminate()
    assert first.wait_exit() == 0
    second.wait_booted(5)
    rows = db.rows(ADVISORY_ROWS, (LOCK_ID,))
    assert [r[4] for r in rows] == [f"Chainlink {V1} |App|{second.app_id}"]
    second.terminate()
    assert second.wait_exit() == 0
    assert db.rows(ADVISORY_ROWS, (LOCK_ID,)) == []


def test_lock_lost_to_another_session_exits_1(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V1, db.url, locking_mode="advisorylock")
    node.wait_booted()
    pid = db.rows(ADVISORY_ROWS, (LOCK_ID,))[0][0]
    thief = db.connect()
    try:
        with thief.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
            cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        assert node.wait_exit(10) == 1
        node.wait_for_line(r"\[FATAL\] *Another node has taken the advisory lock, exiting immediately")
    finally:
        thief.close()


def test_reconnects_and_relocks_after_connection_closed(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V1, db.url, locking_mode="advisorylock")
    node.wait_booted()
    pid = db.rows(ADVISORY_ROWS, (LOCK_ID,))[0][0]
    db.execute("SELECT pg_terminate_backend(%s)", (pid,))
    node.wait_for_line(r"DB connection was unexpectedly closed; checking out a new one", 5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not db.rows(ADVISORY_ROWS, (LOCK_ID,)):
        time.sleep(0.05)
    rows = db.rows(ADVISORY_ROWS, (LOCK_ID,))
    assert len(rows) == 1 and rows[0][0] != pid
    assert node.running and node.active


def test_cancel_while_waiting_for_advisory_lock(db: Db, sim_factory: SimFactory) -> None:
    holder = db.connect()
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        node = sim_factory.start(V1, db.url, locking_mode="dual")
        node.wait_for_line(r"holds the advisory lock, waiting")
        # Dual: the lease was taken first (silently at info level) and is refreshed while the advisory lock is awaited.
        app_id, valid = db.lease()
        assert valid and app_id is not None and len(db.sessions(app_id)) == 2
        expires = db.one("SELECT expires_at FROM lease_lock")
        deadline = time.monotonic() + DURATION  # refreshed every 0.5 s: wait for one, for at most a lease
        while db.one("SELECT expires_at FROM lease_lock") <= expires:
            assert time.monotonic() < deadline, "the lease was not refreshed while the advisory lock was awaited"
            time.sleep(0.05)
        node.terminate()
        assert node.wait_exit() == 1
        assert node.log_lines()[-1].text == "opening db: error acquiring lock: stopped by parent context"
        assert db.lease() == (app_id, False), "the lease is released on the way out"
    finally:
        holder.close()


def test_dual_is_the_default_and_survives_sigkill_handover(db: Db, sim_factory: SimFactory) -> None:
    first = sim_factory.start(V1, db.url, log_level="debug")
    first.wait_booted()
    first.wait_for_line(r"Using database locking mode: dual")
    assert db.lease() == (first.app_id, True)
    assert len(db.rows(ADVISORY_ROWS, (LOCK_ID,))) == 1

    second = sim_factory.start(V1, db.url)
    second.wait_for_line(r"waiting for lease to expire")
    first.kill()
    first.wait_exit()
    second.wait_booted(6)
    assert db.lease() == (second.app_id, True)
    rows = db.rows(ADVISORY_ROWS, (LOCK_ID,))
    assert [r[4] for r in rows] == [f"Chainlink {V1} |App|{second.app_id}"]


def test_lease_mode_takes_no_advisory_lock(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V1, db.url, locking_mode="lease")
    node.wait_booted()
    assert db.lease() == (node.app_id, True)
    assert db.rows(ADVISORY_ROWS, (LOCK_ID,)) == []


def test_2x_ignores_an_advisorylock_holder_takes_the_lease_and_boots_beside_it(db: Db, sim_factory: SimFactory) -> None:
    # The lock modes do not see each other (locked_db.go @v1.11.0: advisorylock takes only the advisory lock; @v2.29.0:
    # only the lease): a 2.x node next to a 1.x advisorylock holder finds the lease free and boots, two active nodes.
    old = sim_factory.start(V1, db.url, locking_mode="advisorylock")
    old.wait_booted()
    assert not db.has_table("lease_lock"), "advisorylock mode never touches lease_lock"
    new = sim_factory.start(V2, db.url)
    new.wait_booted()
    assert old.running and new.running
    assert db.lease() == (new.app_id, True)
    rows = db.rows(ADVISORY_ROWS, (LOCK_ID,))
    assert [r[4] for r in rows] == [f"Chainlink {V1} |App|{old.app_id}"]
    assert old.count_lines("Another node has taken") == 0
