# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cases of the node's ``core/services/pg/locked_db_test.go`` (HappyPath, TwoInstances, OpenUnlockedDB)."""

from __future__ import annotations

import time

import pytest

from tests.integration.sim.helpers import DURATION, V1, V2, Db
from tests.support.sim import SimFactory


def test_happy_path_open_and_close(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url)
    node.wait_booted()
    app_id = node.app_id or ""
    assert db.lease() == (app_id, True)
    names = {name for _pid, name in db.sessions(app_id)}
    assert names == {f"Chainlink {V2} |App|{app_id}"}
    node.terminate()
    assert node.wait_exit() == 0
    assert db.lease() == (app_id, False)
    assert db.sessions(app_id) == [], "every connection is closed on a clean stop"


def test_two_instances_second_never_boots_while_first_holds(db: Db, sim_factory: SimFactory) -> None:
    first = sim_factory.start(V2, db.url)
    first.wait_booted()
    second = sim_factory.start(V2, db.url)
    second.wait_waiting()
    time.sleep(DURATION * 1.5)
    assert second.running and second.booted_at is None
    assert db.lease() == (first.app_id, True)
    assert len(db.sessions(second.app_id or "")) == 1, "a standby keeps one connection and opens no pool"


@pytest.mark.parametrize("version", [V2, V1], ids=["2.x-enabled-false", "1.x-mode-none"])
def test_open_unlocked_db_boots_beside_a_holder(db: Db, sim_factory: SimFactory, version: str) -> None:
    holder = sim_factory.start(version, db.url)  # same version: an older node would refuse the database
    holder.wait_booted()
    before = db.rows("SELECT client_id FROM lease_lock")
    unlocked = sim_factory.start(version, db.url, log_level="debug", locking_mode="none")
    unlocked.wait_booted()
    unlocked.wait_for_line(r"Using database locking mode: none")
    assert unlocked.count_lines("Taking initial lease") == 0
    assert db.rows("SELECT client_id FROM lease_lock") == before
    assert db.lease() == (holder.app_id, True)
