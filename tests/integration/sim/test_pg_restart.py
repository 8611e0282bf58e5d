# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""A PostgreSQL restart under a running pair: afterwards exactly one holder, and no crash loop (own server)."""

from __future__ import annotations

import time
import typing as t

import pytest

from tests.integration.sim.helpers import V2, Db
from tests.support.postgres import PostgresServer, start_postgres
from tests.support.sim import SimFactory, SimNode

# Standby exits the node may take when its connection cannot be re-established (spec 4.5), or the old primary's when
# the standby won the expired lease while it was cut off (spec 4.6).
ALLOWED_EXITS = (
    "lease lock failed to checkout initial connection",
    "Another node has taken the lease, exiting immediately",
)


@pytest.fixture
def own_server() -> t.Iterator[PostgresServer]:
    server = start_postgres("nodeops-test-sim-pg")
    try:
        yield server
    finally:
        server.stop()


def active(nodes: list[SimNode]) -> list[SimNode]:
    return [n for n in nodes if n.active]


def test_restart_leaves_exactly_one_holder(own_server: PostgresServer, sim_factory: SimFactory) -> None:
    db = Db(own_server, own_server.create_database())
    try:
        pair = [sim_factory.start(V2, db.url, lease_duration="3s", refresh="500ms")]
        pair[0].wait_booted()
        pair.append(sim_factory.start(V2, db.url, lease_duration="3s", refresh="500ms"))
        pair[1].wait_waiting()
        db.close()

        own_server.restart()
        time.sleep(5)  # beyond a lease duration: any expired lease has been re-taken by now

        for node in pair:
            if not node.running:
                assert node.wait_exit() == 1
                assert any(reason in node.log_text() for reason in ALLOWED_EXITS), node.log_text()
        survivors = [n for n in pair if n.running]
        assert survivors, "at least one node must survive a database restart"
        holders = active(pair)
        assert len(holders) == 1, [n.log_text() for n in pair]
        holder = holders[0]
        assert db.lease() == (holder.app_id, True)

        # A supervisor (Docker's restart policy) restarts what exited: it settles as a standby, no crash loop.
        replacements = [sim_factory.start(V2, db.url, lease_duration="3s", refresh="500ms") for n in pair if not n.running]
        for node in replacements:
            node.wait_waiting()
        expires = db.one("SELECT expires_at FROM lease_lock")
        time.sleep(3)
        everyone = pair + replacements
        assert all(n.running for n in survivors + replacements)
        assert active(everyone) == [holder]
        assert db.lease() == (holder.app_id, True)
        assert db.one("SELECT expires_at FROM lease_lock") > expires, "the holder keeps refreshing"
    finally:
        db.close()
