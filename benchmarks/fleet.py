#!/usr/bin/env python3
# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fleet's upgrade: N pairs in one inventory, upgrade.yml run once over all of them, N pairs at a time or fewer.

For each fleet size N (--sizes) and pairs per batch (--batches; a batch larger than N runs as N): a fresh lab of N
pairs of chainlink-sim containers (fleet0, fleet1, ..., HTTP ports 17000 upwards, two a pair), each pair on its own
database of one PostgreSQL container (127.0.0.1:16950-16959), all in one inventory. deploy.yml puts them on 2.28.0;
with a job producer writing into every pair's work queue, upgrade.yml -e handover_serial=<batch> takes them to 2.29.0,
timed from the outside. Then per pair: the report's outcome is ok, no lock gap longer than the lab's lease (3 s), two
holders never seen, every job completed exactly once by the holder of its moment. Recorded per (N, batch): wall
seconds (and deploy's), seconds a pair, tasks Ansible ran (ok + failed, summed over the play recap), every pair's
outcome and gaps, the jobs, and the memory the lab needed: the containers' (``docker stats`` after deploy) and the
ansible-playbook run's peak RSS (its largest process, from GNU time).

Issue 12's goal: 20 pairs upgraded in at most 360 s on this 2-core machine, every pair ok.
Writes benchmarks/results/fleet.json and prints a markdown table; exit status 1 when a run fails or the goal is missed.

    .venv/bin/python benchmarks/fleet.py [--sizes 1,5,20] [--batches 1,5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

import yaml  # type: ignore[import-untyped]  # no stubs in the venv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._lab_runs import RESULTS, recaps, result_head, run_playbook  # noqa: E402
from tests.integration.handover.lab import HandoverLab, start_lab_postgres  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402

FROM, TO = "2.28.0", "2.29.0"
LEASE_SECONDS = 3.0  # the lab's lease duration (HandoverLab's default "3s"): a longer lock gap is a miss
FIRST_HTTP_PORT = 17000
GOAL_PAIRS, GOAL_SECONDS = 20, 360.0
GOAL = "20 pairs upgraded in at most 360 s on this 2-core machine"
TIME = Path("/usr/bin/time")  # GNU time: -v reports the peak RSS
_SIZE = re.compile(r"([\d.]+)\s*([A-Za-z]*)")
_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "kB": 1e3, "MB": 1e6, "GB": 1e9}


def fleet_inventory(labs: list[HandoverLab], version: str) -> dict[str, t.Any]:
    """One inventory of every pair: the pairs' hosts side by side under chainlink_pairs. Every pair runs on the same
    Docker host (this machine's engine); the first pair's entry for it stands, its config root holding one directory
    per container."""
    merged = labs[0].inventory_data(version)
    groups = merged["all"]["children"]
    for lab in labs[1:]:
        other = lab.inventory_data(version)["all"]["children"]
        groups["chainlink_pairs"]["hosts"].update(other["chainlink_pairs"]["hosts"])
        for host, host_vars in other["docker_hosts"]["hosts"].items():
            groups["docker_hosts"]["hosts"].setdefault(host, host_vars)
    return merged


def container_memory_mb(names: list[str]) -> dict[str, float]:
    """Each container's memory now, in MiB (``docker stats --no-stream``)."""
    out = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}", *names], capture_output=True, text=True, timeout=120, check=False
    )
    memory = {}
    for line in out.stdout.splitlines():
        name, _, usage = line.partition("\t")
        match = _SIZE.match(usage.split("/")[0].strip())
        if match:
            memory[name] = round(float(match[1]) * _UNITS.get(match[2], 1) / 2**20, 1)
    return memory


def peak_rss_mb(time_output: Path) -> float | None:
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_output.read_text()) if time_output.exists() else None
    return round(int(match[1]) / 1024, 1) if match else None


def pair_result(lab: HandoverLab, job_ids: list[int]) -> dict[str, t.Any]:
    """The pair's upgrade judged: report ok, gaps within the lease, one holder at a time, every job done once."""
    try:
        report = lab.latest_report("upgrade")
    except AssertionError:
        return {"pair": lab.name, "outcome": "no report", "ok": False}
    gaps = [float(g) for g in report.get("lock_gaps") or report.get("lease_gaps") or []]
    result: dict[str, t.Any] = {
        "pair": lab.name,
        "outcome": report["outcome"],
        "steps": [s["phase"] for s in report["steps"]],
        "lock_gaps": gaps,
        "gap_misses": [g for g in gaps if g > LEASE_SECONDS],
        "two_holders_seen": report["two_holders_seen"],
    }
    try:
        result["jobs"] = lab.check_jobs(job_ids, [report])["jobs"]
        result["jobs_ok"] = True
    except AssertionError as exc:
        result.update(jobs=len(job_ids), jobs_ok=False, jobs_error=str(exc))
    result["ok"] = result["outcome"] == "ok" and not result["gap_misses"] and result["two_holders_seen"] is False and result["jobs_ok"]
    return result


def measure(pg: PostgresServer, parent: Path, size: int, batch: int) -> dict[str, t.Any]:
    """Deploy a fleet of ``size`` pairs, upgrade it ``batch`` pairs at a time, judge every pair, tear it down."""
    workdir = parent / f"n{size}-b{batch}"
    labs = [
        HandoverLab(pg, workdir / f"fleet{i}", name=f"fleet{i}", ports=(FIRST_HTTP_PORT + 2 * i, FIRST_HTTP_PORT + 2 * i + 1), lease=f"{LEASE_SECONDS:g}s")
        for i in range(size)
    ]
    inventory = workdir / "inventory.yml"
    inventory.write_text(yaml.safe_dump(fleet_inventory(labs, FROM)))
    timeout = 300 + 120 * size  # one pair takes about 60 s on 2 CPUs; batches only make it shorter
    run: dict[str, t.Any] = {"pairs": size, "batch": batch}
    try:
        deploy_seconds, deploy = run_playbook(ROOT, inventory, workdir, "deploy.yml", timeout=timeout)
        if deploy.returncode != 0:
            raise AssertionError(f"deploy.yml failed:\n{deploy.stdout[-3000:]}")
        containers = container_memory_mb([c for lab in labs for c in lab.containers.values()] + [pg.container])
        time_output = workdir / "upgrade.time"
        with contextlib.ExitStack() as stack:
            producers = [stack.enter_context(lab.producer()) for lab in labs]
            seconds, upgrade = run_playbook(
                ROOT, inventory, workdir, "upgrade.yml", "-e", f"chainlink_version={TO}", "-e", f"handover_serial={batch}",
                timeout=timeout, prefix=[str(TIME), "-v", "-o", str(time_output)] if TIME.exists() else (),
            )  # fmt: skip
        pairs = [pair_result(lab, producer.ids) for lab, producer in zip(labs, producers, strict=True)]
        gaps = [g for p in pairs for g in p.get("lock_gaps", [])]
        run.update(
            wall_seconds=round(seconds, 2),
            seconds_per_pair=round(seconds / size, 2),
            deploy_seconds=round(deploy_seconds, 2),
            tasks=sum(r["tasks"] for r in recaps(upgrade.stdout).values()),
            upgrade_rc=upgrade.returncode,
            outcomes={p["pair"]: p["outcome"] for p in pairs},
            max_lock_gap=max(gaps, default=None),
            gap_misses={p["pair"]: p["gap_misses"] for p in pairs if p.get("gap_misses")},
            two_holders_seen=any(p.get("two_holders_seen") is not False for p in pairs),
            jobs_ok=all(p.get("jobs_ok") for p in pairs),
            jobs=sum(p.get("jobs", 0) for p in pairs),
            memory_mb={
                "containers": round(sum(containers.values()), 1),
                "postgres": containers.get(pg.container),
                "per_pair": round((sum(containers.values()) - containers.get(pg.container, 0)) / size, 1),
                "ansible_peak_rss": peak_rss_mb(time_output),
            },
            ok=upgrade.returncode == 0 and all(p["ok"] for p in pairs),
            pair_results=pairs,
        )
        if upgrade.returncode != 0:
            run["error"] = f"upgrade.yml failed:\n{upgrade.stdout[-3000:]}"
    except (AssertionError, subprocess.TimeoutExpired) as exc:
        run.update(ok=False, error=str(exc)[-3000:])
    finally:
        for lab in labs:
            lab.destroy()
            pg.drop_database(lab.db)
    return run


def table(runs: list[dict[str, t.Any]]) -> str:
    rows = ["| N | batch | wall s | s/pair | ok |", "|---|---|---|---|---|"]
    for r in runs:
        wall, per_pair = r.get("wall_seconds", "—"), r.get("seconds_per_pair", "—")
        rows.append(f"| {r['pairs']} | {r['batch']} | {wall} | {per_pair} | {'yes' if r['ok'] else 'no'} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,5,20", help="fleet sizes, pairs (default 1,5,20)")
    parser.add_argument("--batches", default="1,5", help="pairs per batch, handover_serial (default 1,5)")
    args = parser.parse_args()
    sizes = sorted({int(x) for x in args.sizes.split(",")})
    batches = sorted({int(x) for x in args.batches.split(",")})
    if min(sizes) < 1 or min(batches) < 1:
        parser.error("sizes and batches are at least 1")

    parent = Path(tempfile.mkdtemp(prefix="nodeops-fleet-"))
    pg = start_lab_postgres(range(16950, 16960), "nodeops-fleet-pg")
    runs: list[dict[str, t.Any]] = []
    try:
        for size in sizes:
            for batch in sorted({min(b, size) for b in batches}):
                runs.append(measure(pg, parent, size, batch))
                print(json.dumps({k: v for k, v in runs[-1].items() if k != "pair_results"}), flush=True)
    finally:
        pg.stop()
        shutil.rmtree(parent, ignore_errors=True)

    at_goal = [r for r in runs if r["pairs"] == GOAL_PAIRS]
    result = {
        **result_head("fleet"),
        "upgrade": f"{FROM} -> {TO}, lab lease {LEASE_SECONDS:g}s / 0.5s, one PostgreSQL for the fleet",
        "sizes": sizes,
        "batches": batches,
        "runs": runs,
        "goal": GOAL,
        # None: no run of the goal's size
        "goal_met": any(r["ok"] and r["wall_seconds"] <= GOAL_SECONDS for r in at_goal) if at_goal else None,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fleet.json").write_text(json.dumps(result, indent=2) + "\n")
    print(table(runs))
    print(json.dumps({"goal": GOAL, "goal_met": result["goal_met"]}))
    return 0 if all(r["ok"] for r in runs) and result["goal_met"] is not False else 1


if __name__ == "__main__":
    sys.exit(main())
