# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The handover's /readyz sampling against chainlink-sim's rate limiter, through the real playbooks.

One pair (chainlink-sim containers, lease 3s / refresh 500ms) whose nodes allow only 60 authenticated requests per
10 s per client (``WebServer.RateLimit`` in ``chainlink_config_extra``), so every run crosses the limiter's window
several times while the observer probes both instances and the health gate polls the new holder. The tests run in
file order: a whole upgrade (two handovers), then a switchover over that leaves the primary waiting with a 12 s boot
(``SIM_BOOT_DELAY``), and the long switchover back onto it. Each report must show no 429 and no unknown answer, and
service gaps that agree with what the steps, the lock and the containers' own logs say, to the sampling interval.
"""

from __future__ import annotations

import datetime as dt
import json
import stat
import subprocess
import typing as t

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils._observer import http_budget
from tests.integration.handover.lab import HandoverLab
from tests.support.observer import readyz
from tests.support.postgres import PostgresServer

OLD, NEW = "2.28.0", "2.29.0"
LIMIT, PERIOD = 60, 10.0
RATE = {"chainlink_config_extra": {"WebServer": {"RateLimit": {"Authenticated": LIMIT, "AuthenticatedPeriod": f"{PERIOD:g}s"}}}}
BOOT_DELAY = 12.0
BUDGET = http_budget(LIMIT, PERIOD)
SLOW_BOOT = json.dumps({"handover_env_extra": {"SIM_BOOT_DELAY": f"{BOOT_DELAY:g}s"}})
SLACK = 0.4  # seconds: log timestamps, task timestamps and the observer's probes come from three processes on a busy host

# A deploy and a whole upgrade through Ansible on a 2-CPU host shared with other suites take minutes
pytestmark = pytest.mark.timeout(900)
RUN_TIMEOUT = 600


@pytest.fixture(scope="module")
def pair(handover_pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[HandoverLab]:
    lab = HandoverLab(handover_pg, tmp_path_factory.mktemp("handover-rate"), name="hovrate", ports=(16860, 16861))
    try:
        lab.write_inventory(OLD, RATE)
        run = lab.playbook("deploy.yml", timeout=RUN_TIMEOUT)
        assert run.returncode == 0, f"deploy.yml failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
        yield lab
    finally:
        lab.destroy()


def log_times(lab: HandoverLab, role: str, text: str) -> list[float]:
    """Epoch times of the container's log lines containing ``text`` (Docker's own timestamps)."""
    out = subprocess.run(["docker", "logs", "--timestamps", lab.containers[role]], capture_output=True, text=True, check=True)
    times = []
    for line in (out.stdout + out.stderr).splitlines():
        stamp, _sep, rest = line.partition(" ")
        if text in rest:
            times.append(dt.datetime.fromisoformat(stamp[:26] + "+00:00").timestamp())
    return times


def check_rate_and_gaps(report: dict[str, t.Any]) -> list[tuple[dict[str, t.Any], dict[str, t.Any]]]:
    """The checks every run shares; returns each handover step with its service gap."""
    assert report["outcome"] == "ok", report["failure"]
    assert report["http_rate_limited"] == {"primary": 0, "secondary": 0}, report["observer"]["samples"]
    assert report["http_unknown"] == {"primary": 0, "secondary": 0}, report["observer"]["samples"]
    sampling = report["sampling"]
    assert (sampling["rate_limit"], sampling["rate_period"], sampling["rate_source"]) == (LIMIT, PERIOD, "config")
    assert (sampling["http_interval"], sampling["gate_delay"], sampling["db_interval"]) == (BUDGET["observer_interval"], BUDGET["gate_delay"], 0.05)
    samples = report["observer"]["samples"]
    for role in ("primary", "secondary"):  # every probe was within the budget: no more than the run's length allows
        assert samples["http_samples"][role] <= report["seconds"] / BUDGET["observer_interval"] + 1, samples
    steps = [s for s in report["steps"] if s["action"] == "handover"]
    gaps = report["service"]["gaps"]
    assert len(gaps) == len(steps) == len(report["transitions"]), (gaps, steps)
    for step, gap, transition in zip(steps, gaps, report["transitions"], strict=True):
        assert (gap["before"], gap["after"]) == (step["from"], step["to"])
        # Exact from the lease row, or an upper bound when release and take-over fell between two database samples
        assert transition["released"] == "graceful", transition
        assert transition["lease_gap"] <= 1.0, transition  # refresh 500 ms: the standby polls twice a second
        # The old instance stops serving once stopped: its last 200 lies between one probe before the stop and its end.
        assert step["started_at"] - BUDGET["observer_interval"] - SLACK <= gap["from"] <= step["stopped_at"] + SLACK, (gap, step)
        # The new one serves only once it holds the lock, and the observer sees it within one probe of the gate's 200.
        assert transition["acquired_at"] - SLACK <= gap["to"] <= step["ready_at"] + BUDGET["observer_interval"] + SLACK, (gap, step, transition)
        assert gap["seconds"] >= transition["lease_gap"] - SLACK
    return list(zip(steps, gaps, strict=True))


def test_whole_upgrade_stays_inside_the_rate_limit(pair: HandoverLab) -> None:
    run = pair.playbook("upgrade.yml", "-e", f"chainlink_version={NEW}", timeout=RUN_TIMEOUT)
    assert run.returncode == 0, run.stdout[-5000:]
    report = pair.latest_report("upgrade")
    assert report["versions_after"] == {"primary": NEW, "secondary": NEW}
    assert report["seconds"] > 2 * PERIOD  # the limiter's window was crossed several times
    for _step, gap in check_rate_and_gaps(report):
        assert gap["seconds"] <= 5.0  # no boot delay: the lease gap, the boot and the sampling interval
    # reports hold app IDs, URLs' hosts and failure texts: only the operator reads them
    assert stat.S_IMODE(pair.reports.stat().st_mode) == 0o700
    assert {stat.S_IMODE(f.stat().st_mode) for f in pair.reports.glob("*.json")} == {0o600}


def test_switchover_over_leaves_a_slow_booting_standby(pair: HandoverLab) -> None:
    pair.write_inventory(NEW, RATE)
    run = pair.playbook("switchover.yml", "-e", SLOW_BOOT, timeout=RUN_TIMEOUT)
    assert run.returncode == 0, run.stdout[-5000:]
    check_rate_and_gaps(pair.latest_report("switchover"))
    assert pair.lock()["holder"] is not None and pair.running("primary") and pair.running("secondary")


def test_long_switchover_back_has_no_429_and_the_gap_the_logs_show(pair: HandoverLab) -> None:
    # restart_old=false: the secondary stays stopped afterwards, so its container (and log) is the one that served.
    run = pair.playbook("switchover.yml", "-e", "direction=back", "-e", SLOW_BOOT, "-e", "handover_restart_old=false", timeout=RUN_TIMEOUT)
    assert run.returncode == 0, run.stdout[-5000:]
    report = pair.latest_report("switchover")
    assert report["direction"] == "back"
    assert report["seconds"] > BOOT_DELAY + PERIOD
    ((step, gap),) = check_rate_and_gaps(report)
    assert (step["from"], step["to"]) == ("secondary", "primary")
    assert step["ready_attempts"] >= 1
    # The gap the containers' logs show: the secondary's web server stops at its shutdown line, the primary's starts
    # at its listening line after the 12 s boot; the observer's gap matches it to one probe interval at each end.
    stopped = max(t for t in log_times(pair, "secondary", "Shutting down due to") if t <= step["stopped_at"] + SLACK)
    listening = min(t for t in log_times(pair, "primary", "Listening and serving HTTP") if t >= step["started_at"])
    assert listening - stopped >= BOOT_DELAY
    assert stopped - BUDGET["observer_interval"] - SLACK <= gap["from"] <= stopped + SLACK, (gap, stopped)
    assert listening - SLACK <= gap["to"] <= listening + BUDGET["observer_interval"] + SLACK, (gap, listening)
    assert abs(gap["seconds"] - (listening - stopped)) <= 2 * BUDGET["observer_interval"] + SLACK
    # The limiter is live in these containers: a burst beyond the limit is refused, so the zero above means something.
    assert 429 in [readyz(f"http://127.0.0.1:{pair.ports[0]}/readyz") for _attempt in range(LIMIT + 5)]
