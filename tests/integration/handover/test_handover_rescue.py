# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The handover's way back to a safe state when a takeover fails, and the next run after a run died in it.

One pair on 2.28.0 (lease 3s / refresh 0.5s); the tests run in file order, each starting where the previous one left
the pair: a standby that crashes once at boot and comes back under a new app ID, then takes the lock -> the rescue
sees it as the holder by its current app ID and never stops it; the next run finishes the upgrade -> both instances
stopped (a run that died between stopping one and starting the other) -> the next run restores service first. A job
producer runs throughout; every job must be completed exactly once, by the holder of its moment.
"""

from __future__ import annotations

import subprocess
import typing as t

import pytest

from tests.integration.handover.lab import HandoverLab
from tests.support.postgres import PostgresServer

OLD, NEW = "2.28.0", "2.29.0"


@pytest.fixture(scope="module")
def pair(handover_pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[HandoverLab]:
    lab = HandoverLab(handover_pg, tmp_path_factory.mktemp("handover-rescue"), name="hovres", ports=(16862, 16863))
    try:
        lab.deploy(OLD)
        yield lab
    finally:
        lab.destroy()


def test_restarted_standby_that_took_the_lock_is_never_stopped(pair: HandoverLab) -> None:
    with pair.producer() as producer:
        # The new secondary takes the lock, crashes once (releasing nothing) and Docker restarts it under a new app ID;
        # it takes the lock again when the crashed run's lease runs out and boots. The app ID it waited with is gone.
        run = pair.playbook("upgrade.yml", "-e", f"chainlink_version={NEW}", "-e", '{"handover_env_extra": {"SIM_CRASH_AT_BOOT": "once"}}')
        assert run.returncode != 0
        assert "takeover primary -> secondary failed" in run.stdout, run.stdout[-3000:]
        assert "secondary holds the lock (by its current app ID)" in run.stdout
        report = pair.latest_report("upgrade")
        assert report["failure"]["rescue"] == "to_holds"
        # The holder was left running (never stopped after its restart) and the old primary waits as the standby.
        assert pair.running("secondary") and pair.inspect("secondary")["RestartCount"] == 1
        holder = pair.lock()["holder"]
        assert holder is not None and holder == pair.booted_app_id("secondary")
        after = report["state_after"]["instances"]
        assert after["secondary"]["state"] == "active" and after["secondary"]["app_id"] == holder
        assert after["primary"]["state"] == "waiting" and after["primary"]["version"] == OLD
        assert report["two_holders_seen"] is False
        # One re-run finishes the upgrade from there.
        again = pair.playbook("upgrade.yml", "-e", f"chainlink_version={NEW}")
        assert again.returncode == 0, again.stdout[-3000:]
    done = pair.latest_report("upgrade")
    assert done["outcome"] == "ok" and done["versions_after"] == {"primary": NEW, "secondary": NEW}
    assert [s["phase"] for s in done["steps"]][0] == "start_standby"
    pair.check_jobs(producer.ids, [report, done])


def test_pair_left_with_no_active_instance_is_restored_first(pair: HandoverLab) -> None:
    # A run that died inside a rescue, between stopping one instance and starting the other, leaves both stopped.
    for role in ("secondary", "primary"):
        assert subprocess.run(["docker", "stop", pair.containers[role]], capture_output=True, check=False).returncode == 0
    with pair.producer() as producer:
        run = pair.playbook("upgrade.yml", "-e", f"chainlink_version={NEW}")
        assert run.returncode == 0, run.stdout[-3000:]
    assert "no instance holds the lock or waits for it" in run.stdout
    report = pair.latest_report("upgrade")
    assert report["outcome"] == "ok"
    assert [(s["phase"], s.get("instance")) for s in report["steps"]] == [("restore", "primary"), ("start_standby", "secondary")]
    after = report["state_after"]["instances"]
    assert after["primary"]["state"] == "active" and after["secondary"]["state"] == "waiting"
    assert report["two_holders_seen"] is False
    pair.check_jobs(producer.ids, [report])
