# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pieces of the chainlink-sim black-box tests: lease settings, versions, and a database query helper."""

from __future__ import annotations

import time
import typing as t

import psycopg2.extensions

from tests.support.postgres import PostgresServer

# Short lease settings keep the suite fast; the protocol bounds scale with them.
DURATION = 2.0
REFRESH = 0.5
V1 = "1.11.0"
V2 = "2.29.0"


class Db:
    """One test database: its URL for nodes and autocommit queries for the test."""

    def __init__(self, server: PostgresServer, name: str) -> None:
        self.server = server
        self.name = name
        self.url = server.url(name)
        self._conn: psycopg2.extensions.connection | None = None

    def connect(self) -> psycopg2.extensions.connection:
        return self.server.connect(self.name)

    def _c(self) -> psycopg2.extensions.connection:
        if self._conn is None or self._conn.closed:
            self._conn = self.connect()
        return self._conn

    def rows(self, sql: str, params: t.Any = None) -> list[tuple[t.Any, ...]]:
        with self._c().cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def one(self, sql: str, params: t.Any = None) -> t.Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def execute(self, sql: str, params: t.Any = None) -> None:
        with self._c().cursor() as cur:
            cur.execute(sql, params)

    def lease(self) -> tuple[str | None, bool]:
        """(client_id, still valid) of the lease row, (None, False) when there is none."""
        rows = self.rows("SELECT client_id::text, expires_at > now() FROM lease_lock") if self.has_table("lease_lock") else []
        return (rows[0][0], bool(rows[0][1])) if rows else (None, False)

    def has_table(self, name: str) -> bool:
        return bool(self.one("SELECT to_regclass(%s) IS NOT NULL", (name,)))

    def wait_lease_holder(self, app_id: str, timeout: float = 10.0, interval: float = 0.01) -> float:
        """Poll until ``app_id`` holds a valid lease; returns the monotonic time it was first seen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.lease() == (app_id, True):
                return time.monotonic()
            time.sleep(interval)
        raise AssertionError(f"{app_id} did not take the lease within {timeout}s; lease is {self.lease()}")

    def sessions(self, app_id: str) -> list[tuple[int, str]]:
        """(pid, application_name) of the node's backends, found by its app ID like the spec's observer query."""
        return [
            (int(r[0]), str(r[1]))
            for r in self.rows("SELECT pid, application_name FROM pg_stat_activity WHERE application_name LIKE 'Chainlink %%|App|' || %s", (app_id,))
        ]

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
