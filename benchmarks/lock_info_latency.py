#!/usr/bin/env python3
# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""How fast nodeops.chainlink.lock_info is on loopback, against a real PostgreSQL.

1. One inspection: the observer statement on an open session, on a database set up like a node pair's (lease row,
   node_versions, two instances with a pool of sessions each, an advisory lock). Goal: median under 10 ms, one round
   trip. Also the whole module run in-process (connect, inspect, exit) for scale.
2. How soon wait_for notices a change: the module waits for holder_changed while a thread moves the lease at a random
   moment; reaction = module returned - lease moved. Goal: within one poll interval (0.1 s by default).

Starts its own PostgreSQL container (lab image, host network, loopback) unless --url is given; writes
benchmarks/results/lock_info_latency.json.

    .venv/bin/python benchmarks/lock_info_latency.py [--inspections 1000] [--changes 30] [--url postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import threading
import time
import typing as t
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT / ".collections"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import psycopg2  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.nodeops.chainlink.plugins.module_utils._postgres import PostgresClient  # noqa: E402
from ansible_collections.nodeops.chainlink.plugins.modules import lock_info  # noqa: E402
from tests.support.ansible_module import run_module  # noqa: E402
from tests.support.postgres import PostgresServer, start_postgres  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "lock_info_latency.json"
GOAL_INSPECTION_MS = 10.0
SESSIONS_PER_INSTANCE = 5


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": round(statistics.median(values), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values), 3),
        "min": round(min(values), 3),
    }


class PairDatabase:
    """A database as a running pair leaves it: lease held by the primary, a waiting standby, node_versions, sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = psycopg2.connect(url)
        self.admin.autocommit = True
        self.primary, self.standby = str(uuid.uuid4()), str(uuid.uuid4())
        self.sessions: list[t.Any] = []
        with self.admin.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS lease_lock, node_versions")
            cur.execute("CREATE TABLE lease_lock (client_id uuid NOT NULL, expires_at timestamptz NOT NULL)")
            cur.execute("CREATE UNIQUE INDEX only_one_lease_lock ON lease_lock ((client_id IS NOT NULL))")
            cur.execute("CREATE TABLE node_versions (version text PRIMARY KEY, created_at timestamp NOT NULL)")
            cur.execute("INSERT INTO node_versions VALUES ('2.29.0', now())")
        for app_id in (self.primary, self.standby):
            for _ in range(SESSIONS_PER_INSTANCE):
                conn = psycopg2.connect(url, application_name=f"Chainlink 2.29.0 |App|{app_id}")
                conn.autocommit = True
                self.sessions.append(conn)
        with self.sessions[0].cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(1027321974924625846)")
        self.set_holder(self.primary)

    def set_holder(self, app_id: str) -> None:
        with self.admin.cursor() as cur:
            cur.execute(
                "INSERT INTO lease_lock VALUES (%s, now() + interval '60 seconds') ON CONFLICT ((client_id IS NOT NULL))"
                " DO UPDATE SET client_id = EXCLUDED.client_id, expires_at = EXCLUDED.expires_at",
                (app_id,),
            )

    def release_advisory(self) -> None:
        """2.x-like from here on: a lease move with the advisory lock left behind would be a (reported) split."""
        with self.sessions[0].cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(1027321974924625846)")

    def module_args(self, **given: t.Any) -> dict[str, t.Any]:
        return {"login_url": self.url, **given}

    def close(self) -> None:
        for conn in self.sessions:
            conn.close()
        self.admin.close()


def bench_inspection(db: PairDatabase, count: int) -> dict[str, t.Any]:
    with patch_module_args(db.module_args()):
        client = PostgresClient(argument_spec={}, application_name="nodeops.chainlink.lock_info")
    params = lock_info.Parameters.from_params(
        {**client.params, "lease_table": "lease_lock", "advisory_lock_id": 1027321974924625846, "timeout": 60, "poll_interval": 0.1}
    )
    inspector = lock_info.LockInspector(client, params)
    client.connect(read_only=True, statement_timeout=10)
    try:
        for _ in range(20):  # warm-up: plan caches, the server's catalog caches
            inspector.inspect()
        client.queries.clear()
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            report = inspector.inspect()
            samples.append((time.perf_counter() - started) * 1000)
        if report["holder"]["app_id"] != db.primary or len(report["instances"]) != 2:
            raise RuntimeError(f"unexpected report: {report}")
        statements = len(client.queries)
    finally:
        client.close()
    return {"ms": summary(samples), "distinct_statements": statements, "round_trips_per_inspection": 1 if statements == 1 else None}


def bench_module_run(db: PairDatabase, count: int) -> dict[str, t.Any]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        result = run_module(lock_info.main, db.module_args())
        samples.append((time.perf_counter() - started) * 1000)
        if result.get("failed"):
            raise RuntimeError(result["msg"])
    return {"ms": summary(samples), "queries_per_run": len(result["queries"])}


def bench_wait_reaction(db: PairDatabase, changes: int, poll_interval: float) -> dict[str, t.Any]:
    reactions = []
    rng = random.Random(4)
    holders = [db.primary, db.standby]
    for n in range(changes):
        old, new = holders[n % 2], holders[(n + 1) % 2]
        db.set_holder(old)
        moved_at: list[float] = []
        delay = 0.2 + rng.random() * 0.3  # a random phase against the module's poll schedule

        def move(new_holder: str = new, wait: float = delay, stamps: list[float] = moved_at) -> None:
            time.sleep(wait)
            db.set_holder(new_holder)
            stamps.append(time.monotonic())

        thread = threading.Thread(target=move, daemon=True)
        thread.start()
        result = run_module(lock_info.main, db.module_args(wait_for="holder_changed", app_id=old, poll_interval=poll_interval, timeout=10))
        returned_at = time.monotonic()
        thread.join()
        if result.get("failed") or result["holder"]["app_id"] != new:
            raise RuntimeError(f"wait did not see the change: {result.get('msg')}")
        reactions.append((returned_at - moved_at[0]) * 1000)
    within = sum(1 for r in reactions if r <= poll_interval * 1000)
    return {"poll_interval_s": poll_interval, "reaction_ms": summary(reactions), "within_one_interval": f"{within}/{len(reactions)}"}


def server_version(url: str) -> str:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            row = cur.fetchone()
        return str(row[0]) if row else "?"
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an existing database to use (its lease_lock and node_versions are replaced!)")
    parser.add_argument("--inspections", type=int, default=1000)
    parser.add_argument("--module-runs", type=int, default=50)
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--poll-interval", type=float, default=0.1)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    server: PostgresServer | None = None
    url = args.url
    if url is None:
        server = start_postgres(name_prefix="nodeops-bench-lockinfo")
        url = server.url("postgres")
    try:
        db = PairDatabase(url)
        try:
            inspection = bench_inspection(db, args.inspections)
            module_run = bench_module_run(db, args.module_runs)
            db.release_advisory()
            wait = bench_wait_reaction(db, args.changes, args.poll_interval)
        finally:
            db.close()
        pg_version = server_version(url)
    finally:
        if server is not None:
            server.stop()

    result: dict[str, t.Any] = {
        "benchmark": "lock_info_latency",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(), "postgresql": pg_version},
        "database": {
            "host": urlsplit(url).hostname,
            "instances": 2,
            "sessions_per_instance": SESSIONS_PER_INSTANCE,
            "advisory_lock_held": "during the inspection runs",
            "tables": ["lease_lock", "node_versions"],
        },
        "inspection": inspection,
        "module_run_in_process": module_run,
        "wait_for_reaction": wait,
        "goals": {
            "inspection_median_under_10ms": inspection["ms"]["median"] < GOAL_INSPECTION_MS,
            "inspection_one_round_trip": inspection["distinct_statements"] == 1,
            "wait_reaction_within_one_poll_interval_p95": wait["reaction_ms"]["p95"] <= args.poll_interval * 1000,
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if all(result["goals"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
