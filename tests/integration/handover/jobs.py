# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The work-queue check of a handover: jobs inserted into chainlink-sim's ``sim_job_runs`` while it runs must each be
completed exactly once, by the instance that held the lease at that moment (the handover reports' observer timeline).

In-process (pytest) use: ``JobProducer`` and ``check_jobs``. From Molecule, as a command:

    python -m tests.integration.handover.jobs produce --url URL --state DIR      # until DIR/stop exists (max 15 min)
    python -m tests.integration.handover.jobs check --url URL --state DIR --reports DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import typing as t
from pathlib import Path

import psycopg2

TOLERANCE = 0.15  # seconds: the observer samples every 50 ms; a segment's ends are known to about that


class JobProducer:
    """Inserts a job every ``every`` seconds until stopped."""

    def __init__(self, connect: t.Callable[[], t.Any], every: float = 0.05) -> None:
        self.connect = connect
        self.every = every
        self.ids: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self) -> JobProducer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def run(self, stop_file: Path | None = None, max_seconds: float = 900) -> None:
        conn = self.connect()
        conn.autocommit = True
        deadline = time.monotonic() + max_seconds
        try:
            with conn.cursor() as cur:
                while not self._stop.is_set() and time.monotonic() < deadline and not (stop_file and stop_file.exists()):
                    cur.execute("INSERT INTO sim_job_runs DEFAULT VALUES RETURNING id")
                    self.ids.append(int(cur.fetchone()[0]))
                    self._stop.wait(self.every)
        finally:
            conn.close()


# The node's default ADVISORY_LOCK_ID 1027321974924625846 as pg_locks shows it (high and low 32 bits, single-bigint form)
_ADVISORY_KEY = (239192036, 2840971190)


def lease_holder(conn: t.Any) -> str | None:
    """The lock holder's app ID: the valid lease's client_id, or (1.x advisorylock mode) the advisory key's session's."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('lease_lock') IS NOT NULL")
        if cur.fetchone()[0]:
            cur.execute("SELECT client_id::text FROM lease_lock WHERE expires_at > clock_timestamp()")
            row = cur.fetchone()
            if row:
                return str(row[0])
        # application_name is "Chainlink <version> |App|<app ID>"
        cur.execute(
            "SELECT substring(a.application_name FROM '[|]App[|](.*)$') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 1",
            _ADVISORY_KEY,
        )
        row = cur.fetchone()
    return str(row[0]) if row and row[0] else None


def check_jobs(
    connect: t.Callable[[], t.Any], ids: list[int], reports: list[dict[str, t.Any]], timeout: float = 30, require_all: bool = True
) -> dict[str, int]:
    """Raise AssertionError unless every job was completed once, by the lock holder of that moment (require_all false:
    jobs may be left pending, as when a pair ends with no active instance; those completed are checked the same way)."""
    if not ids:
        raise AssertionError("the producer inserted no job")
    conn = connect()
    conn.autocommit = True
    try:
        deadline = time.monotonic() + timeout
        with conn.cursor() as cur:
            while True:
                cur.execute("SELECT count(*) FROM sim_job_runs WHERE id = ANY(%s) AND completed_at IS NULL", (ids,))
                pending = int(cur.fetchone()[0])
                if pending == 0 or time.monotonic() > deadline or not require_all:
                    break
                time.sleep(0.2)
            cur.execute(
                "SELECT id, claimed_by::text, completed_by::text, extract(epoch FROM completed_at)::float8 FROM sim_job_runs WHERE id = ANY(%s)", (ids,)
            )
            rows = cur.fetchall()
        final_holder = lease_holder(conn)
    finally:
        conn.close()
    if pending and require_all:
        raise AssertionError(f"{pending} of {len(ids)} jobs were never completed")
    rows = [row for row in rows if row[3] is not None]
    if require_all and len(rows) != len(set(ids)):
        raise AssertionError(f"{len(set(ids)) - len(rows)} jobs vanished")
    segments = [s for r in reports for s in (r.get("observer") or {}).get("timeline") or [] if s["holder"]]
    outside = 0
    for job_id, claimed_by, completed_by, completed_at in rows:
        if claimed_by != completed_by:
            raise AssertionError(f"job {job_id} was claimed by {claimed_by} but completed by {completed_by}")
        around = [s for s in segments if s["from"] - TOLERANCE <= completed_at <= s["to"] + TOLERANCE]
        if around:
            # the lock holder, or the advisory holder beside a different lease holder: during the advisory-lock bridge a
            # dual standby holds the lease while it waits for the advisory lock, and the advisorylock node holding
            # that is the one active (a dual node never holds the advisory lock without the lease)
            allowed = {s["holder"] for s in around} | {s["advisory"] for s in around if s.get("advisory")}
            if not any(completed_by == who or (len(who) < 36 and completed_by.startswith(who)) for who in allowed):
                raise AssertionError(f"job {job_id} was completed at {completed_at} by {completed_by} while {around[0]['holder']} held the lease")
        elif completed_by != final_holder:
            outside += 1  # completed outside every observation (before the first run or between runs)
    return {"jobs": len(rows), "outside_observation": outside}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=["produce", "check"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--state", required=True, type=Path, help="directory for the job list and the stop file")
    parser.add_argument("--reports", type=Path, help="directory of the handover reports (check)")
    args = parser.parse_args(argv)
    args.state.mkdir(parents=True, exist_ok=True)
    ids_file = args.state / "job_ids.json"

    def connect() -> t.Any:
        return psycopg2.connect(args.url)

    if args.command == "produce":
        (args.state / "stop").unlink(missing_ok=True)
        producer = JobProducer(connect)
        try:
            producer.run(stop_file=args.state / "stop")
        finally:
            ids_file.write_text(json.dumps(producer.ids))
        return 0
    (args.state / "stop").touch()
    deadline = time.monotonic() + 30
    while not ids_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    ids = json.loads(ids_file.read_text())
    reports = [json.loads(p.read_text()) for p in sorted(args.reports.glob("*.json"))] if args.reports else []
    try:
        result = check_jobs(connect, ids, reports)
    except AssertionError as exc:
        print(f"jobs check failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
