# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Smoke: two 2.x nodes on one database hand the lease over on SIGTERM (the helper's own acceptance test)."""

from __future__ import annotations

from tests.support.postgres import PostgresServer
from tests.support.sim import SimFactory


def lease_owner(pg_server: PostgresServer, db: str) -> str | None:
    conn = pg_server.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT client_id::text FROM lease_lock WHERE expires_at > now()")
            row = cur.fetchone()
        return row[0] if row else None
    finally:
        conn.close()


def test_graceful_handover(sim_factory: SimFactory, pg_server: PostgresServer, pg_db: str) -> None:
    url = pg_server.url(pg_db)
    first = sim_factory.start("2.29.0", url)
    first.wait_booted()
    second = sim_factory.start("2.29.0", url)
    second.wait_waiting()
    assert lease_owner(pg_server, pg_db) == first.app_id
    first.terminate()
    assert first.wait_exit(10) == 0
    second.wait_booted(5)
    assert lease_owner(pg_server, pg_db) == second.app_id != first.app_id
