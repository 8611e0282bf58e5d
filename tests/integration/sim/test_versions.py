# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""``node_versions`` and the downgrade refusal, and the version-dependent HTTP behaviour (spec 4.10, 5, 6)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.integration.sim.helpers import V1, V2, Db
from tests.support.sim import SimFactory, SimNode


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


def boot_and_stop(sim_factory: SimFactory, version: str, url: str) -> SimNode:
    node = sim_factory.start(version, url)
    node.wait_booted()
    node.terminate()
    assert node.wait_exit() == 0
    return node


def test_node_versions_records_upgrades_and_refuses_downgrade_after_taking_the_lock(db: Db, sim_factory: SimFactory) -> None:
    boot_and_stop(sim_factory, V1, db.url)
    assert db.rows("SELECT version FROM node_versions") == [(V1,)]
    boot_and_stop(sim_factory, "2.28.0", db.url)
    boot_and_stop(sim_factory, V2, db.url)
    assert db.rows("SELECT version FROM node_versions") == [(V2,)]
    recorded_at = db.one("SELECT created_at FROM node_versions")

    old = sim_factory.start("2.28.0", db.url, log_level="debug")
    old_id = old.wait_app_id()
    assert old.wait_exit() == 1
    old.wait_for_line(r"Got exclusive lease on database")
    assert old.log_lines()[-1].text == (
        "fatal error instantiating application: CheckVersion: Application version (2.28.0) is lower than database version (2.29.0). "
        "Only Chainlink 2.29.0 or higher can be run on this database"
    )
    assert old.count_lines("Chainlink booted") == 0
    # It took the lock first (the refusal comes after), then released it on the way out.
    assert db.lease() == (old_id, False)
    assert db.rows("SELECT version, created_at FROM node_versions") == [(V2, recorded_at)]


@pytest.mark.parametrize(
    ("version", "listening", "failing_status"),
    [(V1, r"Listening and serving HTTP on port {port}", 503), ("2.28.0", r"Listening and serving HTTP on 127\.0\.0\.1:{port}", 207)],
)
def test_health_only_after_boot_and_its_failing_status(db: Db, sim_factory: SimFactory, version: str, listening: str, failing_status: int) -> None:
    node = sim_factory.start(version, db.url)
    node.wait_booted()
    line = node.wait_for_line(listening.format(port=node.http_port))
    node.wait_http()  # the line comes just before the bind
    if version == "2.28.0":
        assert "ip=127.0.0.1" in line.text and f"port={node.http_port}" in line.text
    status, body = get(f"{node.base_url}/health")
    assert status == 200
    checks = {c["attributes"]["name"]: c["attributes"]["status"] for c in json.loads(body)["data"]}
    assert checks and set(checks.values()) == {"passing"}
    assert get(f"{node.base_url}/readyz") == (200, "")
    assert get(f"{node.base_url}/v2/ping")[0] == 401

    db.execute("DROP TABLE sim_job_runs")  # the work loop now fails: one check turns failing
    node.wait_for_line(r"\[ERROR\] *Error processing job runs", 5)
    status, body = get(f"{node.base_url}/health")
    assert status == failing_status
    assert "failing" in {c["attributes"]["status"] for c in json.loads(body)["data"]}
    assert get(f"{node.base_url}/readyz")[0] == 503
    assert get(f"{node.base_url}/health.txt")[0] == (404 if version == V1 else failing_status)


def test_session_login_then_ping(db: Db, sim_factory: SimFactory) -> None:
    from tests.support.sim import API_EMAIL, API_PASSWORD

    node = sim_factory.start(V2, db.url)
    node.wait_for_line(rf"API exposed for user {API_EMAIL}")
    node.wait_http()
    request = urllib.request.Request(
        f"{node.base_url}/sessions",
        data=json.dumps({"email": API_EMAIL, "password": API_PASSWORD}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=2) as resp:
        cookie = resp.headers["Set-Cookie"].split(";", 1)[0]
    ping = urllib.request.Request(f"{node.base_url}/v2/ping", headers={"Cookie": cookie})
    with urllib.request.urlopen(ping, timeout=2) as resp:
        assert json.loads(resp.read()) == {"message": "pong"}


def test_second_run_reuses_the_stored_api_user(db: Db, sim_factory: SimFactory) -> None:
    boot_and_stop(sim_factory, V2, db.url)
    again = sim_factory.start(V2, db.url, api_file=False)
    again.wait_booted()
    fresh = Db(db.server, db.server.create_database())
    try:
        refused = sim_factory.start(V2, fresh.url, api_file=False)
        assert refused.wait_exit() == 1
        assert "pass -a <api file>" in refused.log_lines()[-1].text
        holder, valid = fresh.lease()
        assert holder is not None and not valid, "the lease was taken, then released on the refusal"
    finally:
        refused.stop()
        fresh.close()
        db.server.drop_database(fresh.name)


def test_migrations_before_the_version_row_and_a_version_that_fails_part_way(db: Db, sim_factory: SimFactory) -> None:
    # core/cmd/shell.go @v2.29.0 handleNodeVersioning: goose migrations (one transaction each), then UpsertNodeVersion
    boot_and_stop(sim_factory, V1, db.url)
    assert db.one("SELECT max(version_id) FROM goose_migrations") == 1110
    failed = sim_factory.start(V2, db.url, extra_env={"SIM_MIGRATE_FAIL_AT": "1170"})
    assert failed.wait_exit() == 1
    assert "initializeORM#Migrate: ERROR 1170_sim.sql: failed to run SQL migration" in failed.log_lines()[-1].text
    assert failed.count_lines("Chainlink booted") == 0
    # the schema moved, the version row did not: only goose_migrations tells
    assert db.one("SELECT max(version_id) FROM goose_migrations") == 1169
    assert db.rows("SELECT version FROM node_versions") == [(V1,)]
    # a broken migration fails again on the next run (a restart loop does not get past it)
    again = sim_factory.start(V2, db.url, extra_env={"SIM_MIGRATE_FAIL_AT": "1170"})
    assert again.wait_exit() == 1
    assert db.one("SELECT max(version_id) FROM goose_migrations") == 1169
    boot_and_stop(sim_factory, V2, db.url)
    assert db.one("SELECT max(version_id) FROM goose_migrations") == 2290
    assert db.rows("SELECT version FROM node_versions") == [(V2,)]


def test_startup_health_server_answers_on_every_address_while_migrating(db: Db, sim_factory: SimFactory) -> None:
    # core/services/health.go StartUpHealthReport (v2.16.0+): ":<HTTPPort>", /health 204, anything else 503; it binds
    # every address (127.0.0.2 answers too), where the real web server binds ListenIP (127.0.0.1 in the lab) only
    node = sim_factory.start(V2, db.url, extra_env={"SIM_BOOT_DELAY": "3"})
    node.wait_for_line(r"Starting StartUpHealthReport")
    time.sleep(0.3)
    assert get(f"http://127.0.0.2:{node.http_port}/health")[0] == 204
    assert get(f"{node.base_url}/readyz")[0] == 503
    assert node.count_lines("Chainlink booted") == 0
    node.wait_booted()
    node.wait_for_line(r"StartUpHealthReport shutdown complete")
    node.wait_http()
    assert get(f"{node.base_url}/readyz")[0] == 200
    with pytest.raises(urllib.error.URLError):
        get(f"http://127.0.0.2:{node.http_port}/health")
    node.terminate()
    assert node.wait_exit() == 0
    older = sim_factory.start("2.14.0", db.url, extra_env={"SIM_BOOT_DELAY": "0.5"})
    assert older.wait_exit() == 1  # refused by the version check; and before v2.16.0 there is no start-up server
    assert older.count_lines("StartUpHealthReport") == 0
