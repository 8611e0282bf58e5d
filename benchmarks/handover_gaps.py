#!/usr/bin/env python3
# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Planned handovers at the node's DEFAULT lease settings (10 s / 1 s), through the real playbooks.

One pair of chainlink-sim containers (2.28.0) on an own PostgreSQL. One upgrade.yml to 2.29.0 (two handovers:
takeover and hand back) whose wall time is split into the nodes' own time and the orchestration overhead, then
switchover.yml over / back until --handovers handovers were measured. Each run's report gives, from the observer:

* lease gap: old holder's release -> new holder's acquisition (database clock, from the lease row);
* service gap: old instance's last /readyz 200 -> new instance's first 200, to the HTTP probe interval at each end
  (0.222 s at the node's default rate limit of 1000 requests a minute: the observer and the health gate stay within a
  third of it, docs/handover.md "Sampling and the rate limit");
* boot: new holder's acquisition -> its first /readyz 200 (the node's own boot after the lock).

Goals (issue 7): lease gap p95 <= LeaseRefreshInterval + 0.2 s; service gap <= boot + 1 s of orchestration, judged on
the part of the service gap that is neither the boot nor the standby's own poll wait (the lease gap); service gap - boot
is reported too. A further goal: no probe answered 429 (the sampling stayed inside the nodes' rate limit).
Writes benchmarks/results/handover_gaps.json and benchmarks/results/handover_overhead.json; exit 1 when a goal is missed.

    .venv/bin/python benchmarks/handover_gaps.py [--handovers 20] [--from-results]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.handover.lab import HandoverLab, start_lab_postgres  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
LEASE, REFRESH = "10s", "1s"
REFRESH_S = 1.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 3)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "min": round(min(values), 3),
        "p50": pct(values, 0.5),
        "p95": pct(values, 0.95),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


def handovers(report: dict[str, t.Any]) -> list[dict[str, float]]:
    """Per handover of a report: lease gap, service gap, boot, shutdown (old last 200 -> release), 429s seen in the run."""
    out = []
    resolution = float((report.get("sampling") or {}).get("http_interval") or 0.05)  # a /readyz answer is known to this
    rate_limited = sum((report.get("http_rate_limited") or {}).values())
    service = report["service"] or {}
    up = {name: ivs for name, ivs in (service.get("up") or {}).items()}
    app_to_name = {}
    for step in report["steps"]:
        if step["action"] == "handover":
            app_to_name[step["from_app_id"]] = step["from"]
            app_to_name[step["to_app_id"]] = step["to"]
    for tr in report["transitions"]:
        new, old = app_to_name.get(tr["to"]), app_to_name.get(tr["from"])
        acquired = tr["acquired_at"]
        first_up = min((iv["from"] for iv in up.get(new, []) if iv["from"] >= acquired - resolution), default=None)
        last_up = max((iv["to"] for iv in up.get(old, []) if iv["to"] <= acquired + resolution), default=None)
        if first_up is None or last_up is None:
            raise RuntimeError(f"report of {report['pair']} lacks /readyz answers around the handover {tr}")
        out.append(
            {
                "lease_gap": tr["lease_gap"],
                "exact": tr["exact"],
                "released": tr["released"],
                "service_gap": round(first_up - last_up, 3),
                "boot": round(first_up - acquired, 3),
                "shutdown": round(tr["released_at"] - last_up, 3) if tr["released_at"] else None,
                "http_interval": resolution,
                "run_rate_limited": rate_limited,
            }
        )
    return out


def docker_start_to_wait(container: str, since: float) -> list[float]:
    """For each start of the container after ``since``: its first log line -> its waiting line (the node's own start)."""
    logs = subprocess.run(["docker", "logs", "--timestamps", container], capture_output=True, text=True)
    starts: list[float] = []
    out: list[float] = []
    for line in (logs.stdout + logs.stderr).splitlines():
        stamp, _, text = line.partition(" ")
        try:
            at = dt.datetime.fromisoformat(stamp[:26] + "+00:00").timestamp()
        except ValueError:
            continue
        if at < since:
            continue
        if "Starting Chainlink Node" in text:
            starts.append(at)
        elif ("waiting for lease to expire" in text or "holds the advisory lock, waiting" in text) and starts:
            out.append(at - starts.pop())
            starts.clear()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handovers", type=int, default=20)
    parser.add_argument("--from-results", action="store_true", help="recompute the summaries from the raw data of the last recorded run")
    args = parser.parse_args()
    if args.from_results:
        last = json.loads((RESULTS / "handover_gaps.json").read_text())
        result = summarize(last["raw"])
        result["recorded_at"] = last["recorded_at"]
        write(result, json.loads((RESULTS / "handover_overhead.json").read_text()))
        return 0 if all(result["goals"].values()) else 1
    pg = start_lab_postgres(range(16970, 16990), "nodeops-hovbench-pg")
    workdir = Path(tempfile.mkdtemp(prefix="handover-bench-"))
    lab = HandoverLab(pg, workdir, name="hovb", ports=(16870, 16871), lease=LEASE, refresh=REFRESH)
    measured: list[dict[str, float]] = []
    try:
        lab.deploy("2.28.0")
        # -- one whole upgrade.yml: wall time vs the nodes' own time ------------------------------------------------
        began = time.time()
        run = lab.playbook("upgrade.yml", "-e", "chainlink_version=2.29.0", timeout=900)
        wall = time.time() - began
        if run.returncode != 0:
            print(run.stdout[-4000:], file=sys.stderr)
            return 1
        report = lab.latest_report("upgrade")
        per = handovers(report)
        measured += per
        starts = [s for c in lab.containers.values() for s in docker_start_to_wait(c, began)]
        node_own = sum(h["boot"] for h in per) + sum(h["shutdown"] or 0 for h in per) + sum(starts)
        idle = lab.playbook("upgrade.yml", "-e", "chainlink_version=2.29.0", timeout=300)
        overhead = {
            "what": "one upgrade.yml of one pair 2.28.0 -> 2.29.0 with hand back (5 steps), default lease settings",
            "wall_seconds": round(wall, 2),
            "role_seconds": report["seconds"],
            "nodes_own_seconds": round(node_own, 2),
            "nodes_own_parts": {
                "boots_after_lock": [h["boot"] for h in per],
                "shutdowns": [h["shutdown"] for h in per],
                "starts_to_waiting": [round(s, 3) for s in starts],
            },
            "orchestration_overhead_seconds": round(wall - node_own, 2),
            "steps": [{"phase": s["phase"], "seconds": s["seconds"]} for s in report["steps"]],
            "noop_run_seconds": round(float(lab.latest_report("upgrade")["seconds"]), 2) if idle.returncode == 0 else None,
        }
        # -- switchovers until enough planned handovers --------------------------------------------------------------
        direction = "over"
        while len(measured) < args.handovers:
            run = lab.playbook("switchover.yml", "-e", f"direction={direction}", timeout=600)
            if run.returncode != 0:
                print(run.stdout[-4000:], file=sys.stderr)
                return 1
            measured += handovers(lab.latest_report("switchover"))
            direction = "back" if direction == "over" else "over"
    finally:
        lab.destroy()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    result = summarize(measured)
    write(result, overhead)
    return 0 if all(result["goals"].values()) else 1


def summarize(measured: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    """Percentiles and goals. The service gap splits into the new node's boot, the lease gap (the standby's own poll
    phase: the node's protocol, uniform in 0 .. refresh + 10 %), and what is left: the old node's HTTP going away
    before its release plus the probes' resolution (up to one HTTP interval at each end), the only share the
    orchestration could have added."""
    lease = [h["lease_gap"] for h in measured]
    service = [h["service_gap"] for h in measured]
    boot = [h["boot"] for h in measured]
    excess = [h["service_gap"] - h["boot"] for h in measured]
    rest = [h["service_gap"] - h["boot"] - h["lease_gap"] for h in measured]
    goals = {
        "lease_gap_p95_le_refresh_plus_0_2": pct(lease, 0.95) <= REFRESH_S + 0.2,
        "service_gap_beyond_boot_and_lease_poll_p95_le_1": pct(rest, 0.95) <= 1.0,
        "no_429": all(not h.get("run_rate_limited") for h in measured),
    }
    intervals = sorted({h.get("http_interval", 0.05) for h in measured})
    return {
        "settings": {
            "lease_duration": LEASE,
            "refresh_interval": REFRESH,
            "db_interval_s": 0.05,
            "http_interval_s": intervals[0] if len(intervals) == 1 else intervals,
            "image": "nodeops-lab/chainlink-sim",
        },
        "handovers": len(measured),
        "all_graceful": all(h["released"] == "graceful" for h in measured),
        "exact_gaps": sum(1 for h in measured if h["exact"]),
        "lease_gap_s": summary(lease),
        "service_gap_s": summary(service),
        "boot_after_lock_s": summary(boot),
        "service_gap_minus_boot_s": summary(excess),
        "service_gap_minus_boot_minus_lease_gap_s": summary(rest),
        "goals": goals,
        "raw": measured,
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def write(result: dict[str, t.Any], overhead: dict[str, t.Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "handover_gaps.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "handover_overhead.json").write_text(json.dumps(overhead, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "raw"}, indent=2))
    print(json.dumps(overhead, indent=2))


if __name__ == "__main__":
    sys.exit(main())
