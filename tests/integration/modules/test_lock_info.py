# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""lock_info against a real PostgreSQL, with the lock rows and sessions written directly.

Most cases run the module's main() in this process (fast, and the result is taken after AnsibleModule removed no_log
values); two cases run it through the `ansible` CLI to prove the packaged module works end to end.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
import typing as t
import uuid
from pathlib import Path

import psycopg2
import psycopg2.extensions
import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import DEFAULT_ADVISORY_LOCK_ID, lock_statement
from ansible_collections.nodeops.chainlink.plugins.modules import lock_info
from tests.support.ansible_module import run_module, warning_messages
from tests.support.postgres import PostgresServer, free_port
from tests.support.sim import SimFactory, SimNode

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
MODULE_APP_NAME = "nodeops.chainlink.lock_info"

# What the node runs on its first attempt (migration 0082_lease_lock.sql).
LEASE_DDL = (
    "CREATE TABLE IF NOT EXISTS {table} (client_id uuid NOT NULL, expires_at timestamptz NOT NULL);"
    " CREATE UNIQUE INDEX IF NOT EXISTS only_one_lease_lock ON {table} ((client_id IS NOT NULL))"
)
# The node's getLease upsert, with an explicit owner and duration.
LEASE_UPSERT = (
    "INSERT INTO {table} (client_id, expires_at) VALUES (%s, now() + %s * interval '1 second')"
    " ON CONFLICT ((client_id IS NOT NULL)) DO UPDATE SET client_id = EXCLUDED.client_id, expires_at = EXCLUDED.expires_at"
)


def app_name(app_id: str, version: str = "2.29.0", name: str = "App") -> str:
    """application_name as the node sets it; PostgreSQL itself cuts it to 63 bytes, as the node also does."""
    return f"Chainlink {version} |{name}|{app_id}"


class Lab:
    """One fresh database, a superuser connection to it, and the 'node' sessions a test opens (closed at the end)."""

    def __init__(self, server: PostgresServer, db: str) -> None:
        self.server = server
        self.db = db
        self.admin = server.connect(db)
        self._sessions: list[psycopg2.extensions.connection] = []

    def sql(self, statement: str, *args: t.Any) -> list[tuple[t.Any, ...]]:
        with self.admin.cursor() as cur:
            cur.execute(statement, args or None)
            return cur.fetchall() if cur.description else []

    def create_lease_table(self, table: str = "lease_lock") -> None:
        self.sql(LEASE_DDL.format(table=table))

    def set_lease(self, client_id: str, seconds: float, table: str = "lease_lock") -> None:
        self.sql(LEASE_UPSERT.format(table=table), client_id, seconds)

    def create_node_versions(self, *versions: tuple[str, str]) -> None:
        self.sql("CREATE TABLE node_versions (version text PRIMARY KEY, created_at timestamp NOT NULL)")
        for version, created_at in versions:
            self.sql("INSERT INTO node_versions (version, created_at) VALUES (%s, %s)", version, created_at)

    def session(self, application_name: str, user: str | None = None, password: str | None = None) -> psycopg2.extensions.connection:
        """A connection as a node's pool would hold it."""
        conn = psycopg2.connect(
            host=self.server.host,
            port=self.server.port,
            user=user or self.server.user,
            password=password or self.server.password,
            dbname=self.db,
            application_name=application_name,
        )
        conn.autocommit = True
        self._sessions.append(conn)
        return conn

    def args(self, **given: t.Any) -> dict[str, t.Any]:
        return {
            "login_host": self.server.host,
            "login_port": self.server.port,
            "login_user": self.server.user,
            "login_password": self.server.password,
            "login_db": self.db,
            **given,
        }

    def observe(self, **given: t.Any) -> dict[str, t.Any]:
        return run_module(lock_info.main, self.args(**given))

    def close(self) -> None:
        for conn in self._sessions:
            conn.close()
        self.admin.close()


@pytest.fixture
def lab(pg_server: PostgresServer, pg_db: str) -> t.Iterator[Lab]:
    lab = Lab(pg_server, pg_db)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def role(pg_server: PostgresServer, pg_db: str) -> t.Iterator[str]:
    """A login role (roles are cluster-wide: unique name, dropped afterwards) with CONNECT on the test database."""
    name = f"lockobs_{uuid.uuid4().hex[:8]}"
    admin = pg_server.connect()
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'observer-pw'")
            cur.execute(f'GRANT CONNECT ON DATABASE "{pg_db}" TO {name}')
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'REVOKE ALL ON DATABASE "{pg_db}" FROM {name}')
            # Privileges inside the test database go with it; the role must lose them first to be dropped.
            with contextlib.suppress(psycopg2.Error):
                db_admin = pg_server.connect(pg_db)
                with db_admin.cursor() as dcur:
                    dcur.execute(f"DROP OWNED BY {name}")
                db_admin.close()
            cur.execute(f"DROP ROLE IF EXISTS {name}")
        admin.close()


class Later(threading.Thread):
    """Runs action after delay seconds in the background (a node changing the lock while the module waits). ``began``
    is when the action started: a module that returned before it did not wait for it, whatever the load."""

    def __init__(self, delay: float, action: t.Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.delay, self.action = delay, action
        self.began = float("inf")

    def run(self) -> None:
        time.sleep(self.delay)
        self.began = time.monotonic()
        self.action()


def later(delay: float, action: t.Callable[[], None]) -> Later:
    thread = Later(delay, action)
    thread.start()
    return thread


def wait_for_session(lab: Lab, application_name: str, timeout: float = 10) -> None:
    """Until a session of that name is connected to the test database."""
    deadline = time.monotonic() + timeout
    while not lab.sql("SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND datname = %s", application_name, lab.db):
        assert time.monotonic() < deadline, f"no session {application_name} within {timeout} s"
        time.sleep(0.02)


def timed(observe: t.Callable[[], dict[str, t.Any]]) -> tuple[dict[str, t.Any], float, float]:
    """The module's result, and the monotonic times it was called and returned (its ``waited`` lies within)."""
    called = time.monotonic()
    result = observe()
    return result, called, time.monotonic()


def ok(result: dict[str, t.Any]) -> dict[str, t.Any]:
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False
    return result


# -- every state ----------------------------------------------------------------------------------------------------


def test_absent_no_lease_table(lab: Lab) -> None:
    result = ok(lab.observe())
    assert result["state"] == "absent"
    assert result["lease"] == {
        "table_exists": False,
        "exists": False,
        "client_id": None,
        "expires_at": None,
        "db_now": result["lease"]["db_now"],
        "remaining_seconds": None,
        "valid": False,
    }
    assert datetime.datetime.fromisoformat(result["lease"]["db_now"]).tzinfo is not None
    assert result["holder"] is None
    assert result["instances"] == []
    assert result["db_version"] is None
    assert result["advisory"]["held"] is False


def test_free_empty_table(lab: Lab) -> None:
    lab.create_lease_table()
    result = ok(lab.observe())
    assert result["state"] == "free"
    assert result["lease"]["table_exists"] is True
    assert result["lease"]["exists"] is False
    assert result["holder"] is None


def test_held_by_a_connected_node(lab: Lab) -> None:
    app = str(uuid.uuid4())
    lab.create_lease_table()
    node = lab.session(app_name(app))
    pool = lab.session(app_name(app))
    written = time.monotonic()
    lab.set_lease(app, 10)
    result = ok(lab.observe())
    took = time.monotonic() - written
    assert result["state"] == "held"
    lease = result["lease"]
    assert lease["client_id"] == app
    assert lease["valid"] is True
    # read after the write (at most 10 s left) and at most `took` later, whatever the load (clocks advance alike)
    assert 10 - took - 0.01 <= lease["remaining_seconds"] <= 10
    expires = datetime.datetime.fromisoformat(lease["expires_at"])
    now = datetime.datetime.fromisoformat(lease["db_now"])
    assert abs((expires - now).total_seconds() - lease["remaining_seconds"]) < 0.001
    holder = result["holder"]
    assert holder["app_id"] == app
    assert holder["version"] == "2.29.0"
    assert holder["application_name"] == app_name(app)
    assert holder["client_addr"] == "127.0.0.1"
    assert holder["pid"] == node.get_backend_pid()  # the older of its two sessions
    assert datetime.datetime.fromisoformat(holder["backend_start"]) <= now
    assert result["consistent"] is True
    [instance] = result["instances"]
    assert instance == {
        "app_id": app,
        "version": "2.29.0",
        "client_addr": "127.0.0.1",
        "connections": 2,
        "pids": sorted([node.get_backend_pid(), pool.get_backend_pid()]),
        "holds_lease": True,
        "holds_advisory": False,
    }


def test_times_are_read_after_the_snapshot_that_sees_a_refresh(lab: Lab) -> None:
    """A refresh committed after the reading transaction began (but before its statement) never shows more time left
    than the lease lasts: now() is the transaction's start, so it must not be the clock the lease is read against."""
    app = str(uuid.uuid4())
    lab.create_lease_table()
    statement, arguments = lock_statement("lease_lock", DEFAULT_ADVISORY_LOCK_ID, epochs=True)
    reader = lab.server.connect(lab.db, autocommit=False)
    try:
        with reader.cursor() as cur:
            # The transaction starts here; pg_sleep opens a gap between its now() and the statement below.
            cur.execute("SELECT extract(epoch FROM now())::float8, pg_sleep(0.3)")
            (began, _slept) = cur.fetchone()
            lab.set_lease(app, 2)  # committed now, 0.3 s after the reader's now()
            cur.execute(statement, arguments)
            (report,) = cur.fetchone()
    finally:
        reader.close()
    lease = report["lease"]
    assert report["db_clock"] >= began + 0.3
    assert lease["valid"] is True
    # expires_at is the refresh's now() + 2 s, and that refresh committed before the statement read it: at most 2 s.
    assert 0 < lease["remaining_seconds"] <= 2
    assert abs(report["db_clock"] + lease["remaining_seconds"] - lease["expires_epoch"]) < 0.001


def test_expired_lease(lab: Lab) -> None:
    app = str(uuid.uuid4())
    lab.create_lease_table()
    lab.session(app_name(app))
    written = time.monotonic()
    lab.set_lease(app, -3)
    result = ok(lab.observe())
    took = time.monotonic() - written
    assert result["state"] == "expired"
    assert result["lease"]["valid"] is False
    assert result["lease"]["client_id"] == app
    assert -3 - took - 0.01 <= result["lease"]["remaining_seconds"] <= -3
    assert result["holder"] is None
    assert result["instances"][0]["holds_lease"] is False


def test_held_but_holder_session_not_visible(lab: Lab) -> None:
    app = str(uuid.uuid4())
    lab.create_lease_table()
    lab.set_lease(app, 10)
    result = ok(lab.observe())
    assert result["state"] == "held"
    assert result["holder"] is None
    assert result["lease"]["client_id"] == app


def test_truncated_names_match_by_prefix(lab: Lab) -> None:
    app, standby = str(uuid.uuid4()), str(uuid.uuid4())
    version = "2.29.0-datastreams-20251020.0"
    lab.create_lease_table()
    node = lab.session(app_name(app, version))
    lab.session(app_name(app, version, "EventBroadcaster"))
    lab.session(app_name(standby, version))
    seen = lab.sql("SELECT application_name FROM pg_stat_activity WHERE pid = %s", node.get_backend_pid())[0][0]
    assert len(seen) == 63 and not seen.endswith(app)  # PostgreSQL cut it: only a prefix of the UUID is left
    lab.set_lease(app, 10)
    result = ok(lab.observe())
    assert result["holder"]["app_id"] == app
    assert result["holder"]["version"] == version
    assert [(i["app_id"], i["connections"], i["holds_lease"]) for i in result["instances"]] == [
        (app, 2, True),
        (standby[: 63 - len(f"Chainlink {version} |App|")], 1, False),
    ]
    waited = ok(lab.observe(wait_for="connected", app_id=standby, timeout=1))
    assert waited["waited"] < 1


def test_standby_connected_and_node_versions(lab: Lab) -> None:
    primary, standby = str(uuid.uuid4()), str(uuid.uuid4())
    lab.create_lease_table()
    lab.create_node_versions(("2.28.0", "2025-01-01 00:00:00"), ("2.29.0", "2025-06-01 00:00:00"))
    lab.session(app_name(primary, "2.29.0"))
    lab.session(app_name(standby, "2.28.0"))
    lab.set_lease(primary, 10)
    result = ok(lab.observe())
    assert result["db_version"] == "2.29.0"
    assert [(i["app_id"], i["version"], i["holds_lease"]) for i in result["instances"]] == [(primary, "2.29.0", True), (standby, "2.28.0", False)]
    # The standby is older than the database: it would refuse to boot after taking the lock.
    assert any(f"instance {standby} runs version 2.28.0, older than the database's 2.29.0" in w for w in warning_messages(result))
    # A database with both tables is read in one statement: one round trip.
    assert len(result["queries"]) == 1
    assert result["queries"][0].startswith("SELECT json_build_object(")
    # No goose_migrations: no schema version, and still one statement; then max(version_id) once it exists
    assert result["schema_version"] is None
    lab.sql("CREATE TABLE goose_migrations (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL)")
    lab.sql("INSERT INTO goose_migrations (version_id, is_applied) VALUES (0, true), (229, true), (116, true)")
    result = ok(lab.observe())
    assert (result["schema_version"], len(result["queries"])) == (229, 1)


def test_schema_version_from_goose_migrations_in_the_same_statement(lab: Lab, role: str) -> None:
    lab.create_lease_table()
    lab.create_node_versions(("2.29.0", "2025-06-01 00:00:00"))
    result = ok(lab.observe())
    assert result["schema_version"] is None and len(result["queries"]) == 1  # no goose_migrations: null, no failure
    lab.sql("CREATE TABLE goose_migrations (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL)")
    lab.sql("INSERT INTO goose_migrations (version_id, is_applied) VALUES (0, true), (250, true), (195, true)")
    result = ok(lab.observe())
    assert result["schema_version"] == 250 and len(result["queries"]) == 1
    # a login that may read the lock tables but not goose_migrations gets null, not an error
    lab.sql(f"GRANT SELECT ON lease_lock, node_versions TO {role}")
    limited = ok(lab.observe(login_user=role, login_password="observer-pw"))
    assert limited["schema_version"] is None and limited["db_version"] == "2.29.0"


def test_check_mode_gives_the_same_report(lab: Lab) -> None:
    app = str(uuid.uuid4())
    lab.create_lease_table()
    lab.session(app_name(app))
    lab.set_lease(app, 10)
    checked = ok(lab.observe(_ansible_check_mode=True))
    real = ok(lab.observe())
    for key in ("state", "holder", "instances", "consistent", "advisory", "db_version"):
        assert checked[key] == real[key], key


def test_table_in_another_schema(lab: Lab) -> None:
    app = str(uuid.uuid4())
    lab.sql("CREATE SCHEMA cl")
    lab.create_lease_table("cl.lease_lock")
    lab.set_lease(app, 10, "cl.lease_lock")
    assert ok(lab.observe())["state"] == "absent"  # not on the search_path
    result = ok(lab.observe(lease_table="CL.Lease_Lock"))  # unquoted identifiers fold to lower case, as in SQL
    assert result["state"] == "held"
    assert result["lease"]["client_id"] == app


def test_not_a_lease_table(lab: Lab) -> None:
    lab.sql("CREATE TABLE jobs (id int)")
    result = lab.observe(lease_table="jobs")
    assert result["failed"] is True
    assert "lacks a column the node uses" in result["msg"]
    assert "is lease_table right?" in result["msg"]


# -- the 1.x advisory lock, dual mode -------------------------------------------------------------------------------


def test_dual_mode_consistent(lab: Lab) -> None:
    app = str(uuid.uuid4())
    lab.create_lease_table()
    lab.session(app_name(app, "1.11.0"))
    advisory = lab.session(app_name(app, "1.11.0"))
    with advisory.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", (DEFAULT_ADVISORY_LOCK_ID,))
        assert cur.fetchone() == (True,)
    lab.set_lease(app, 10)
    # How PostgreSQL itself shows the key: the figures the module must look for.
    rows = lab.sql("SELECT classid, objid, objsubid FROM pg_locks WHERE locktype = 'advisory' AND pid = %s", advisory.get_backend_pid())
    assert rows == [(239192036, 2840971190, 1)]
    result = ok(lab.observe())
    assert result["advisory"] == {
        "lock_id": DEFAULT_ADVISORY_LOCK_ID,
        "classid": 239192036,
        "objid": 2840971190,
        "held": True,
        "pid": advisory.get_backend_pid(),
        "app_id": app,
        "application_name": app_name(app, "1.11.0"),
    }
    assert result["consistent"] is True
    assert result["holder"]["pid"] == advisory.get_backend_pid()
    assert result["instances"][0]["holds_advisory"] is True
    assert ok(lab.observe(wait_for="held", timeout=1))["waited"] < 1


def test_dual_mode_inconsistent(lab: Lab) -> None:
    new, old = str(uuid.uuid4()), str(uuid.uuid4())
    lab.create_lease_table()
    lab.session(app_name(new, "1.11.0"))
    old_session = lab.session(app_name(old, "1.11.0"))
    with old_session.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", (DEFAULT_ADVISORY_LOCK_ID,))
    lab.set_lease(new, 10)  # the standby took the lease; the old primary's session still has the advisory lock
    result = ok(lab.observe())
    assert result["consistent"] is False
    assert result["advisory"]["app_id"] == old
    assert [(i["app_id"], i["holds_lease"], i["holds_advisory"]) for i in result["instances"]] == [(new, True, False), (old, False, True)]
    # Not "held" while the two locks disagree: the wait fails and names the advisory holder to deal with.
    failed = lab.observe(wait_for="holder", app_id=new, timeout=0.3, poll_interval=0.1)
    assert failed["failed"] is True
    assert f"stop the advisory holder (pid {old_session.get_backend_pid()})" in failed["msg"]
    assert failed["consistent"] is False


def test_advisory_lock_held_by_a_foreign_session_is_not_consistent(lab: Lab) -> None:
    app = str(uuid.uuid4())
    lab.create_lease_table()
    lab.session(app_name(app))
    stranger = lab.session("backup-job")
    with stranger.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", (DEFAULT_ADVISORY_LOCK_ID,))
    lab.set_lease(app, 10)
    result = ok(lab.observe())
    assert result["advisory"]["held"] is True
    assert result["advisory"]["app_id"] is None
    assert result["advisory"]["application_name"] == "backup-job"
    assert result["consistent"] is False


def test_custom_negative_advisory_key(lab: Lab) -> None:
    holder = lab.session(app_name(str(uuid.uuid4()), "1.11.0"))
    with holder.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(-5)")
    assert ok(lab.observe())["advisory"]["held"] is False  # not the default key
    result = ok(lab.observe(advisory_lock_id=-5))
    assert result["advisory"]["held"] is True
    assert result["advisory"]["pid"] == holder.get_backend_pid()
    assert (result["advisory"]["classid"], result["advisory"]["objid"]) == (0xFFFFFFFF, 0xFFFFFFFB)


def test_advisory_lock_in_another_database_is_ignored(lab: Lab, pg_server: PostgresServer) -> None:
    other = pg_server.connect("postgres")
    try:
        with other.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (DEFAULT_ADVISORY_LOCK_ID,))
        assert ok(lab.observe())["advisory"]["held"] is False
    finally:
        other.close()


# -- grants ---------------------------------------------------------------------------------------------------------


def test_login_without_pg_read_all_stats_warns_and_still_identifies(lab: Lab, role: str) -> None:
    app = str(uuid.uuid4())
    lab.create_lease_table()
    lab.create_node_versions(("2.29.0", "2025-06-01 00:00:00"))
    lab.sql(f"GRANT SELECT ON lease_lock, node_versions TO {role}")
    lab.session(app_name(app))
    lab.set_lease(app, 10)
    result = ok(lab.observe(login_user=role, login_password="observer-pw"))
    assert result["holder"]["app_id"] == app  # application_name is visible to every role
    assert result["holder"]["client_addr"] is None  # ... but not the address
    assert result["holder"]["backend_start"] is None
    assert result["db_version"] == "2.29.0"
    warnings = warning_messages(result)
    assert any(f'GRANT pg_read_all_stats TO "{role}";' in w for w in warnings), warnings
    lab.sql(f"GRANT pg_read_all_stats TO {role}")
    granted = ok(lab.observe(login_user=role, login_password="observer-pw"))
    assert granted["holder"]["client_addr"] == "127.0.0.1"
    assert not any("pg_read_all_stats" in w for w in warning_messages(granted))


def test_login_without_select_on_the_lease_table_fails_naming_the_grant(lab: Lab, role: str) -> None:
    lab.create_lease_table()
    result = lab.observe(login_user=role, login_password="observer-pw")
    assert result["failed"] is True
    assert f'GRANT SELECT ON lease_lock TO "{role}";' in result["msg"]


def test_login_without_select_on_node_versions_warns(lab: Lab, role: str) -> None:
    lab.create_lease_table()
    lab.create_node_versions(("2.29.0", "2025-06-01 00:00:00"))
    lab.sql(f"GRANT SELECT ON lease_lock TO {role}")
    result = ok(lab.observe(login_user=role, login_password="observer-pw"))
    assert result["db_version"] is None
    assert any(f'GRANT SELECT ON node_versions TO "{role}";' in w for w in warning_messages(result))


def test_session_is_read_only(lab: Lab) -> None:
    from ansible.module_utils.testing import patch_module_args

    from ansible_collections.nodeops.chainlink.plugins.module_utils._postgres import PostgresClient, PostgresError

    with patch_module_args(lab.args()):
        client = PostgresClient(argument_spec={})
    client.connect(read_only=True)
    try:
        with pytest.raises(PostgresError) as error:
            client.query("CREATE TABLE written (id int)")
        assert error.value.pgcode == "25006"  # read_only_sql_transaction
        assert "read-only transaction" in str(error.value)
    finally:
        client.close()
    assert lab.sql("SELECT to_regclass('written')") == [(None,)]


# -- bad input and unreachable databases ----------------------------------------------------------------------------


def test_wrong_password(lab: Lab) -> None:
    result = lab.observe(login_password="Wr0ngPassw0rd")
    assert result["failed"] is True
    assert f"Cannot connect to PostgreSQL at host 127.0.0.1 port {lab.server.port} database '{lab.db}' user 'postgres'" in result["msg"]
    assert "password authentication failed" in result["msg"]
    assert "Wr0ngPassw0rd" not in json.dumps(result)


def test_wrong_password_in_url_is_masked(lab: Lab) -> None:
    url = f"postgresql://postgres:Wr0ngPassw0rd@127.0.0.1:{lab.server.port}/{lab.db}?sslmode=disable"
    result = run_module(lock_info.main, {"database_url": url})
    assert result["failed"] is True
    assert f"host 127.0.0.1 port {lab.server.port} database '{lab.db}'" in result["msg"]
    assert "Wr0ngPassw0rd" not in json.dumps(result)


def test_url_with_overrides(lab: Lab) -> None:
    # The node's URL names a host the controller cannot resolve; login_host overrides just that part.
    url = f"postgresql://{lab.server.user}:{lab.server.password}@chainlink-db.invalid:{lab.server.port}/{lab.db}?sslmode=disable"
    result = ok(run_module(lock_info.main, {"login_url": url, "login_host": "127.0.0.1"}))
    assert result["state"] == "absent"
    assert lab.server.password not in json.dumps(result)


def test_query_limit_follows_connect_timeout(lab: Lab) -> None:
    lab.create_lease_table()
    ok(lab.observe(connect_timeout=0))  # no limit at all, rather than a limit of 0 ms
    # A migration holding the table exclusively: the module gives up after connect_timeout instead of hanging.
    blocker = lab.session("migration")
    blocker.autocommit = False
    with blocker.cursor() as cur:
        cur.execute("LOCK TABLE lease_lock IN ACCESS EXCLUSIVE MODE")
    try:
        started = time.monotonic()
        result = lab.observe(connect_timeout=1)
        assert result["failed"] is True
        assert "canceling statement due to statement timeout" in result["msg"]
        assert "something may hold an exclusive lock on lease_lock" in result["msg"]
        assert 1 <= time.monotonic() - started < 5
    finally:
        blocker.rollback()


def test_unreachable_port(lab: Lab) -> None:
    port = free_port()
    started = time.monotonic()
    result = lab.observe(login_port=port, connect_timeout=3)
    assert result["failed"] is True
    assert f"Cannot connect to PostgreSQL at host 127.0.0.1 port {port} database '{lab.db}'" in result["msg"]
    assert "Connection refused" in result["msg"]
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    "table",
    [
        "lease_lock; DROP TABLE lease_lock; --",
        'lease_lock" ; DROP TABLE lease_lock; --',
        "lease_lock') IS NULL OR pg_sleep(5) IS NULL --",
        "public.lease_lock.x",
        "lease lock",
    ],
)
def test_injection_probe_in_table_name(lab: Lab, table: str) -> None:
    app = str(uuid.uuid4())
    lab.create_lease_table()
    lab.set_lease(app, 10)
    result = lab.observe(lease_table=table)
    assert result["failed"] is True
    assert result["msg"].startswith(f"lease_table '{table}'")
    assert "queries" not in result  # refused before any SQL ran
    assert lab.sql("SELECT client_id::text FROM lease_lock") == [(app,)]


# -- waiting --------------------------------------------------------------------------------------------------------


def test_wait_for_held_sees_the_first_lease(lab: Lab) -> None:
    app = str(uuid.uuid4())
    lab.session(app_name(app))

    def take() -> None:
        conn = lab.server.connect(lab.db)
        with conn.cursor() as cur:
            cur.execute(LEASE_DDL.format(table="lease_lock"))  # the table appears while the module waits
            cur.execute(LEASE_UPSERT.format(table="lease_lock"), (app, 10))
        conn.close()

    worker = later(0.4, take)
    result, called, returned = timed(lambda: ok(lab.observe(wait_for="held", timeout=10)))
    assert result["holder"]["app_id"] == app
    # it waited for the table and the row (returned after they came), and says how long, within its own call
    assert worker.began <= returned and result["waited"] <= returned - called
    assert result["waited"] < 5  # polled every 0.1 s: seen well within the 10 s timeout, with seconds left for load
    assert result["wait_for"] == "held"


def test_wait_for_free_sees_the_expiry(lab: Lab) -> None:
    app = str(uuid.uuid4())
    lab.create_lease_table()
    lab.set_lease(app, 0.5)
    set_at = time.monotonic()
    result, _called, returned = timed(lambda: ok(lab.observe(wait_for="free", timeout=10)))
    assert result["state"] == "expired"
    assert returned - set_at >= 0.5  # not before the expiry (the database's clock and this one advance alike)
    assert result["waited"] < 5
    assert result["lease"]["remaining_seconds"] < 0


def test_wait_for_holder_changed_across_a_lost_connection(lab: Lab) -> None:
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    lab.create_lease_table()
    lab.session(app_name(old))
    lab.session(app_name(new))
    lab.set_lease(old, 10)

    def kill_observer_then_hand_over() -> None:
        conn = lab.server.connect(lab.db)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s AND datname = %s", (MODULE_APP_NAME, lab.db))
            assert cur.rowcount == 1
            time.sleep(0.3)  # the module reconnects meanwhile: the change comes on its new connection
            cur.execute("UPDATE lease_lock SET expires_at = now() WHERE client_id = %s", (old,))  # graceful release
            cur.execute(LEASE_UPSERT.format(table="lease_lock"), (new, 10))
        conn.close()

    # once the module's session is there (it waits on it), not after a guessed time
    def once_the_module_waits() -> None:
        wait_for_session(lab, MODULE_APP_NAME)
        kill_observer_then_hand_over()

    worker = later(0, once_the_module_waits)
    result, called, returned = timed(lambda: ok(lab.observe(wait_for="holder_changed", app_id=old, timeout=10)))
    worker.join()
    assert result["holder"]["app_id"] == new
    assert worker.began <= returned and 0.3 <= result["waited"] <= returned - called  # across the 0.3 s without a connection
    assert result["waited"] < 5


def test_wait_for_holder_by_version(lab: Lab) -> None:
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    lab.create_lease_table()
    lab.session(app_name(old, "2.28.0"))
    lab.session(app_name(new, "2.29.0"))
    lab.set_lease(old, 10)
    worker = later(0.3, lambda: lab.set_lease(new, 10))
    result, _called, returned = timed(lambda: ok(lab.observe(wait_for="holder", version="v2.29.0", timeout=10)))
    assert result["holder"]["app_id"] == new
    assert worker.began <= returned


def test_wait_timeout_reports_the_last_state(lab: Lab) -> None:
    app = str(uuid.uuid4())
    lab.create_lease_table()
    lab.session(app_name(app))
    lab.set_lease(app, 30)
    result = lab.observe(wait_for="holder_changed", app_id=app, timeout=0.5, poll_interval=0.1)
    assert result["failed"] is True
    assert result["msg"].startswith(f"Timed out after 0.5s waiting for another instance than {app} to hold the lock.")
    assert "no standby is connected to take over: start the standby first." in result["msg"]
    assert result["holder"]["app_id"] == app
    assert result["lease"]["client_id"] == app
    assert [i["app_id"] for i in result["instances"]] == [app]
    assert 0.5 <= result["waited"] < 3


# -- through Ansible itself -----------------------------------------------------------------------------------------


def ansible(*module_args: str, extra_env: dict[str, str] | None = None) -> dict[str, t.Any]:
    """Run the module through the ansible CLI (AnsiballZ, the real module runner) and return its JSON result."""
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        **(extra_env or {}),
    }
    proc = subprocess.run(
        [str(BIN / "ansible"), "localhost", "-e", f"ansible_python_interpreter={sys.executable}", "-m", "nodeops.chainlink.lock_info", *module_args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = json.loads(proc.stdout)
    result: dict[str, t.Any] = output["plays"][0]["tasks"][0]["hosts"]["localhost"]
    result["_stdout"] = proc.stdout + proc.stderr
    return result


def test_ansible_cli_end_to_end(lab: Lab) -> None:
    app = str(uuid.uuid4())
    lab.create_lease_table()
    lab.session(app_name(app))
    lab.set_lease(app, 10)
    url = f"postgresql://{lab.server.user}:{lab.server.password}@127.0.0.1:{lab.server.port}/{lab.db}"
    result = ansible("-a", json.dumps({"login_url": url, "wait_for": "holder", "app_id": app, "timeout": 5}))
    assert result.get("failed") is not True, result["_stdout"]
    assert result["holder"]["app_id"] == app
    assert result["state"] == "held"
    assert lab.server.password not in result["_stdout"]


def test_ansible_cli_wrong_password_masked(lab: Lab) -> None:
    url = f"postgresql://postgres:Wr0ngPassw0rd@127.0.0.1:{lab.server.port}/{lab.db}"
    result = ansible("-a", json.dumps({"database_url": url}))
    assert result["failed"] is True
    assert "password authentication failed" in result["msg"]
    assert "Wr0ngPassw0rd" not in result["_stdout"]


# -- with real chainlink-sim nodes ----------------------------------------------------------------------------------


def start_pair(lab: Lab, sim_factory: SimFactory, primary_version: str, standby_version: str, **options: t.Any) -> tuple[SimNode, SimNode]:
    """A booted primary and a standby waiting for the lock, on the lab's database."""
    url = lab.server.url(lab.db)
    primary = sim_factory.start(primary_version, url, **options)
    primary.wait_booted()
    standby = sim_factory.start(standby_version, url, **options)
    standby.wait_waiting()
    return primary, standby


def test_sim_holder_standby_and_node_versions(lab: Lab, sim_factory: SimFactory) -> None:
    primary, standby = start_pair(lab, sim_factory, "2.29.0", "2.28.0")
    standby_id = standby.wait_app_id()
    result = ok(lab.observe(wait_for="connected", app_id=standby_id, timeout=5))
    assert result["state"] == "held"
    assert result["holder"]["app_id"] == primary.app_id
    assert result["holder"]["version"] == "2.29.0"
    assert result["holder"]["client_addr"] == "127.0.0.1"
    assert result["db_version"] == "2.29.0"  # written by the primary after it took the lock
    assert [(i["app_id"], i["version"], i["holds_lease"]) for i in result["instances"]] == [(primary.app_id, "2.29.0", True), (standby_id, "2.28.0", False)]
    # The sims run with a 2 s lease refreshed every 0.5 s: the lease is read after the refresh it sees committed (at
    # most 2 s left, whatever the load), and the holder is connected and held the lock when read (some time left).
    assert 0 < result["lease"]["remaining_seconds"] <= 2
    # The 2.28.0 standby would refuse to boot on this 2.29.0 database once it took the lock: the module says so up front.
    assert any(f"instance {standby_id} runs version 2.28.0" in w for w in warning_messages(result))


def test_sim_graceful_handover_seen_by_wait_for_holder_changed(lab: Lab, sim_factory: SimFactory) -> None:
    old, new = start_pair(lab, sim_factory, "2.29.0", "2.29.0")
    old_id, new_id = old.app_id, new.wait_app_id()
    before = ok(lab.observe(wait_for="holder", app_id=old_id, timeout=5))
    assert before["holder"]["app_id"] == old_id
    worker = later(0.3, old.terminate)
    result, called, returned = timed(lambda: ok(lab.observe(wait_for="holder_changed", app_id=old_id, timeout=15)))
    assert result["holder"]["app_id"] == new_id
    assert result["lease"]["client_id"] == new_id
    assert old.wait_exit(10) == 0
    assert old.exited_at is not None
    # The standby polls every 0.5 s (+-10 %) and the module every 0.1 s: the change is seen soon after the old node
    # is gone (spec 4.7: within about one refresh interval of the end of its shutdown); the 15 s timeout leaves room.
    assert worker.began <= returned and result["waited"] <= returned - called
    assert result["waited"] < 10
    assert [i["app_id"] for i in result["instances"]] == [new_id]


def test_sim_dual_mode(lab: Lab, sim_factory: SimFactory) -> None:
    primary, standby = start_pair(lab, sim_factory, "1.11.0", "1.11.0", locking_mode="dual")
    result = ok(lab.observe())
    assert result["state"] == "held"
    assert result["advisory"]["held"] is True
    assert result["advisory"]["app_id"] == primary.app_id
    assert result["consistent"] is True
    assert result["holder"]["pid"] == result["advisory"]["pid"]
    assert [(i["app_id"], i["holds_lease"], i["holds_advisory"]) for i in result["instances"]] == [
        (primary.app_id, True, True),
        (standby.wait_app_id(), False, False),
    ]
    assert result["db_version"] == "1.11.0"
    primary.terminate()
    assert primary.wait_exit(10) == 0
    standby.wait_booted(10)  # booted means both locks taken
    after = ok(lab.observe(wait_for="holder", app_id=standby.app_id, timeout=5))
    assert after["advisory"]["app_id"] == standby.app_id
    assert after["consistent"] is True


def test_sim_dual_mode_split_while_the_primary_is_frozen(lab: Lab, sim_factory: SimFactory) -> None:
    primary, standby = start_pair(lab, sim_factory, "1.11.0", "1.11.0", locking_mode="dual")
    standby_id = standby.wait_app_id()
    # A frozen primary stops refreshing its lease but its session keeps the advisory lock: the standby takes the
    # lease when it expires, then waits for the advisory lock (the split that `consistent` exists to show).
    primary.proc.send_signal(signal.SIGSTOP)
    try:
        standby.wait_for_line("holds the advisory lock, waiting", 10)
        split = ok(lab.observe())
        assert split["lease"]["client_id"] == standby_id
        assert split["advisory"]["app_id"] == primary.app_id
        assert split["consistent"] is False
        failed = lab.observe(wait_for="holder", app_id=standby_id, timeout=0.3)
        assert failed["failed"] is True
        assert f"stop the advisory holder (pid {split['advisory']['pid']})" in failed["msg"]
    finally:
        primary.proc.send_signal(signal.SIGCONT)
    # Thawed, the primary finds another owner of the lease and exits; the standby gets the advisory lock too.
    assert primary.wait_exit(10) == 1
    standby.wait_booted(10)  # it retries the advisory lock every second; booted means it has both
    result = ok(lab.observe(wait_for="holder", app_id=standby_id, timeout=10))
    assert result["consistent"] is True
    assert result["advisory"]["app_id"] == standby_id
