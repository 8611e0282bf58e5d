# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Prometheus exporter of Chainlink pairs' failover readiness (role nodeops.chainlink.monitor).

One process for many pairs. Each pair has a thread of its own that reads the pair's database every interval through
one read-only session, with the statement and the report of lock_info (module_utils/_lock.py, copied into the image
unchanged), and probes its instances' HTTP ports (only the lock holder listens) to name them as the inventory does.
A scrape returns the last reads, so the database sees the same load however many Prometheus servers scrape.

A pair whose database is down, refuses the login or answers nonsense only turns its own chainlink_pair_database_up
to 0; the other pairs and the HTTP endpoint go on. Secrets come from the configuration file (never argv or the
environment) and are masked in every message.

  chainlink_pair_exporter.py --config /etc/chainlink-monitor/config.json --listen 127.0.0.1:10120
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import sys
import threading
import time
import typing as t

import psycopg2
import psycopg2.errorcodes
from prometheus_client import start_http_server  # type: ignore[import-not-found,unused-ignore]
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily  # type: ignore[import-not-found,unused-ignore]

from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import build_report, lock_statement
from ansible_collections.nodeops.chainlink.plugins.module_utils._pair_metrics import HolderChanges, pair_values
from ansible_collections.nodeops.chainlink.plugins.module_utils._redact import redact_text, secret_forms

APPLICATION_NAME = "nodeops.chainlink monitor"  # not "Chainlink ...": the lock statement counts those as nodes
# errors after which the statement is read again in the catalog-only form to learn which tables exist (as lock_info)
_SHAPE_ERRORS = {psycopg2.errorcodes.UNDEFINED_TABLE, psycopg2.errorcodes.INSUFFICIENT_PRIVILEGE}


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {message}", file=sys.stderr, flush=True)


def http_answers(host: str | None, port: int | None, timeout: float) -> bool | None:
    """Whether something accepts a TCP connection on the instance's HTTP port (None: no address to probe)."""
    if not host or not port:
        return None
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


class Pair:
    """One pair: its reader thread and the values of its last read."""

    def __init__(self, spec: t.Mapping[str, t.Any], interval: float, timeout: float, stop: threading.Event) -> None:
        self.name = str(spec["pair"])
        self.url = str(spec.get("database_url") or "")
        self.lease_table = str(spec.get("lease_table") or "lease_lock")
        self.advisory_lock_id = int(spec["advisory_lock_id"])
        self.instances = {str(k): v for k, v in (spec.get("instances") or {}).items()}
        self.interval = interval
        self.timeout = timeout
        self.stop = stop
        self.secrets = [s for s in secret_forms(self.url) if s]
        self.conn: t.Any = None
        self.shape = (True, True)  # (lease table, node_versions): a node's database has both
        self.lock = threading.Lock()
        self.up = False
        self.values: dict[str, t.Any] | None = None
        self.changes = HolderChanges()
        self.errors = 0
        self.reads = 0
        self.statements = 0
        self.duration = 0.0
        self.last_ok: float | None = None
        self.last_error: str | None = None
        self.thread = threading.Thread(target=self.run, name=f"pair-{self.name}", daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            self.read_once()
            self.stop.wait(max(0.0, self.interval - (time.monotonic() - began)))
        self.close()

    def read_once(self) -> None:
        began = time.monotonic()
        try:
            report = build_report(self.read(), self.advisory_lock_id)
            probes = {name: http_answers(i.get("host"), i.get("port"), min(1.0, self.timeout)) for name, i in self.instances.items()}
            values = pair_values(report, probes)
        except Exception as exc:  # noqa: BLE001 - whatever one pair's database does, the others and the endpoint go on
            self.close()
            error = redact_text(" ".join(str(exc).split()) or type(exc).__name__, self.secrets)
            with self.lock:
                self.errors += 1
                self.reads += 1
                self.up = False
                self.values = None
                self.duration = time.monotonic() - began
            if error != self.last_error:
                log(f"pair {self.name}: database read failed: {error}")
            self.last_error = error
            return
        with self.lock:
            self.changes.update((values["holder"] or {}).get("app_id"))
            self.reads += 1
            self.up = True
            self.values = values
            self.duration = time.monotonic() - began
            self.last_ok = time.time()
        if self.last_error is not None:
            log(f"pair {self.name}: database read again")
        self.last_error = None

    def connect(self) -> None:
        options = f"-c default_transaction_read_only=on -c statement_timeout={int(self.timeout * 1000)} -c TimeZone=UTC"
        self.conn = psycopg2.connect(self.url, application_name=APPLICATION_NAME, connect_timeout=max(1, int(self.timeout)), options=options)
        self.conn.autocommit = True

    def execute(self, lease: bool, versions: bool) -> dict[str, t.Any]:
        statement, arguments = lock_statement(self.lease_table, self.advisory_lock_id, lease=lease, versions=versions, access=True)
        with self.conn.cursor() as cursor:
            self.statements += 1
            cursor.execute(statement, arguments)
            row = cursor.fetchone()
        return t.cast(dict[str, t.Any], row[0])

    def read(self) -> dict[str, t.Any]:
        """lock_info's JSON document, the statement adapted to the tables that exist and may be read (as lock_info)."""
        if self.conn is None or self.conn.closed:
            self.connect()
        shape = self.shape
        for _attempt in range(3):
            try:
                raw = self.execute(*shape)
            except psycopg2.Error as exc:
                if exc.pgcode in _SHAPE_ERRORS and shape != (False, False):
                    shape = (False, False)
                    continue
                raise
            if raw["lease_table_exists"] and not raw["lease_table_readable"]:
                role = raw["login_role"]
                raise RuntimeError(f"login role '{role}' may not read {self.lease_table}: GRANT SELECT ON {self.lease_table} TO \"{role}\";")
            wanted = (bool(raw["lease_table_exists"]), bool(raw["versions_table_exists"] and raw["versions_table_readable"]))
            if wanted == shape:
                self.shape = shape
                return raw
            shape = wanted
        raise RuntimeError("the lock tables kept appearing and disappearing while reading them")

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(psycopg2.Error):  # a broken connection has nothing left to close
                self.conn.close()
            self.conn = None


class Collector:
    """The series of every pair, from their last reads."""

    def __init__(self, pairs: list[Pair]) -> None:
        self.pairs = pairs

    def collect(self) -> t.Iterator[t.Any]:  # noqa: C901 - one family after the other
        def gauge(name: str, doc: str, labels: list[str]) -> t.Any:
            return GaugeMetricFamily(f"chainlink_pair_{name}", doc, labels=["pair", *labels])

        up = gauge("database_up", "1 when the pair's database answered the last read of the lock state.", [])
        held = gauge("lock_held", "1 when a valid lease (1.x: or the advisory lock) is held.", [])
        holder = gauge("holder_info", "1 for the lock holder: its inventory instance, app ID and version.", ["instance", "app_id", "version"])
        remaining = gauge("lease_remaining_seconds", "Seconds until the lease row expires (negative once expired).", [])
        connected = gauge("instance_connected", "1 when the inventory instance has a database session.", ["instance"])
        info = gauge(
            "instance_info", "1 per connected Chainlink instance: its inventory name (or unknown), app ID, version.", ["instance", "app_id", "version"]
        )
        standby = gauge("standby_ready", "1 when an instance other than the holder is connected and waiting for the lock.", [])
        two = gauge("two_holders", "1 when the lease and the advisory lock are held by different instances at once.", [])
        db_version = gauge("database_version_info", "1 with the newest version recorded in node_versions.", ["version"])
        schema = gauge("schema_version", "max(version_id) of goose_migrations, the node's schema version.", [])
        changes = CounterMetricFamily("chainlink_pair_holder_changes", "Changes of the lock holder seen by the exporter.", labels=["pair"])
        errors = CounterMetricFamily("chainlink_pair_read_errors", "Reads of the pair's database that failed.", labels=["pair"])
        reads = CounterMetricFamily("chainlink_pair_reads", "Reads of the pair's database.", labels=["pair"])
        statements = CounterMetricFamily("chainlink_pair_statements", "Statements sent to the pair's database.", labels=["pair"])
        duration = gauge("read_duration_seconds", "How long the last read took (database and HTTP probes).", [])
        last = gauge("last_read_timestamp_seconds", "When the last successful read ended (Unix time).", [])
        for pair in self.pairs:
            with pair.lock:
                values, name = pair.values, pair.name
                up.add_metric([name], 1 if pair.up else 0)
                changes.add_metric([name], pair.changes.count)
                errors.add_metric([name], pair.errors)
                reads.add_metric([name], pair.reads)
                statements.add_metric([name], pair.statements)
                duration.add_metric([name], pair.duration)
                if pair.last_ok is not None:
                    last.add_metric([name], pair.last_ok)
            if values is None:
                continue
            held.add_metric([name], 1 if values["lock_held"] else 0)
            if values["holder"]:
                h = values["holder"]
                holder.add_metric([name, h["instance"], h["app_id"], h["version"] or ""], 1)
            if values["lease_remaining_seconds"] is not None:
                remaining.add_metric([name], values["lease_remaining_seconds"])
            for instance, is_connected in values["instance_connected"].items():
                connected.add_metric([name, instance], 1 if is_connected else 0)
            for i in values["instances"]:
                info.add_metric([name, i["instance"], i["app_id"], i["version"] or ""], 1)
            standby.add_metric([name], 1 if values["standby_ready"] else 0)
            two.add_metric([name], 1 if values["two_holders"] else 0)
            if values["db_version"]:
                db_version.add_metric([name, values["db_version"]], 1)
            if values["schema_version"] is not None:
                schema.add_metric([name], values["schema_version"])
        yield from (up, held, holder, remaining, connected, info, standby, two, db_version, schema, changes, errors, reads, statements, duration, last)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="JSON file: interval, timeout and pairs (monitor_targets' result)")
    parser.add_argument("--listen", default="127.0.0.1:10120", help="address:port of the /metrics endpoint")
    args = parser.parse_args(argv)
    with open(args.config, encoding="utf-8") as handle:
        config = json.load(handle)
    address, _colon, port = args.listen.rpartition(":")
    stop = threading.Event()
    interval, timeout = float(config.get("interval", 5)), float(config.get("timeout", 5))
    pairs = [Pair(spec, interval, timeout, stop) for spec in config.get("pairs") or []]
    REGISTRY.register(Collector(pairs))
    start_http_server(int(port), addr=address.strip("[]") or "127.0.0.1")
    for pair in pairs:
        pair.thread.start()
    log(f"serving {len(pairs)} pair(s) on {args.listen}, reading every {interval:g}s")

    # PID 1 in a container gets no default SIGTERM handler: stop on it (docker stop) and on SIGINT
    def on_signal(signum: int, frame: t.Any) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    while not stop.wait(3600):
        pass
    for pair in pairs:
        pair.thread.join(timeout + 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
