# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""``runNode``: the start-up order, the shutdown path and the work the active instance does (spec 4.7, 4.8, 6)."""

from __future__ import annotations

import http.server
import os
import signal
import ssl
import sys
import threading
import time
import typing as t
import uuid
from pathlib import Path

import psycopg2
import psycopg2.extensions

from . import passwords
from .config import Config, ConfigError, env_flag, env_seconds, format_go_duration, go_listen_address
from .locks import AdvisoryLock, LeaseLock, LockError, application_name, close_quietly, connect
from .log import Logger
from .version import Behaviour, Version
from .web import Check, WebServer, hash_password


class _ListenRefused(Exception):
    """Go's listen refused the address before any bind (``go_listen_address``)."""


NODE_VERSIONS_SQL = (
    "CREATE TABLE IF NOT EXISTS node_versions (version TEXT PRIMARY KEY, created_at timestamp without time zone NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_only_one_node_version ON node_versions ((version IS NOT NULL))",
)
UPSERT_NODE_VERSION_SQL = (
    "INSERT INTO node_versions (version, created_at) VALUES (%(v)s, NOW()) "
    "ON CONFLICT ((version IS NOT NULL)) DO UPDATE SET version = EXCLUDED.version, created_at = EXCLUDED.created_at"
)
# The keystore: the real node keeps its encrypted keys here; the double only needs "is the keystore empty".
KEY_RINGS_SQL = (
    "CREATE TABLE IF NOT EXISTS encrypted_key_rings "
    "(encrypted_keys jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT NOW(), updated_at timestamptz NOT NULL DEFAULT NOW())"
)
TLS_NOTE = "failed to run TLS server (NOTE: you can disable TLS server completely and silence these errors by setting WebServer.TLS.HTTPSPort=0 in your config)"
USERS_SQL = (
    "CREATE TABLE IF NOT EXISTS users "
    "(email text PRIMARY KEY, hashed_password text NOT NULL, role text NOT NULL DEFAULT 'admin', created_at timestamptz NOT NULL DEFAULT NOW())"
)
JOB_RUNS_SQL = """CREATE TABLE IF NOT EXISTS sim_job_runs (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT NOW(),
    claimed_by uuid,
    claimed_at timestamptz,
    completed_by uuid,
    completed_at timestamptz
)"""
# goose's version table (pressly/goose, table name set by the node): version 0 is recorded when it is created
GOOSE_SQL = (
    "CREATE TABLE IF NOT EXISTS goose_migrations (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL,"
    " tstamp timestamp NULL DEFAULT now())",
    "INSERT INTO goose_migrations (version_id, is_applied) SELECT 0, true WHERE NOT EXISTS (SELECT 1 FROM goose_migrations)",
)
GOOSE_RECORD_SQL = "INSERT INTO goose_migrations (version_id, is_applied) SELECT v, true FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS v"
# Claim and complete in one transaction: a crash rolls the claim back, so no row is ever left half-done.
WORK_SQL = """WITH picked AS (
    SELECT id FROM sim_job_runs WHERE completed_at IS NULL ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED
)
UPDATE sim_job_runs AS j SET claimed_by = %(me)s, claimed_at = NOW(), completed_by = %(me)s, completed_at = clock_timestamp()
FROM picked WHERE j.id = picked.id"""
WORK_INTERVAL = 0.1


# SIM_CRASH_AT_BOOT=once: this file in the container's own filesystem survives Docker's restart of the container, so
# the run that Docker restarts boots normally (a standby that crashes once and comes back under a new app ID)
CRASHED_ONCE = Path("/tmp/chainlink-sim-crashed-once")


def crash_now(env: t.Mapping[str, str]) -> bool:
    """Whether this boot crashes on purpose (SIM_CRASH_AT_BOOT: 1/true every time, once the first time only)."""
    if env.get("SIM_CRASH_AT_BOOT", "").lower() == "once":
        if CRASHED_ONCE.exists():
            return False
        CRASHED_ONCE.write_text("crashed\n")
        return True
    return env_flag(env, "SIM_CRASH_AT_BOOT")


def env_count(env: t.Mapping[str, str], name: str) -> int | None:
    """A ``SIM_*`` knob that counts (0 or more); unset or empty: None."""
    value = env.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ConfigError(f"invalid value for {name}: {value!r} (give a count, e.g. 2)")
    return int(value)


class StartUpHealth:
    """``services.StartUpHealthReport`` (v2.16.0+): while the version check and the migrations run, a bare server on
    ``:<HTTPPort>`` (every address: ``WebServer.ListenIP`` is not used) answers ``/health`` 204 and every other path
    503, then stops before the real web server starts (core/services/health.go).
    """

    def __init__(self, port: int, logger: Logger) -> None:
        self.log = logger
        self.server: http.server.ThreadingHTTPServer | None = None
        logger.info("Starting StartUpHealthReport", "services/health.go:52")
        try:
            self.server = http.server.ThreadingHTTPServer(("0.0.0.0", port), _StartUpHandler)  # noqa: S104 - as the node binds
        except OSError as exc:
            logger.error(f"StartUpHealthReport server error: listen tcp :{port}: bind: {_go_errno_text(exc)}", "services/health.go:54")
            return
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="startup-health", daemon=True).start()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        self.log.info("StartUpHealthReport shutdown complete", "services/health.go:46")


class _StartUpHandler(http.server.BaseHTTPRequestHandler):
    server_version = "chainlink-sim"
    sys_version = ""

    def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002 - signature of the base class
        return

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        status = 204 if self.path.split("?", 1)[0] == "/health" else 503
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET  # noqa: N815 - http.server naming


class BootError(Exception):
    """A start-up failure after the lock was taken: the locks are released and the node exits 1."""


class JobWorker:
    """The active instance's work: claim and complete pending ``sim_job_runs`` rows every 100 ms."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.conn: psycopg2.extensions.connection | None = None
        self.stop = threading.Event()
        self.healthy = True
        self.last_error = ""
        self.completed = 0
        self.thread = threading.Thread(target=self._run, name="job-worker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        close_quietly(self.conn)

    def _run(self) -> None:
        log = self.node.run_log.named("JobRunner")
        while not self.stop.wait(WORK_INTERVAL):
            try:
                if self.conn is None or self.conn.closed:
                    close_quietly(self.conn)
                    self.conn = self.node.pool_conn()
                with self.conn.cursor() as cur:
                    cur.execute("BEGIN")
                    cur.execute(WORK_SQL, {"me": self.node.app_id})
                    done = cur.rowcount
                    cur.execute("COMMIT")
                self.completed += max(0, done)
                if not self.healthy:
                    log.info("Database connection restored", "sim/worker.go:60")
                self.healthy, self.last_error = True, ""
            except psycopg2.Error as exc:
                if self.healthy:
                    log.error("Error processing job runs", "sim/worker.go:52", err=str(exc).strip())
                self.healthy, self.last_error = False, str(exc).strip()
                if self.conn is not None and not self.conn.closed:
                    try:
                        self.conn.rollback()
                    except psycopg2.Error:
                        close_quietly(self.conn)


class Node:
    """One node process: lock, migrations, boot, HTTP, work; graceful or fatal exit."""

    def __init__(
        self,
        cfg: Config,
        behaviour: Behaviour,
        env: t.Mapping[str, str],
        api_file: str | None,
        start_time: float,
        logger: Logger,
    ) -> None:
        self.cfg = cfg
        self.behaviour = behaviour
        self.env = env
        self.api_file = api_file
        self.start_time = start_time
        self.app_id = str(uuid.uuid4())  # new for every process, never persisted (spec 4.2)
        self.app_name = application_name(str(behaviour.version), self.app_id)
        self.root_log = logger
        self.run_log = logger.named("RunNode")
        lock_base = logger.named(behaviour.lock_logger_prefix.rstrip(".")) if behaviour.lock_logger_prefix else logger
        self.ldb_log = lock_base.named("LockedDB")
        self.stop = threading.Event()
        self.done = threading.Event()
        self.lease: LeaseLock | None = None
        self.advisory: AdvisoryLock | None = None
        self.app_conn: psycopg2.extensions.connection | None = None
        self.worker: JobWorker | None = None
        self.web: WebServer | None = None
        self._close_lock = threading.Lock()
        self._creds: tuple[str, str] | None = None

    # -- plumbing -------------------------------------------------------------------------------------------------
    def pool_conn(self) -> psycopg2.extensions.connection:
        """A connection from "the pool": same application_name as the lock connections, the node's session defaults."""
        conn = connect(self.cfg.database_url, self.app_name, self.cfg.default_query_timeout)
        with conn.cursor() as cur:
            cur.execute(f"SET SESSION lock_timeout = {int(self.cfg.default_lock_timeout * 1000)}")
            cur.execute(f"SET SESSION idle_in_transaction_session_timeout = {int(self.cfg.default_idle_in_tx_timeout * 1000)}")
        return conn

    def close_pool(self) -> None:
        """``db.Close()``: every pool connection goes (the lock connections are handled by their own Release)."""
        if self.worker is not None:
            self.worker.stop.set()
            close_quietly(self.worker.conn)
        close_quietly(self.app_conn)

    def close_locked_db(self) -> None:
        """``LockedDB.Close()``: advisory lock first, then the lease, then the pool. Safe to call twice."""
        with self._close_lock:
            if self.advisory is not None:
                self.advisory.release()
                self.advisory = None
            if self.lease is not None:
                self.lease.release()
                self.lease = None
            self.close_pool()

    def _lost(self, lock_log: Logger, msg: str) -> t.Callable[[], None]:
        def fatal() -> None:
            self.close_pool()
            lock_log.fatal(msg, "pg/lease_lock.go:240" if "lease" in msg else "pg/advisory_lock.go:165")
            os._exit(1)

        return fatal

    def fail(self, message: str) -> int:
        """A start-up error: printed on stderr by the CLI (urfave ExitError), exit status 1."""
        if self.behaviour.cannot_boot_prefix:
            message = f"Cannot boot Chainlink: {message}"
            self.run_log.error(message, "cmd/shell_local.go:300")
        self.root_log.raw(message)
        return 1

    def checks(self) -> list[Check]:
        out: list[Check] = []
        if self.lease is not None:
            out.append(("LeaseLock", self.lease.healthy, self.lease.last_error))
        if self.advisory is not None:
            out.append(("AdvisoryLock", self.advisory.healthy, self.advisory.last_error))
        if self.worker is not None:
            out.append(("JobRunner", self.worker.healthy, self.worker.last_error))
        return out

    # -- signals --------------------------------------------------------------------------------------------------
    def install_signal_watcher(self) -> None:
        """``shutdown.HandleShutdown``: first SIGTERM/SIGINT cancels the root context and arms the grace-period timer.

        The signals are blocked and taken by a thread with sigwait, so no handler ever runs inside a logging call.
        """
        sigs = {signal.SIGTERM, signal.SIGINT}
        for sig in sigs:
            # A non-default disposition: as PID 1 in a container, the kernel drops signals left at SIG_DFL.
            signal.signal(sig, lambda *_: None)
        signal.pthread_sigmask(signal.SIG_BLOCK, sigs)

        def watch() -> None:
            sig = signal.sigwait(sigs)
            name = "terminated" if sig == signal.SIGTERM else "interrupt"
            if self.behaviour.logs_shutdown_signal:
                self.run_log.info(f"Shutting down due to {name} signal received...", "cmd/shell_local.go:420")
            self.stop.set()
            if self.done.wait(self.cfg.shutdown_grace):
                return
            self.run_log.crit(
                f"Shutdown grace period of {format_go_duration(self.cfg.shutdown_grace)} exceeded, closing DB and exiting...", "cmd/shell_local.go:428"
            )
            # The release still runs, but under a context bounded by Database.DefaultQueryTimeout: a release that
            # blocks longer (a frozen database, a stuck connection) is abandoned and the process exits anyway.
            closer = threading.Thread(target=self.close_locked_db, name="close-db", daemon=True)
            closer.start()
            closer.join(self.cfg.default_query_timeout)
            if closer.is_alive():
                self.ldb_log.named("LeaseLock").warn("Error trying to release lease on cancelled ctx", "pg/lease_lock.go:213", err="context deadline exceeded")
            os._exit(255)

        threading.Thread(target=watch, name="signals", daemon=True).start()

    # -- the run --------------------------------------------------------------------------------------------------
    def run(self) -> int:
        version = str(self.behaviour.version)
        self.run_log.info(
            f"Starting Chainlink Node {version} at commit {self.behaviour.sha}", "cmd/shell_local.go:280", Version=version, SHA=self.behaviour.sha
        )
        self.install_signal_watcher()
        try:
            code = self._run()
        finally:
            self.done.set()
        return code

    def _run(self) -> int:
        err = self.open_locked_db()
        if err is not None:
            return self.fail(err)
        try:
            self.boot()
        except BootError as exc:
            self.close_locked_db()
            return self.fail(str(exc))
        self.run_log.info(f"Chainlink booted in {time.monotonic() - self.start_time:.2f}s", "cmd/shell_local.go:390", appID=self.app_id)
        try:
            self.start_web()
        except OSError as exc:
            self.shutdown_app()
            self.close_locked_db()
            return self.fail(f"listen tcp {self.cfg.listen_ip}:{self.cfg.http_port}: bind: {_go_errno_text(exc)}")
        self.stop.wait()
        return self.graceful_stop()

    def open_locked_db(self) -> str | None:
        """``LockedDB.Open``: the lease first, "before any other DB operations", then the 1.x advisory lock."""
        mode = self.cfg.locking_mode
        self.ldb_log.debug(f"Using database locking mode: {mode}", "pg/locked_db.go:74")
        jitter_sym = self.behaviour.symmetric_jitter
        if mode in ("lease", "dual"):
            lease_log = self.ldb_log.named("LeaseLock").with_(appID=self.app_id)
            self.lease = LeaseLock(self.cfg, self.app_id, self.app_name, self.ldb_log, jitter_sym, self._lost(lease_log, self.behaviour.lease_lost_message))
            self.lease.log_tx_errors = self.behaviour.is_v1
            try:
                self.lease.take_and_hold(self.stop)
            except LockError as exc:
                self.lease = None
                self.close_locked_db()
                return f"opening db: failed to take initial lease on database: {exc}"
        if mode in ("advisorylock", "dual"):
            adv_log = self.ldb_log.named("AdvisoryLock").with_(advisoryLockID=self.cfg.advisory_lock_id)
            self.advisory = AdvisoryLock(
                self.cfg, self.app_name, self.ldb_log, jitter_sym, self._lost(adv_log, "Another node has taken the advisory lock, exiting immediately")
            )
            try:
                self.advisory.take_and_hold(self.stop)
            except LockError as exc:
                self.advisory = None
                self.close_locked_db()
                return f"opening db: error acquiring lock: {exc}"
        return None

    def boot(self) -> None:
        """``NewApplication`` and the rest of ``runNode`` up to "booted": versioning, migrations, API user."""
        if crash_now(self.env):
            # A hard crash: no deferred Close, so nothing is released (the lease must expire, the backend dies).
            self.root_log.raw("SIM_CRASH_AT_BOOT: chainlink-sim crashes on purpose after taking the lock")
            os._exit(2)
        try:
            self.app_conn = self.pool_conn()
            self.handle_node_versioning()
            self.authenticate_keystore()
            self.ensure_api_user()
        except psycopg2.Error as exc:
            raise BootError(f"fatal error instantiating application: {str(exc).strip()}") from exc
        except ConfigError as exc:
            raise BootError(str(exc)) from exc
        self.worker = JobWorker(self)
        self.worker.start()

    def handle_node_versioning(self) -> None:
        """``handleNodeVersioning``: the version check, the migrations, then the version row (core/cmd/shell.go).

        From v2.16.0 the start-up health server answers on the HTTP port meanwhile (``StartUpHealthReport``).
        """
        health = StartUpHealth(self.cfg.http_port, self.root_log) if self.behaviour.startup_health_server and self.cfg.http_port else None
        try:
            self.check_version()
            delay = env_seconds(self.env, "SIM_BOOT_DELAY")
            if delay and self.stop.wait(delay):
                raise BootError("fatal error instantiating application: initializeORM#Migrate: context canceled")
            if self.cfg.migrate_database:
                self.migrate()
        finally:
            if health is not None:
                health.close()

    def check_version(self) -> None:
        """``versioning.CheckVersion``: refuse (after the lock is ours) to run on a database a newer node migrated."""
        if self.app_conn is None:
            return
        with self.app_conn.cursor() as cur:
            try:
                cur.execute("SELECT version FROM node_versions ORDER BY created_at DESC LIMIT 1")
            except psycopg2.Error as exc:
                if exc.pgcode == "42P01":  # undefined_table: no node ever booted here
                    return
                raise
            row = cur.fetchone()
        if row is None:
            return
        try:
            dbv = Version.parse(row[0])
        except ValueError:
            self.root_log.named("Version").warn(f"Database version {row[0]!r} is not valid semver; skipping version check", "versioning/orm.go:80")
            return
        appv = self.behaviour.version
        if dbv > appv:
            raise BootError(
                "fatal error instantiating application: CheckVersion: "
                f"Application version ({appv}) is lower than database version ({dbv}). Only Chainlink {dbv} or higher can be run on this database"
            )

    def migrate(self) -> None:
        """``migrate.Migrate`` then ``UpsertNodeVersion``: goose applies each pending migration in its own transaction
        (recorded in ``goose_migrations``), and only then is the version row written. So a version that fails part-way
        leaves ``node_versions`` at the old version over a schema that moved (``SIM_MIGRATE_FAIL_AT``).
        """
        if self.app_conn is None:
            return
        # a broken migration: the same one fails on every run (a restart loop never gets past it)
        broken = env_count(self.env, "SIM_MIGRATE_FAIL_AT")
        with self.app_conn.cursor() as cur:
            cur.execute("BEGIN")
            for stmt in GOOSE_SQL:
                cur.execute(stmt)
            cur.execute("SELECT coalesce(max(version_id), 0) FROM goose_migrations")
            row = cur.fetchone()
            cur.execute("COMMIT")
            applied = int(row[0]) if row else 0
            target = self.behaviour.migration_count
            if broken is not None and applied < broken <= target:
                target = broken - 1
            if target > applied:
                # the migrations before a broken one are all applied (goose commits each in its own transaction; one
                # transaction for the run of them leaves the same state and keeps a fresh boot fast)
                cur.execute("BEGIN")
                for stmt in (*NODE_VERSIONS_SQL, USERS_SQL, KEY_RINGS_SQL, JOB_RUNS_SQL):
                    cur.execute(stmt)
                cur.execute(GOOSE_RECORD_SQL, {"first": applied + 1, "last": target})
                cur.execute("COMMIT")
            if broken is not None and applied < broken <= self.behaviour.migration_count:
                raise BootError(
                    f"fatal error instantiating application: initializeORM#Migrate: ERROR {broken:04d}_sim.sql:"
                    " failed to run SQL migration: SIM_MIGRATE_FAIL_AT: this migration fails on purpose"
                )
            cur.execute("BEGIN")
            for stmt in (*NODE_VERSIONS_SQL, USERS_SQL, KEY_RINGS_SQL, JOB_RUNS_SQL):
                cur.execute(stmt)  # idempotent: a database a version before goose left (the lab's older volumes)
            cur.execute(UPSERT_NODE_VERSION_SQL, {"v": str(self.behaviour.version)})
            cur.execute("COMMIT")

    def authenticate_keystore(self) -> None:
        """``KeyStoreAuthenticator.authenticate``: the password rules apply only to an empty keystore (first boot)."""
        if self.app_conn is None or self.cfg.keystore_password is None:
            return
        with self.app_conn.cursor() as cur:
            try:
                cur.execute("SELECT EXISTS (SELECT 1 FROM encrypted_key_rings)")
            except psycopg2.Error as exc:
                if exc.pgcode == "42P01":  # not migrated: nothing to unlock, nothing to create
                    return
                raise
            row = cur.fetchone()
            if row is not None and row[0]:
                return
            problem = passwords.verify_complexity(self.cfg.keystore_password, self.behaviour.is_v1)
            if problem is not None:
                raise ConfigError(f"error authenticating keystore: {problem}")
            cur.execute("INSERT INTO encrypted_key_rings DEFAULT VALUES")

    def ensure_api_user(self) -> None:
        """The ``-a`` file seeds the first API user; later runs reuse the stored user (spec 7)."""
        if self.app_conn is None:
            return
        with self.app_conn.cursor() as cur:
            cur.execute("SELECT email, hashed_password FROM users ORDER BY created_at LIMIT 1")
            row = cur.fetchone()
            if row is None:
                if not self.api_file:
                    raise ConfigError("error creating api initializer: no API user in the database and no terminal to prompt on: pass -a <api file>")
                try:
                    with open(self.api_file, encoding="utf-8") as handle:
                        lines = [line.strip() for line in handle.read().splitlines()]
                except OSError as exc:
                    raise ConfigError(f"error creating api initializer: open {self.api_file}: {exc.strerror}") from exc
                if len(lines) < 2 or not lines[0] or not lines[1]:
                    raise ConfigError(f"error creating api initializer: {self.api_file} must hold the email on line 1 and the password on line 2")
                problem = passwords.api_password_problem(lines[1], self.behaviour.is_v1)
                if problem is not None:
                    raise ConfigError(f"error creating api initializer: failed to instantiate new user: {problem}")
                row = (lines[0], hash_password(lines[1]))
                cur.execute("INSERT INTO users (email, hashed_password) VALUES (%s, %s) ON CONFLICT (email) DO NOTHING", row)
        self._creds = (row[0], row[1])
        self.run_log.info(f"API exposed for user {row[0]}", "cmd/shell_local.go:370")

    def start_web(self) -> None:
        """``ChainlinkRunner.Run``: the HTTP server, and the HTTPS one unless ``HTTPSPort`` is 0.

        From 2.3 each runs under ``tryRunServerUntilCancelled``: a failure is logged at crit and retried every
        ``WebServer.StartTimeout`` while the node keeps running (and holding the lock). Before 2.3 the double exits 1
        when the HTTP port is taken.
        """
        ip, port = self.cfg.listen_ip or "0.0.0.0", self.cfg.http_port
        self.web = web = WebServer(self.behaviour, self.cfg, self.checks, lambda: self._creds)
        web_log = self.root_log.named("WebServer")
        if self.behaviour.listen_message_has_ip:
            threading.Thread(target=self._run_http, args=(web, web_log, ip, port), name="web-start", daemon=True).start()
        else:
            web.serve_http(web.bind_http(ip, port))
            web_log.info(f"Listening and serving HTTP on port {port}", "web/router.go:95")
        if self.cfg.https_port != 0:
            threading.Thread(target=self._run_tls, args=(web, web_log), name="web-tls-start", daemon=True).start()

    def _run_http(self, web: WebServer, web_log: Logger, ip: str, port: int) -> None:
        # server.run: the address is "<ip.String()>:<port>", so an empty (nil) or IPv6 ListenIP never listens
        addr, refused = go_listen_address(self.cfg.listen_ip, port)
        shown = addr.rsplit(":", 1)[0]
        while not self.stop.is_set():
            web_log.info(f"Listening and serving HTTP on {addr}", "cmd/shell.go:560", ip=shown, port=port)
            try:
                if refused is not None:
                    raise _ListenRefused(refused)
                server = web.bind_http(shown, port)
            except _ListenRefused as exc:
                web_log.crit(f"Error starting server: failed to run plaintext HTTP server: {exc}", "cmd/shell.go:540")
            except OSError as exc:
                web_log.crit(f"Error starting server: failed to run plaintext HTTP server: listen tcp {addr}: bind: {_go_errno_text(exc)}", "cmd/shell.go:540")
            else:
                web.serve_http(server)
                return
            if self.stop.wait(self.cfg.start_timeout):
                return

    def _run_tls(self, web: WebServer, web_log: Logger) -> None:
        """``tryRunServerUntilCancelled(runTLS)``: try to serve HTTPS; on failure log it and retry every StartTimeout."""
        ip, port = self.cfg.tls_listen_ip or "0.0.0.0", self.cfg.https_port
        cert, key = self.cfg.tls_files()
        while not self.stop.is_set():
            if self.behaviour.listen_message_has_ip:
                web_log.info(f"Listening and serving HTTPS on {ip}:{port}", "cmd/shell.go:570", ip=ip, port=port)
            else:
                web_log.info(f"Listening and serving HTTPS on port {port}", "cmd/shell.go:570")
            try:
                web.serve_tls(ip, port, cert, key)
                return
            except ssl.SSLError as exc:
                reason = f"tls: {exc.reason or exc}"
            except OSError as exc:
                # No file name: the listen failed, before any file was read.
                reason = f"listen tcp {ip}:{port}: bind: {_go_errno_text(exc)}" if exc.filename is None else f"open {exc.filename}: {_go_errno_text(exc)}"
            web_log.crit(f"Error starting server: {TLS_NOTE}: {reason}", "cmd/shell.go:540")
            if self.stop.wait(self.cfg.start_timeout):
                return

    def shutdown_app(self) -> None:
        if self.web is not None:
            self.web.stop()
            self.web = None
        if self.worker is not None:
            self.worker.close()

    def graceful_stop(self) -> int:
        began = time.monotonic()
        self.shutdown_app()
        delay = env_seconds(self.env, "SIM_SHUTDOWN_DELAY")
        if delay:
            time.sleep(delay)  # a slow app.Stop(); the grace-period timer may end the process first
        self.close_locked_db()
        stamp = time.strftime("%Y/%m/%d %H:%M:%S")
        self.root_log.raw(f"{stamp} Graceful shutdown time: {format_go_duration(time.monotonic() - began)}")
        return 0


def _go_errno_text(exc: OSError) -> str:
    """Go spells errno texts in lower case (``no such file or directory``, ``address already in use``)."""
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def flush_and_exit(code: int) -> t.NoReturn:
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(code)
