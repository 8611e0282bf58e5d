# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""lock_info as a whole, without a database: argument checks, missing psycopg2, masking, and the wait loop.

The database boundary (PostgresClient.connect/query) is replaced where a test needs answers; the integration tests run
the same module against a real PostgreSQL.
"""

from __future__ import annotations

import time
import typing as t

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils import _lock, _postgres
from ansible_collections.nodeops.chainlink.plugins.module_utils._postgres import PostgresClient, PostgresError
from ansible_collections.nodeops.chainlink.plugins.modules import lock_info
from tests.support.ansible_module import run_module, warning_messages

APP = "6b0e4c0e-2f9a-4d3b-9a51-3c1f0c5e9b7d"
NEW = "0c7d2d3e-5b5f-4f0a-8f5e-4b8e3a1b2c3d"
URL = "postgresql://chainlink:Sup3rS3cret@127.0.0.1:5432/chainlink"


class FakeDatabase:
    """Answers the observer statement with one prepared document per call (the last one repeats)."""

    def __init__(self, documents: list[dict[str, t.Any] | PostgresError]) -> None:
        self.documents = documents
        self.calls = 0
        self.connects = 0
        self.sent: list[tuple[t.Any, t.Any]] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeDatabase:
        fake = self

        def connect(client: PostgresClient, **_kwargs: t.Any) -> None:
            fake.connects += 1
            client._conn = object()

        def query(client: PostgresClient, statement: t.Any, args: t.Any = None) -> list[dict[str, t.Any]]:
            answer = fake.documents[min(fake.calls, len(fake.documents) - 1)]
            fake.calls += 1
            fake.sent.append((statement, args))
            client.queries.append(f"statement {fake.calls}")
            if isinstance(answer, PostgresError):
                client._conn = None
                raise answer
            return [{"report": answer}]

        monkeypatch.setattr(PostgresClient, "connect", connect)
        monkeypatch.setattr(PostgresClient, "query", query)
        monkeypatch.setattr(PostgresClient, "connected", property(lambda client: client._conn is not None))
        monkeypatch.setattr(PostgresClient, "close", lambda client: setattr(client, "_conn", None))
        return self


def document(client_id: str | None = APP, remaining: float = 5.0, sessions: tuple[str, ...] = (APP, NEW)) -> dict[str, t.Any]:
    return {
        "db_now": "2025-11-27T05:31:00+00:00",
        "lease_table_exists": True,
        "lease_table_readable": True,
        "versions_table_exists": True,
        "versions_table_readable": True,
        "read_all_stats": True,
        "login_role": "postgres",
        "lease": None
        if client_id is None
        else {"client_id": client_id, "expires_at": "2025-11-27T05:31:05+00:00", "remaining_seconds": remaining, "valid": remaining >= 0},
        "advisory": None,
        "sessions": [
            {"pid": 10 + n, "application_name": f"Chainlink 2.29.0 |App|{app}", "client_addr": "127.0.0.1", "backend_start": f"2025-11-27T05:0{n}:00+00:00"}
            for n, app in enumerate(sessions)
        ],
        "db_version": "2.29.0",
    }


def args(**given: t.Any) -> dict[str, t.Any]:
    return {"login_url": URL, **given}


# -- bad input: clear errors, no connection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"lease_table": "lease_lock; DROP TABLE lease_lock"}, "lease_table 'lease_lock; DROP TABLE lease_lock' is not a valid name"),
        ({"lease_table": "a.b.c"}, "has 2 dots"),
        ({"poll_interval": 2.0, "timeout": 1.0}, "poll_interval must be more than 0 and at most timeout (1s), got 2"),
        ({"poll_interval": 0.0}, "poll_interval must be more than 0"),
        ({"timeout": 0.0}, "timeout must be more than 0 seconds"),
        ({"wait_for": "holder"}, "wait_for is holder but any of the following are missing: app_id, version"),
        ({"wait_for": "connected"}, "wait_for is connected but any of the following are missing: app_id, version"),
        ({"wait_for": "holder_changed"}, "wait_for is holder_changed but all of the following are missing: app_id"),
        ({"wait_for": "holder_changed", "app_id": "node-1"}, "app_id 'node-1' is not a UUID"),
        ({"wait_for": "gone"}, "value of wait_for must be one of: held, free, holder, holder_changed, connected, got: gone"),
        ({"advisory_lock_id": 2**63}, "bigint range"),
        ({"ssl_mode": "maybe"}, "value of ssl_mode must be one of"),
        ({"version": "  ", "wait_for": "connected"}, "version must not be empty"),
    ],
)
def test_bad_input_fails_before_connecting(monkeypatch: pytest.MonkeyPatch, given: dict[str, t.Any], message: str) -> None:
    fake = FakeDatabase([document()]).install(monkeypatch)
    result = run_module(lock_info.main, args(**given))
    assert result["failed"] is True
    assert message in result["msg"]
    assert fake.connects == 0


def test_missing_psycopg2_is_reported_with_missing_required_lib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_postgres, "PSYCOPG2_IMPORT_ERROR", "Traceback: No module named 'psycopg2'")
    result = run_module(lock_info.main, args())
    assert result["failed"] is True
    assert "Failed to import the required Python library (psycopg2)" in result["msg"]


def test_malformed_url_is_named_and_masked() -> None:
    result = run_module(lock_info.main, {"login_url": "chainlink:Sup3rS3cret@db/chainlink"})
    assert result["failed"] is True
    assert "login_url is not a valid connection URI" in result["msg"]
    assert "Sup3rS3cret" not in str(result)


# -- one inspection -------------------------------------------------------------------------------------------------


def test_inspection_result(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeDatabase([document()]).install(monkeypatch)
    result = run_module(lock_info.main, args(_ansible_check_mode=True))
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert result["state"] == "held"
    assert result["holder"]["app_id"] == APP
    assert [i["app_id"] for i in result["instances"]] == [APP, NEW]
    assert result["waited"] == 0.0
    assert result["wait_for"] is None
    assert result["queries"] == ["statement 1"]
    assert result["db_version"] == "2.29.0"


def test_inspection_sends_the_shared_lock_statement(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDatabase([document()]).install(monkeypatch)
    result = run_module(lock_info.main, args(lease_table="CL.Lease_Lock", advisory_lock_id=-1))
    assert result.get("failed") is not True, result
    ((statement, arguments),) = fake.sent
    assert (statement, arguments) == _lock.lock_statement(("cl", "lease_lock"), -1, lease=True, versions=True, access=True)
    assert 'FROM "cl"."lease_lock" ORDER BY expires_at DESC LIMIT 1' in statement
    assert arguments["lease_table"] == "cl.lease_lock"


def test_url_password_never_reaches_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    leak = PostgresError("connection to server failed for postgresql://chainlink:Sup3rS3cret@127.0.0.1:5432/chainlink (Sup3rS3cret)", connection_lost=True)
    FakeDatabase([leak]).install(monkeypatch)
    result = run_module(lock_info.main, args())
    assert result["failed"] is True
    assert "Sup3rS3cret" not in str(result)
    assert "********" in result["msg"]


def test_warns_about_hidden_sessions_and_old_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = document()
    doc["read_all_stats"] = False
    doc["login_role"] = "observer"
    doc["sessions"][1].update(client_addr=None, backend_start=None, application_name=f"Chainlink 2.28.0 |App|{NEW}")
    FakeDatabase([doc]).install(monkeypatch)
    result = run_module(lock_info.main, args())
    warnings = " ".join(warning_messages(result))
    assert 'GRANT pg_read_all_stats TO "observer";' in warnings
    assert f"instance {NEW} runs version 2.28.0, older than the database's 2.29.0" in warnings


def test_a_precondition_that_no_longer_holds_refuses_only_this_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read right before a stop, mid-run: the message must not claim the whole run changed nothing (earlier steps did)."""
    FakeDatabase([document(NEW)]).install(monkeypatch)
    result = run_module(lock_info.main, args(expect={"waiting": NEW, "version": "2.29.0"}))
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"].startswith(f"Refusing the change: the standby {NEW} holds the lock already (it is not waiting). State read: ")
    assert result["msg"].endswith("This change was not made") and "nothing was changed" not in result["msg"].lower()


# -- waiting --------------------------------------------------------------------------------------------------------


def test_wait_polls_until_the_holder_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDatabase([document(APP), document(APP), document(None), document(NEW)]).install(monkeypatch)
    began = time.time()
    result = run_module(lock_info.main, args(wait_for="holder_changed", app_id=APP, poll_interval=0.01, timeout=5))
    assert result.get("failed") is not True, result
    # read_at is the read that met the condition: after the three polls, not when the module started
    assert began + 0.03 <= result["read_at"] <= time.time() + 0.0005  # read_at is rounded to the millisecond
    assert result["holder"]["app_id"] == NEW
    assert result["wait_for"] == "holder_changed"
    assert fake.calls == 4
    # Four inspections, three intervals of 10 ms in between.
    assert 0.03 <= result["waited"] < 2


def test_wait_that_is_already_met_returns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDatabase([document(APP)]).install(monkeypatch)
    result = run_module(lock_info.main, args(wait_for="holder", app_id=APP.upper(), poll_interval=1, timeout=5))
    assert result.get("failed") is not True, result
    assert fake.calls == 1
    assert result["waited"] < 0.5


def test_wait_survives_a_lost_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    lost = PostgresError("server closed the connection unexpectedly", connection_lost=True)
    fake = FakeDatabase([document(APP), lost, lost, document(NEW)]).install(monkeypatch)
    result = run_module(lock_info.main, args(wait_for="holder_changed", app_id=APP, poll_interval=0.01, timeout=5))
    assert result.get("failed") is not True, result
    assert result["holder"]["app_id"] == NEW
    assert fake.connects == 3  # the first, then one at each poll after a loss (two losses)


def test_wait_stops_on_a_query_error(monkeypatch: pytest.MonkeyPatch) -> None:
    denied = PostgresError("permission denied for table lease_lock", pgcode="42501")
    FakeDatabase([document(APP), denied]).install(monkeypatch)
    result = run_module(lock_info.main, args(wait_for="holder_changed", app_id=APP, poll_interval=0.01, timeout=5))
    assert result["failed"] is True
    assert "Failed to read the lock state of lease_lock at host 127.0.0.1 port 5432 database 'chainlink'" in result["msg"]
    assert "permission denied" in result["msg"]


def test_wait_timeout_reports_last_state_and_advice(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDatabase([document(APP)]).install(monkeypatch)
    result = run_module(lock_info.main, args(wait_for="holder_changed", app_id=APP, poll_interval=0.05, timeout=0.3))
    assert result["failed"] is True
    assert result["msg"].startswith(f"Timed out after 0.3s waiting for another instance than {APP} to hold the lock.")
    assert f"Last state: the lease is held by {APP} (version 2.29.0, pid 10)" in result["msg"]
    assert "stop it gracefully (SIGTERM)" in result["msg"]
    assert result["holder"]["app_id"] == APP
    assert result["lease"]["client_id"] == APP
    assert [i["app_id"] for i in result["instances"]] == [APP, NEW]
    assert 0.3 <= result["waited"] < 1.5
    assert 5 <= fake.calls <= 8  # one at 0, then every 50 ms up to and including the deadline


def test_wait_timeout_while_unreachable_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    lost = PostgresError("connection refused", connection_lost=True)
    FakeDatabase([document(APP), lost]).install(monkeypatch)
    result = run_module(lock_info.main, args(wait_for="free", poll_interval=0.05, timeout=0.2))
    assert result["failed"] is True
    assert "The database was unreachable at the last attempt: connection refused" in result["msg"]
