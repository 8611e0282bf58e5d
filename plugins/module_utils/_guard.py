# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""The pair's guard: one session-level advisory lock in the pair's own database, held by a daemon for a whole run.

The key is fixed, and advisory locks live per database, so the guard is keyed by the database the pair's nodes share:
two inventories that name one pair differently still collide, and two pairs never do. The key has two integers
(pg_locks: classid, objid, objsubid 2), a space the node's single-bigint advisory key cannot collide with. The daemon
(module_utils/_daemon.py) ends when the process that bounds its life is gone (the controller's ansible-playbook, or on a
host reached over SSH the connection's sshd, followed across reconnects), and its session with it, which releases the
guard. Who holds the guard is never judged from processes: the session carries the run's own token
(module_utils/_run_token.py) in its application_name, and "held by this run" is read from the database.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._daemon import alive, process_start_time
from ansible_collections.nodeops.chainlink.plugins.module_utils._postgres import PostgresClient, PostgresError
from ansible_collections.nodeops.chainlink.plugins.module_utils._run_token import token_of

# 'node' and 'gard' in ASCII
GUARD_KEY = (0x6E6F6465, 0x67617264)
HOLDER_STATEMENT = (
    "SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr, date_trunc('second', a.backend_start)::text AS since"
    " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid AND l.objsubid = 2 AND l.granted"
)
KEEPALIVE_EVERY = 1.0
# How long a daemon bounded by an SSH connection waits for the run to reach it over a new connection (a reconnect)
# before it ends; the run's next pair_guard call names the new connection.
RECONNECT_GRACE = 30.0


class GuardTaken(PostgresError):
    """Another session holds the guard; the message names it and what to do."""


def state_name(target: str) -> str:
    """The state file's name for a database (describe_target's words, never the password)."""
    return "guard-" + hashlib.sha256(target.encode()).hexdigest()[:16]


def holders(client: PostgresClient) -> list[dict[str, t.Any]]:
    return client.query(HOLDER_STATEMENT, GUARD_KEY)


def run_tokens(rows: list[dict[str, t.Any]]) -> list[str]:
    """The run tokens the guard's holders carry (an older collection's session carries none)."""
    return [token for token in (token_of(row.get("application_name")) for row in rows) if token]


def held_by(rows: list[dict[str, t.Any]], token: str) -> bool:
    """Whether the database shows the guard held by the session of the run with that token."""
    return token in run_tokens(rows)


def describe_holders(rows: list[dict[str, t.Any]]) -> str:
    return ", ".join(f"session pid {h['pid']} '{h['application_name']}' from {h['client_addr'] or 'local socket'} since {h['since']}" for h in rows)


def taken_message(name: str, rows: list[dict[str, t.Any]]) -> str:
    return (
        f"another run is changing the pair of '{name}' (its database's guard is held by {describe_holders(rows) or 'a session not visible to this role'}):"
        " wait for it to finish, or if that run is gone, end that session (SELECT pg_terminate_backend(<pid>)) and run this again. Nothing was changed"
    )


def try_take(client: PostgresClient, name: str, timeout: float) -> None:
    """Take the guard on the client's session, waiting up to timeout for a run that is ending; GuardTaken otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        if client.query("SELECT pg_try_advisory_lock(%s, %s) AS ok", GUARD_KEY)[0]["ok"]:
            return
        if time.monotonic() >= deadline:
            raise GuardTaken(taken_message(name, holders(client)))
        time.sleep(0.2)


class GuardWorker:
    """In the daemon: hold the guard on one session, keep the session alive, end when the owning run is gone.

    A lost connection (a database restart) is retaken at once; if another run took the guard in between, the loss
    is recorded in the status file and the daemon ends.
    """

    def __init__(
        self,
        client: PostgresClient,
        name: str,
        timeout: float,
        owner: tuple[int, str | None] | None,
        status_path: t.Any,
        meta_path: t.Any = None,
        grace: float = 0.0,
    ) -> None:
        self.client = client
        self.name = name
        self.timeout = timeout
        self.owner = owner
        self.status_path = status_path
        # the module records a new bounding process there (a reconnect); grace: how long to wait for one
        self.meta_path = meta_path
        self.grace = grace
        self.orphaned_at: float | None = None
        self.stop = threading.Event()
        self.events: list[dict[str, t.Any]] = []

    def prepare(self) -> None:
        self.client.connect(read_only=True, statement_timeout=5.0)
        try_take(self.client, self.name, self.timeout)
        self.record("taken")

    def record(self, event: str, **details: t.Any) -> None:
        self.events.append({"event": event, "t": time.time(), **details})
        tmp = self.status_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"events": self.events}))
        tmp.replace(self.status_path)

    def owner_gone(self) -> bool:
        """Whether the process bounding the daemon is gone for good: the module may have named a new one (a reconnect),
        which is adopted; a connection's end is given the grace period to be replaced."""
        if self.owner is None or alive(*self.owner):
            self.orphaned_at = None
            return False
        newer = self.recorded_owner()
        if newer is not None and newer != self.owner and alive(*newer):
            self.owner = newer
            self.orphaned_at = None
            self.record("owner", pid=newer[0])
            return False
        if self.orphaned_at is None:
            self.orphaned_at = time.monotonic()
        return time.monotonic() - self.orphaned_at >= self.grace

    def recorded_owner(self) -> tuple[int, str | None] | None:
        if self.meta_path is None:
            return None
        try:
            meta = json.loads(self.meta_path.read_text())
            pid = int(meta.get("owner_pid") or 0)
        except (OSError, ValueError, AttributeError, TypeError):
            return None
        return (pid, meta.get("owner_start_time") or process_start_time(pid)) if pid else None

    def run(self) -> None:
        while not self.stop.wait(KEEPALIVE_EVERY):
            if self.owner_gone():
                break
            try:
                if self.client.connected:
                    self.client.query("SELECT 1 AS ok")
                else:
                    self.client.connect(read_only=True, statement_timeout=5.0)
                    try_take(self.client, self.name, 0)
                    self.record("retaken")
            except GuardTaken as exc:
                self.record("lost", msg=str(exc))
                break
            except PostgresError as exc:
                if not self.events or self.events[-1]["event"] != "disconnected":
                    self.record("disconnected", msg=str(exc))
                self.client.close()
        self.client.close()  # ends the session, which releases the guard

    def crashed(self, text: str) -> None:
        self.record("error", msg=text)
