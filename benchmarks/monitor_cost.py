#!/usr/bin/env python3
# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the pair exporter (playbooks/monitor.yml) costs for 20 pairs: its CPU and the statements it sends.

20 databases on one PostgreSQL (lab image, host network, loopback), each set up like a running pair's: the node's
lease table with a valid lease, node_versions, and two "instances" of 5 sessions each named as the node names them.
The exporter is deployed by the real playbook (image built from the role's Dockerfile on nodeops-lab/base:bookworm) at
its default interval (5 s) and scraped every 15 s (Prometheus' default) while measured:

- CPU: the exporter's process_cpu_seconds_total (its own /proc), and the container's cgroup CPU time, per second;
- statements: the sum of the exporter's chainlink_pair_statements_total, cross-checked with PostgreSQL's count of
  committed transactions (pg_stat_database.xact_commit) over the 20 databases (each statement is one autocommit
  transaction; the benchmark's own sessions stay idle while measured).

Writes benchmarks/results/monitor_cost.json.

    .venv/bin/python benchmarks/monitor_cost.py [--pairs 20] [--seconds 120] [--interval 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import typing as t
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT / ".collections"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import yaml  # type: ignore[import-untyped]  # noqa: E402  # no stubs in the venv

from tests.integration.handover.lab import ansible_env, start_lab_postgres  # noqa: E402
from tests.support.postgres import PostgresServer, free_port  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "monitor_cost.json"
CONTAINER = "bench-chainlink-monitor"
SESSIONS_PER_INSTANCE = 5
LEASE_DDL = (
    "CREATE TABLE lease_lock (client_id uuid NOT NULL, expires_at timestamptz NOT NULL);"
    " CREATE UNIQUE INDEX only_one_lease_lock ON lease_lock ((client_id IS NOT NULL));"
    " CREATE TABLE node_versions (version text PRIMARY KEY, created_at timestamp NOT NULL);"
    " INSERT INTO node_versions VALUES ('2.29.0', now())"
)


def setup_pairs(pg: PostgresServer, count: int) -> tuple[list[str], list[t.Any]]:
    """count databases like running pairs'; the sessions stay open (returned) for the run."""
    names, sessions = [], []
    for index in range(count):
        db = f"bench_pair_{index:02d}"
        pg.execute(f"DROP DATABASE IF EXISTS {db}")
        pg.execute(f"CREATE DATABASE {db}")
        admin = pg.connect(db)
        holder = str(uuid.uuid4())
        with admin.cursor() as cur:
            cur.execute(LEASE_DDL)
            # a lease valid for the whole run (the exporter reads it; nobody refreshes it)
            cur.execute("INSERT INTO lease_lock VALUES (%s, now() + interval '1 hour')", (holder,))
        admin.close()
        for app_id in (holder, str(uuid.uuid4())):
            for _ in range(SESSIONS_PER_INSTANCE):
                sessions.append(pg.connect(db, application_name=f"Chainlink 2.29.0 |App|{app_id}"))
        names.append(db)
    return names, sessions


def inventory(pg: PostgresServer, dbs: list[str], workdir: Path, port: int, interval: float) -> Path:
    pairs = {
        f"bench-{index:02d}": {
            "chainlink_database_url": pg.url(db, sslmode="disable"),
            "chainlink_instances": {
                # ports where nothing listens: the probes cost what they cost for a standby
                "primary": {"docker_host": "bench-docker", "http_port": 17000 + 2 * index},
                "secondary": {"docker_host": "bench-docker", "http_port": 17001 + 2 * index},
            },
        }
        for index, db in enumerate(dbs)
    }
    data = {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": str(ROOT / ".venv" / "bin" / "python"),
                "chainlink_monitor_host": "bench-docker",
                "chainlink_monitor_port": port,
                "chainlink_monitor_interval": interval,
                "chainlink_monitor_base_image": "nodeops-lab/base:bookworm",
                "chainlink_monitor_container_name": CONTAINER,
                "chainlink_monitor_labels": {"nodeops.test": "true"},
            },
            "children": {
                "docker_hosts": {"hosts": {"bench-docker": {"chainlink_config_root": str(workdir / "cfg")}}},
                "chainlink_pairs": {"hosts": pairs},
            },
        }
    }
    path = workdir / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:  # noqa: S310 - loopback
        return str(response.read().decode())


def metric_sum(text: str, name: str) -> float:
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text, re.MULTILINE))


def xact_commits(pg: PostgresServer, dbs: list[str]) -> int:
    conn = pg.connect("postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_stat_clear_snapshot()")
            cur.execute("SELECT coalesce(sum(xact_commit), 0) FROM pg_stat_database WHERE datname = ANY(%s)", (dbs,))
            return int(cur.fetchone()[0])  # type: ignore[index]
    finally:
        conn.close()


def cgroup_cpu_seconds(container: str) -> float:
    """The container's CPU time from its cgroup (v2: cpu.stat usage_usec; v1: cpuacct.usage); NaN where not found."""
    cid = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", container], capture_output=True, text=True, check=True).stdout.strip()
    for path in (
        Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat"),
        Path(f"/sys/fs/cgroup/docker/{cid}/cpu.stat"),
        Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage"),
    ):
        if path.exists():
            text = path.read_text()
            if path.name == "cpu.stat":
                return int(re.search(r"usage_usec (\d+)", text).group(1)) / 1e6  # type: ignore[union-attr]
            return int(text) / 1e9
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--interval", type=float, default=5)
    parser.add_argument("--scrape-interval", type=float, default=15)
    args = parser.parse_args()

    pg = start_lab_postgres(range(17100, 17110), "nodeops-bench-monitor-pg")
    sessions: list[t.Any] = []
    try:
        dbs, sessions = setup_pairs(pg, args.pairs)
        with tempfile.TemporaryDirectory(prefix="monitor-cost-") as tmp:
            port = free_port()
            inv = inventory(pg, dbs, Path(tmp), port, args.interval)
            began = time.monotonic()
            run = subprocess.run(
                [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inv), str(ROOT / "playbooks" / "monitor.yml")],
                env=ansible_env(), capture_output=True, text=True, check=False, timeout=900,
            )  # fmt: skip
            deploy_seconds = time.monotonic() - began
            if run.returncode != 0:
                print(run.stdout[-4000:], run.stderr[-2000:], file=sys.stderr)
                return 1
            time.sleep(2 * args.interval)  # every pair read at least once, connections open
            first = scrape(port)
            if metric_sum(first, "chainlink_pair_database_up") != args.pairs:
                print("not every pair's database is up:\n" + first, file=sys.stderr)
                return 1
            start = {
                "t": time.monotonic(),
                "cpu": metric_sum(first, "process_cpu_seconds_total"),
                "cgroup": cgroup_cpu_seconds(CONTAINER),
                "statements": metric_sum(first, "chainlink_pair_statements_total"),
                "xact": xact_commits(pg, dbs),
            }
            scrapes = 0
            while time.monotonic() - start["t"] < args.seconds:
                time.sleep(args.scrape_interval)
                last = scrape(port)
                scrapes += 1
            end = {
                "t": time.monotonic(),
                "cpu": metric_sum(last, "process_cpu_seconds_total"),
                "cgroup": cgroup_cpu_seconds(CONTAINER),
                "statements": metric_sum(last, "chainlink_pair_statements_total"),
                "xact": xact_commits(pg, dbs),
            }
            elapsed = end["t"] - start["t"]
            stats = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", CONTAINER], capture_output=True, text=True, check=False)
            result = {
                "pairs": args.pairs,
                "interval_seconds": args.interval,
                "scrape_interval_seconds": args.scrape_interval,
                "measured_seconds": round(elapsed, 1),
                "scrapes": scrapes,
                "deploy_seconds": round(deploy_seconds, 1),
                "cpu_seconds_per_second_process": round((end["cpu"] - start["cpu"]) / elapsed, 5),
                "cpu_seconds_per_second_cgroup": round((end["cgroup"] - start["cgroup"]) / elapsed, 5),
                "statements_per_second_exporter": round((end["statements"] - start["statements"]) / elapsed, 2),
                "statements_per_second_postgres": round((end["xact"] - start["xact"]) / elapsed, 2),
                "read_errors": metric_sum(last, "chainlink_pair_read_errors_total"),
                "memory": stats.stdout.strip(),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()},
                "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
    finally:
        for conn in sessions:
            conn.close()
        subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True, check=False)
        pg.stop()
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
