# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Exit statuses and the fault knobs: lease lost (1), grace exceeded (255), crash at boot, refuse start, slow boot."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid

from tests.integration.sim.helpers import DURATION, REFRESH, V1, V2, Db
from tests.support.sim import SimFactory


def http_status(url: str) -> int | str:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, ConnectionError) as exc:
        return type(getattr(exc, "reason", exc)).__name__


def test_lease_taken_by_another_owner_exits_1(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url, json_logs=True)
    node.wait_booted()
    db.execute("UPDATE lease_lock SET client_id = %s, expires_at = now() + interval '1 day'", (str(uuid.uuid4()),))
    assert node.wait_exit(REFRESH * 4) == 1
    fatal = [r for r in node.records() if r["level"] == "fatal"]
    assert len(fatal) == 1
    assert fatal[0]["msg"] == "Another node has taken the lease, exiting immediately"
    assert fatal[0]["logger"] == "RunNode.LockedDB.LeaseLock"
    assert fatal[0]["appID"] == node.app_id


def test_refresh_errors_are_logged_and_survived(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url)
    node.wait_booted()
    # Lock the row from another session for longer than a refresh: the holder's upsert hits lock_timeout/statement timeout.
    blocker = db.connect()
    blocker.autocommit = False
    try:
        with blocker.cursor() as cur:
            cur.execute("SELECT * FROM lease_lock FOR UPDATE")
            cur.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        time.sleep(DURATION + REFRESH * 2)
    finally:
        blocker.rollback()
        blocker.close()
    node.wait_for_line(r"\[ERROR\] *Error trying to refresh database lease", 5)
    time.sleep(REFRESH * 3)
    assert node.running and node.active
    assert db.lease() == (node.app_id, True)


def test_shutdown_grace_period_exceeded_exits_255_and_releases(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url, shutdown_grace="1s", extra_env={"SIM_SHUTDOWN_DELAY": "5"})
    node.wait_booted()
    standby = sim_factory.start(V2, db.url, log_level="debug")
    standby_id = standby.wait_app_id()
    standby.wait_waiting()
    signalled = time.monotonic()
    node.terminate()
    assert node.wait_exit(5) == 255
    # Not before the 1 s grace period (the spec); the upper bound only says it did not wait out its 5 s shutdown delay,
    # with 2 s for the exit to be seen on a loaded machine.
    assert node.exited_at is not None and 1.0 <= node.exited_at - signalled < 3.0
    node.wait_for_line(r"\[CRIT\] *Shutdown grace period of 1s exceeded, closing DB and exiting\.\.\.")
    took = db.wait_lease_holder(standby_id, timeout=5)
    assert took - node.exited_at <= 1.5 * REFRESH  # as in test_timing.py: 1.1 REFRESH by the spec, 0.2 s for polling and load


def test_crash_at_boot_releases_nothing(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url, log_level="debug", extra_env={"SIM_CRASH_AT_BOOT": "1"})
    app_id = node.wait_app_id()
    code = node.wait_exit()
    assert code not in (0, 1) and code > 0
    assert node.count_lines("Chainlink booted") == 0
    node.wait_for_line(r"Got exclusive lease on database")
    assert db.lease() == (app_id, True), "a crash leaves the lease to expire"


def test_refuse_start_exits_at_once_without_touching_the_database(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url, extra_env={"SIM_REFUSE_START": "true"})
    assert node.wait_exit(5) == 1
    assert "SIM_REFUSE_START" in node.log_text()
    assert not db.has_table("lease_lock")


def test_boot_delay_holds_the_lock_before_booting_and_listens_only_after(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V1, db.url, log_level="debug", extra_env={"SIM_BOOT_DELAY": "1.5"})
    got = node.wait_for_line(r"Got exclusive lease on database")
    app_id = node.app_id or ""
    assert db.lease() == (app_id, True)
    assert isinstance(http_status(f"{node.base_url}/health"), str), "nothing listens before boot"
    booted = node.wait_booted(5)
    assert booted.at - got.at >= 1.5
    listening = node.wait_for_line(r"Listening and serving HTTP on port \d+$|Listening and serving HTTP on port \d+ ")
    assert listening.at >= booted.at
    assert http_status(f"{node.base_url}/health") == 200


def test_sigint_is_a_graceful_stop(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url)
    node.wait_booted()
    node.interrupt()
    assert node.wait_exit() == 0
    node.wait_for_line(r"Shutting down due to interrupt signal received\.\.\.")
    node.wait_for_line(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d Graceful shutdown time: ")
    assert db.lease() == (node.app_id, False)
