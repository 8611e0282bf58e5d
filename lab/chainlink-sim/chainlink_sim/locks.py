# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The database locks: the lease (``core/services/pg/lease_lock.go``) and the 1.x advisory lock (``advisory_lock.go``).

Spec sections 3 and 4; the checklist of 4.9 is followed point by point.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import typing as t

import psycopg2
import psycopg2.extensions

from .config import Config
from .log import Logger

APP_NAME_MAX = 63

INITIAL_SQL = (
    "CREATE TABLE IF NOT EXISTS lease_lock (client_id uuid NOT NULL, expires_at timestamptz NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS only_one_lease_lock ON lease_lock ((client_id IS NOT NULL))",
)

# One statement acquires and refreshes; all time comes from the database clock (NOW()).
UPSERT_SQL = """
INSERT INTO lease_lock (client_id, expires_at) VALUES (%(id)s, NOW()+%(dur)s::interval) ON CONFLICT ((client_id IS NOT NULL)) DO UPDATE SET
client_id = EXCLUDED.client_id,
expires_at = EXCLUDED.expires_at
WHERE
lease_lock.client_id = %(id)s
OR
lease_lock.expires_at < NOW()
"""

RELEASE_SQL = "UPDATE lease_lock SET expires_at=NOW() WHERE client_id = %(id)s AND expires_at > NOW()"

CHECK_ADVISORY_SQL = (
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND (classid::bigint << 32) | objid::bigint = %(id)s)"
)

WAITING_LEASE_MSG = "Another application is currently holding the database lease (or a previous instance exited uncleanly), waiting for lease to expire..."
WAITING_ADVISORY_MSG = "Another application holds the advisory lock, waiting..."
CONN_CLOSED_MSG = "DB connection was unexpectedly closed; checking out a new one"


class LockError(Exception):
    """Taking the lock failed for good (the node wraps this into its start-up error and exits 1)."""


class ConnDone(Exception):
    """The dedicated connection is already closed (Go's ``sql.ErrConnDone``)."""

    def __init__(self) -> None:
        super().__init__("sql: connection is already closed")


def should_log_retry(count: int) -> bool:
    """``logRetry``: log on try 0, every power of two below 1000, and every multiple of 1000."""
    return count % 1000 == 0 or (count < 1000 and count & (count - 1) == 0)


def jitter(interval: float, symmetric: bool, rng: random.Random | None = None) -> float:
    """``utils.WithJitter``: 1.x adds 0..+10 %, 2.x (``JitterPct(0.1)``) spreads -10..+10 %."""
    draw = (rng or random).random()
    spread = (2 * draw - 1) if symmetric else draw
    return interval * (1 + 0.1 * spread)


def application_name(version: str, app_id: str, consumer: str = "App") -> str:
    """``static.SetConsumerName``: ``Chainlink <ver> |App|<uuid>``, cut to PostgreSQL's 63 characters."""
    ver = f" {version} " if version else " "
    return f"Chainlink{ver}|{consumer}|{app_id}"[:APP_NAME_MAX]


def interval_text(seconds: float) -> str:
    """The lease duration as Go's ``fmt.Sprintf("%f seconds", d.Seconds())``."""
    return f"{seconds:f} seconds"


def connect(database_url: str, app_name: str, timeout: float) -> psycopg2.extensions.connection:
    """Check a connection out of "the pool": the node's URL with application_name set, as ``openDB`` does."""
    conn = psycopg2.connect(database_url, application_name=app_name, connect_timeout=max(1, int(timeout)))
    conn.autocommit = True
    return conn


def close_quietly(conn: psycopg2.extensions.connection | None) -> None:
    if conn is not None and not conn.closed:
        with contextlib.suppress(psycopg2.Error):
            conn.close()


def _err(exc: BaseException) -> str:
    return str(exc).strip().replace("\n", " ") or type(exc).__name__


class _Dedicated:
    """Shared plumbing of both locks: one dedicated connection, a stop signal, and the hold-loop thread."""

    def __init__(self, cfg: Config, app_name: str, logger: Logger, symmetric_jitter: bool, on_lost: t.Callable[[], None]) -> None:
        self.cfg = cfg
        self.app_name = app_name
        self.log = logger
        self.symmetric_jitter = symmetric_jitter
        self.on_lost = on_lost
        self.conn: psycopg2.extensions.connection | None = None
        self.log_tx_errors = False  # v1.11's transaction helper logs failed attempts at error level; 2.x's has no logger
        self.healthy = True
        self.last_error = ""
        self._stop_hold = threading.Event()
        self._thread: threading.Thread | None = None

    def _open(self) -> psycopg2.extensions.connection:
        try:
            return connect(self.cfg.database_url, self.app_name, self.cfg.default_query_timeout)
        except psycopg2.Error as exc:
            raise LockError(f"failed checking out connection from pool: {_err(exc)}") from exc

    def _live_conn(self) -> psycopg2.extensions.connection:
        if self.conn is None or self.conn.closed:
            raise ConnDone()
        return self.conn

    def _start_hold(self, target: t.Callable[[], None], name: str) -> None:
        self._thread = threading.Thread(target=target, name=name, daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Stop the hold loop and wait until it has released the lock (``Release()``)."""
        self._stop_hold.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def close_conn(self) -> None:
        close_quietly(self.conn)


class LeaseLock(_Dedicated):
    """The lease: one row in ``lease_lock``, taken and refreshed by one upsert on a dedicated connection."""

    def __init__(self, cfg: Config, app_id: str, app_name: str, logger: Logger, symmetric_jitter: bool, on_lost: t.Callable[[], None]) -> None:
        if cfg.lease_refresh > cfg.lease_duration / 2:
            raise ValueError("refresh interval must be <= half the lease duration")
        super().__init__(cfg, app_name, logger.named("LeaseLock").with_(appID=app_id), symmetric_jitter, on_lost)
        self.app_id = app_id

    def _checkout(self) -> None:
        conn = self._open()
        try:
            # Short timeouts so a dead holder never leaves the row locked for long (setInitialTimeouts).
            ms = int(self.cfg.lease_duration * 1000)
            with conn.cursor() as cur:
                cur.execute(f"SET SESSION lock_timeout = {ms}")
                cur.execute(f"SET SESSION idle_in_transaction_session_timeout = {ms}")
        except psycopg2.Error as exc:
            close_quietly(conn)
            raise LockError(f"failed to set initial timeouts: {_err(exc)}") from exc
        self.conn = conn

    def get_lease(self, initial: bool, timeout: float) -> bool:
        """One attempt: True when the upsert affected the row (ours now), False when someone else holds it."""
        conn = self._live_conn()
        with conn.cursor() as cur:
            try:
                cur.execute("BEGIN")
                # The node bounds each attempt with a context timeout; a statement timeout is the SQL equivalent.
                cur.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
                if initial:
                    for query in INITIAL_SQL:
                        cur.execute(query)
                cur.execute(UPSERT_SQL, {"id": self.app_id, "dur": interval_text(self.cfg.lease_duration)})
                got = cur.rowcount > 0
                cur.execute("COMMIT")
                return got
            except psycopg2.Error:
                if not conn.closed:
                    with contextlib.suppress(psycopg2.Error):
                        cur.execute("ROLLBACK")
                raise

    def take_and_hold(self, stop: threading.Event) -> None:
        """Block until the lease is ours (then hold it in a thread), or raise ``LockError`` (``stopped`` on a signal)."""
        self.log.debug("Taking initial lease...", "pg/lease_lock.go:118")
        retry = 0
        initial = True
        while True:
            if self.conn is None:
                try:
                    self._checkout()
                except LockError as exc:
                    raise LockError(f"failed to get lease lock: lease lock failed to checkout initial connection: {exc}") from exc
            try:
                got = self.get_lease(initial, self.cfg.default_query_timeout)
            except ConnDone as exc:
                self.log.warn(CONN_CLOSED_MSG, "pg/lease_lock.go:136", err=str(exc))
                self.conn = None
                continue
            except psycopg2.Error as exc:
                # Any other failure counts as "not acquired": the node's closure swallows it.
                if self.log_tx_errors:
                    self.log.error(f"Error in transaction, rolling back: {_err(exc)}", "pg/transaction.go:54")
                got = False
            if got:
                break
            initial = False
            if should_log_retry(retry):
                self.log.info(WAITING_LEASE_MSG, "pg/lease_lock.go:202", tryCount=retry)
            retry += 1
            if stop.wait(jitter(self.cfg.lease_refresh, self.symmetric_jitter)):
                self.close_conn()
                raise LockError("stopped")
        self.log.debug("Got exclusive lease on database", "pg/lease_lock.go:166")
        self._start_hold(self._loop, "lease-hold")

    def _loop(self) -> None:
        period = self.cfg.lease_refresh
        next_tick = time.monotonic() + period
        while True:
            if self._stop_hold.wait(max(0.0, next_tick - time.monotonic())):
                self._release_row()
                return
            # A Go ticker drops ticks it could not deliver instead of bunching them up.
            next_tick += period
            now = time.monotonic()
            if next_tick <= now:
                next_tick = now + period
            try:
                got = self._refresh_once()
            except (psycopg2.Error, ConnDone, LockError) as exc:
                self.healthy, self.last_error = False, _err(exc)
                self.log.error("Error trying to refresh database lease", "pg/lease_lock.go:230", err=_err(exc))
                continue
            self.healthy, self.last_error = got, ""
            if not got:
                self.on_lost()
                return

    def _refresh_once(self) -> bool:
        try:
            return self.get_lease(False, self.cfg.lease_duration)
        except ConnDone as exc:
            self.log.warn(CONN_CLOSED_MSG, "pg/lease_lock.go:222", err=str(exc))
            try:
                self._checkout()
            except LockError as exc2:
                self.log.warn("Error trying to refresh connection", "pg/lease_lock.go:224", err=str(exc2))
            return self.get_lease(False, self.cfg.lease_duration)

    def _release_row(self) -> None:
        try:
            conn = self._live_conn()
            with conn.cursor() as cur:
                cur.execute(f"SET statement_timeout = {int(self.cfg.default_query_timeout * 1000)}")
                cur.execute(RELEASE_SQL, {"id": self.app_id})
        except (psycopg2.Error, ConnDone) as exc:
            self.log.warn("Error trying to release lease on cancelled ctx", "pg/lease_lock.go:213", err=_err(exc))
        finally:
            self.close_conn()


class AdvisoryLock(_Dedicated):
    """The 1.x session-level advisory lock, ``pg_try_advisory_lock(id)`` on its own connection, checked every second."""

    def __init__(self, cfg: Config, app_name: str, logger: Logger, symmetric_jitter: bool, on_lost: t.Callable[[], None]) -> None:
        super().__init__(cfg, app_name, logger.named("AdvisoryLock").with_(advisoryLockID=cfg.advisory_lock_id), symmetric_jitter, on_lost)

    def _checkout(self) -> None:
        self.conn = self._open()

    def get_lock(self) -> bool:
        self.log.debug("Taking advisory lock", "pg/advisory_lock.go:120")
        conn = self._live_conn()
        with conn.cursor() as cur:
            cur.execute(f"SET statement_timeout = {int(self.cfg.default_query_timeout * 1000)}")
            cur.execute("SELECT pg_try_advisory_lock(%(id)s)", {"id": self.cfg.advisory_lock_id})
            row = cur.fetchone()
        return bool(row and row[0])

    def check(self) -> bool:
        conn = self._live_conn()
        with conn.cursor() as cur:
            cur.execute(CHECK_ADVISORY_SQL, {"id": self.cfg.advisory_lock_id})
            row = cur.fetchone()
        return bool(row and row[0])

    def take_and_hold(self, stop: threading.Event) -> None:
        self.log.debug("Taking initial advisory lock...", "pg/advisory_lock.go:50")
        retry = 0
        while True:
            if self.conn is None:
                try:
                    self._checkout()
                except LockError as exc:
                    raise LockError(f"failed to get advisory lock: advisory lock failed to checkout initial connection: {exc}") from exc
            try:
                got = self.get_lock()
            except ConnDone as exc:
                self.log.warn(CONN_CLOSED_MSG, "pg/advisory_lock.go:67", err=str(exc))
                self.conn = None
                continue
            except psycopg2.Error:
                got = False
            if got:
                break
            if should_log_retry(retry):
                self.log.info(WAITING_ADVISORY_MSG, "pg/advisory_lock.go:129", tryCount=retry)
            retry += 1
            if stop.wait(jitter(self.cfg.advisory_check_interval, self.symmetric_jitter)):
                self.close_conn()
                raise LockError("stopped by parent context")
        self.log.debug("Got advisory lock", "pg/advisory_lock.go:104")
        self._start_hold(self._loop, "advisory-hold")

    def _loop(self) -> None:
        while True:
            if self._stop_hold.wait(jitter(self.cfg.advisory_check_interval, self.symmetric_jitter)):
                self._unlock()
                return
            try:
                try:
                    got = self.check()
                except ConnDone as exc:
                    # The session and its lock are gone: check out a new connection and try to re-lock.
                    self.log.warn(CONN_CLOSED_MSG, "pg/advisory_lock.go:152", err=str(exc))
                    try:
                        self._checkout()
                    except LockError as exc2:
                        self.log.warn("Error trying to checkout connection", "pg/advisory_lock.go:154", err=str(exc2))
                    got = self.get_lock()
            except (psycopg2.Error, ConnDone) as exc:
                self.healthy, self.last_error = False, _err(exc)
                self.log.error("Error while checking advisory lock", "pg/advisory_lock.go:160", err=_err(exc))
                continue
            self.healthy, self.last_error = got, ""
            if not got:
                self.on_lost()
                return

    def _unlock(self) -> None:
        try:
            conn = self._live_conn()
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%(id)s)", {"id": self.cfg.advisory_lock_id})
        except (psycopg2.Error, ConnDone) as exc:
            self.log.warn("Error trying to unlock advisory lock on shutdown", "pg/advisory_lock.go:143", err=_err(exc))
        finally:
            self.close_conn()
