# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cases of the node's ``core/services/pg/lease_lock_test.go``, black-box against chainlink-sim processes."""

from __future__ import annotations

import time
import uuid

from tests.integration.sim.helpers import DURATION, V2, Db
from tests.support.sim import SimFactory

CONN_CLOSED = r"DB connection was unexpectedly closed; checking out a new one"


def test_on_migrated_database_second_waits_then_takes_over(db: Db, sim_factory: SimFactory) -> None:
    first = sim_factory.start(V2, db.url)
    first.wait_booted()
    assert db.lease() == (first.app_id, True)

    second = sim_factory.start(V2, db.url)
    waiting = second.wait_waiting()
    assert second.app_id and second.app_id != first.app_id
    assert "tryCount=0" in waiting.text
    assert db.lease() == (first.app_id, True)

    first.terminate()
    assert first.wait_exit() == 0
    second.wait_booted(5)
    assert db.lease() == (second.app_id, True)
    assert db.one("SELECT count(*) FROM lease_lock") == 1


def test_on_virgin_database_creates_table_and_unique_index(db: Db, sim_factory: SimFactory) -> None:
    assert not db.has_table("lease_lock")
    node = sim_factory.start(V2, db.url)
    node.wait_booted()
    columns = db.rows("SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'lease_lock' ORDER BY ordinal_position")
    assert columns == [("client_id", "uuid", "NO"), ("expires_at", "timestamp with time zone", "NO")]
    index = db.one("SELECT indexdef FROM pg_indexes WHERE tablename = 'lease_lock' AND indexname = 'only_one_lease_lock'")
    assert index is not None and "UNIQUE" in index and "(client_id IS NOT NULL)" in index
    assert db.one("SELECT count(*) FROM pg_constraint WHERE conrelid = 'lease_lock'::regclass AND contype = 'p'") == 0


def test_recovers_when_connection_closed_externally_while_waiting(db: Db, sim_factory: SimFactory) -> None:
    db.execute("CREATE TABLE lease_lock (client_id uuid NOT NULL, expires_at timestamptz NOT NULL)")
    db.execute("CREATE UNIQUE INDEX only_one_lease_lock ON lease_lock ((client_id IS NOT NULL))")
    other = str(uuid.uuid4())
    db.execute("INSERT INTO lease_lock VALUES (%s, now() + interval '1 day')", (other,))

    node = sim_factory.start(V2, db.url)
    node.wait_waiting()
    app_id = node.wait_app_id()
    pids = [pid for pid, _name in db.sessions(app_id)]
    assert len(pids) == 1, "a waiting node holds exactly one connection: the lease's"
    db.execute("SELECT pg_terminate_backend(%s)", (pids[0],))
    node.wait_for_line(CONN_CLOSED, 5)
    assert node.running

    db.execute("DELETE FROM lease_lock")
    node.wait_booted(5)
    assert db.lease() == (app_id, True)


def test_recovers_when_connection_closed_externally_while_holding(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url)
    node.wait_booted()
    app_id = node.app_id or ""
    # The lease's dedicated connection is the node's first: it is checked out before any other DB work.
    lease_pid = db.one("SELECT pid FROM pg_stat_activity WHERE application_name LIKE '%%|App|' || %s ORDER BY backend_start LIMIT 1", (app_id,))
    assert lease_pid is not None
    before = db.one("SELECT expires_at FROM lease_lock")
    db.execute("SELECT pg_terminate_backend(%s)", (lease_pid,))
    node.wait_for_line(CONN_CLOSED, 5)
    # the next refresh (every 0.5 s) goes over a new connection: wait for it, for at most a lease
    deadline = time.monotonic() + DURATION
    while db.one("SELECT expires_at FROM lease_lock") <= before:
        assert time.monotonic() < deadline, f"no refresh within a lease after the connection was closed:\n{node.log_text()}"
        time.sleep(0.05)
    assert db.lease() == (app_id, True)
    assert node.running and node.active


def test_release_lets_the_next_locker_acquire_immediately(db: Db, sim_factory: SimFactory) -> None:
    first = sim_factory.start(V2, db.url)
    first.wait_booted()
    first.terminate()
    assert first.wait_exit() == 0
    # Released: expires_at was set to now() by the release UPDATE, long before the 2s lease would have run out.
    assert db.lease() == (first.app_id, False)

    started = time.monotonic()
    second = sim_factory.start(V2, db.url)
    second.wait_booted()
    assert second.count_lines("waiting for lease to expire") == 0
    assert time.monotonic() - started < 5
    assert db.lease() == (second.app_id, True)


def test_cancel_while_waiting_exits_1_with_stopped(db: Db, sim_factory: SimFactory) -> None:
    holder = sim_factory.start(V2, db.url)
    holder.wait_booted()
    waiter = sim_factory.start(V2, db.url)
    waiter.wait_waiting()
    waiter.terminate()
    assert waiter.wait_exit() == 1
    assert waiter.log_lines()[-1].text == "opening db: failed to take initial lease on database: stopped"
    assert waiter.count_lines(r"Shutting down due to terminated signal received") == 1
    assert waiter.count_lines(r"Chainlink booted") == 0
    assert db.lease() == (holder.app_id, True)
    assert waiter.app_id and db.sessions(waiter.app_id) == []
