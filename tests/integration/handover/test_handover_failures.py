# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Handovers that go wrong, through the real upgrade.yml / switchover.yml against chainlink-sim containers.

One pair is deployed for the module (2.28.0, lease 3s / refresh 0.5s) and the tests run in file order, each leaving
the pair in the state the next one starts from (which each test checks first): --check and a refused target ->
bad standby config -> crash of the target at boot -> primary killed mid-upgrade, then resumed (a second run on the
same pair is refused while the resumed one runs) -> an interrupted switchover resumed. A job producer runs throughout
every handover; afterwards every job must have been completed exactly once, by the instance that held the lease at
that moment.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.handover.lab import HandoverLab
from tests.support.waiting import wait_until

OLD, NEW = "2.28.0", "2.29.0"
ENV_REFUSE = '{"handover_env_extra": {"SIM_REFUSE_START": "1"}, "handover_standby_timeout": 15}'
ENV_CRASH = '{"handover_env_extra": {"SIM_CRASH_AT_BOOT": "1"}}'


@pytest.fixture(scope="module")
def pair(lab: HandoverLab) -> HandoverLab:
    lab.deploy(OLD)
    return lab


def primary_state(lab: HandoverLab) -> tuple[str | None, str | None]:
    info = lab.inspect("primary")
    return info.get("State", {}).get("StartedAt"), info.get("Config", {}).get("Image")


def test_check_mode_plans_and_a_missing_target_image_is_refused_unchanged(pair: HandoverLab) -> None:
    before = {role: pair.inspect(role)["State"]["StartedAt"] for role in ("primary", "secondary")}
    plan = pair.playbook("upgrade.yml", "-e", f"chainlink_version={NEW}", "--check")
    assert plan.returncode == 0, plan.stdout[-3000:]
    assert "check mode: nothing will change" in plan.stdout
    assert f"1. start secondary ({pair.containers['secondary']}) on {NEW} and prove it waits for the lock" in plan.stdout
    assert "4. stop secondary gracefully" in plan.stdout
    assert "changed=0" in plan.stdout
    missing = pair.playbook("upgrade.yml", "-e", "chainlink_version=2.99.0")
    assert missing.returncode != 0
    assert "nodeops-lab/chainlink-sim:2.99.0" in missing.stdout and "nothing was changed" in missing.stdout.lower()
    assert {role: pair.inspect(role)["State"]["StartedAt"] for role in ("primary", "secondary")} == before


def test_standby_that_never_waits_leaves_the_primary_untouched(pair: HandoverLab) -> None:
    before = primary_state(pair)
    holder_before = pair.lock()["holder"]
    with pair.producer() as producer:
        # continue_on_failure: the pair is left safe without failing its host; the summary play fails the run.
        run = pair.playbook("upgrade.yml", "-e", f"chainlink_version={NEW}", "-e", ENV_REFUSE, "-e", "continue_on_failure=true")
    assert run.returncode != 0
    out = run.stdout
    assert 'did not reach "waiting" on 2.29.0' in out
    assert "The active instance was not touched" in out
    assert "then run the playbook again: it resumes from here" in out
    assert f"Pairs left in a safe state but not done: {pair.name}" in out
    assert (pair.reports / "retry.txt").read_text().split() == [pair.name]
    # The primary is the same process (same start, same image), still holding the lease; the broken standby is stopped.
    assert primary_state(pair) == before
    assert pair.lock()["holder"] == holder_before
    assert not pair.running("secondary")
    report = pair.latest_report("upgrade")
    assert report["outcome"] == "failed"
    assert report["transitions"] == [] and report["two_holders_seen"] is False
    assert report["state_after"]["instances"]["primary"]["state"] == "active"
    pair.check_jobs(producer.ids, [report])


def test_target_crashing_at_boot_puts_the_old_primary_back(pair: HandoverLab) -> None:
    assert pair.running("primary") and pair.image("primary") == f"nodeops-lab/chainlink-sim:{OLD}"
    with pair.producer() as producer:
        run = pair.playbook("upgrade.yml", "-e", f"chainlink_version={NEW}", "-e", ENV_CRASH)
    assert run.returncode != 0
    assert "takeover primary -> secondary failed" in run.stdout
    assert "primary took the lock back on 2.28.0" in run.stdout
    report = pair.latest_report("upgrade")
    assert report["outcome"] == "failed"
    after = report["state_after"]["instances"]
    assert after["primary"]["state"] == "active" and after["primary"]["version"] == OLD
    assert after["secondary"]["state"] == "stopped"
    # The database saw: primary released -> the secondary took the lock and crashed, leaving its lease to expire (Docker's
    # restart policy may have restarted it to crash again before it was stopped) -> the restarted primary.
    released = [tr["released"] for tr in report["transitions"]]
    assert released[0] == "graceful" and set(released[1:]) == {"expired"}
    assert report["transitions"][-1]["to"] == after["primary"]["app_id"]
    assert {tr["to_version"] for tr in report["transitions"][:-1]} <= {NEW, None}  # a holder may crash before its sessions are seen
    assert report["two_holders_seen"] is False
    assert pair.lock()["db_version"] == OLD  # the crash came before any migration
    pair.check_jobs(producer.ids, [report])


def test_primary_killed_mid_upgrade_ends_safe_and_resumes(pair: HandoverLab) -> None:
    assert pair.running("primary") and pair.image("primary") == f"nodeops-lab/chainlink-sim:{OLD}"
    with pair.producer() as producer:
        proc = pair.start_playbook("upgrade.yml", "-e", f"chainlink_version={NEW}")
        # Once the standby runs on the target, SIGKILL the active primary (no lease release).
        wait_until(lambda: pair.running("secondary") and pair.image("secondary") == f"nodeops-lab/chainlink-sim:{NEW}", 120, "the standby on 2.29.0")
        killed = pair.lock()["holder"]
        assert subprocess.run(["docker", "kill", "-s", "KILL", pair.containers["primary"]], capture_output=True, check=False).returncode == 0
        proc.wait(timeout=280)
        first = pair.latest_report("upgrade")
        # Whatever step the kill hit, the run ended with one instance active and said what happened.
        assert first["two_holders_seen"] is False
        expired = [tr for tr in first["transitions"] if tr["from"] == killed]
        assert expired and expired[0]["released"] == "expired"
        assert 0 <= expired[0]["lease_gap"] <= 3.0 + 1.0  # the takeover waited for the lease to run out (3 s lease)
        assert [i["state"] for i in first["state_after"]["instances"].values()].count("active") == 1
        # Run again: it resumes from where the pair stands and finishes the upgrade. While it runs, any other run that
        # changes the same pair is refused by the pair's guard (taken before the observer starts, held for the whole
        # run) and changes nothing: an upgrade without an observer, and a deploy.
        meta = Path.home() / ".ansible" / "nodeops_chainlink" / "observer" / f"{pair.name}.json"
        before = meta.stat().st_mtime if meta.exists() else 0.0
        resumed = pair.start_playbook("upgrade.yml", "-e", f"chainlink_version={NEW}")
        wait_until(lambda: meta.exists() and meta.stat().st_mtime > before, 120, "the resumed run's observer (after its guard)")
        with ThreadPoolExecutor(2) as runs:  # side by side, well inside the resumed run
            others = [
                runs.submit(pair.playbook, "upgrade.yml", "-e", f"chainlink_version={NEW}", "-e", "handover_observe=false"),
                runs.submit(pair.playbook, "deploy.yml"),
            ]
        for refused in (run.result() for run in others):
            assert refused.returncode != 0
            assert f"another run is changing the pair of '{pair.name}'" in refused.stdout, refused.stdout[-3000:]
            assert "nodeops.chainlink pair_guard" in refused.stdout
        assert resumed.poll() is None, "the refused runs ended while the resumed one still ran"
        assert resumed.wait(timeout=280) == 0
    # The resumed run's report: the last one begun, apart from the refused run's
    second = [r for r in pair.reports_of("upgrade") if "another run is changing" not in json.dumps(r["failure"])][-1]
    assert second["outcome"] == "ok"
    assert second["versions_after"] == {"primary": NEW, "secondary": NEW}
    assert second["state_after"]["instances"]["primary"]["state"] == "active"
    assert "start_standby" not in [s["phase"] for s in second["steps"]] or first["outcome"] == "failed"
    pair.check_jobs(producer.ids, [first, second])


def test_interrupted_switchover_resumes_where_it_stopped(pair: HandoverLab) -> None:
    assert pair.image("primary") == f"nodeops-lab/chainlink-sim:{NEW}"
    with pair.producer() as producer:
        proc = pair.start_playbook("switchover.yml")
        # Interrupt the controller (SIGKILL to the whole run: no rescue, no report) right after the takeover,
        # before the old primary is brought back as the standby.
        wait_until(lambda: not pair.running("primary"), 120, "the primary to be stopped by the switchover")
        wait_until(lambda: pair.lock()["holder"] is not None and not pair.running("primary"), 30, "the secondary to take the lock")
        pair.interrupt(proc)
        assert not pair.running("primary")
        # The guard (and observer) of the killed run end by themselves, so they do not block the resumed run.
        run = pair.playbook("switchover.yml")
        assert run.returncode == 0, run.stdout[-3000:]
        report = pair.latest_report("switchover")
        assert [s["phase"] for s in report["steps"]][-1] == "restart_old"
        assert "takeover" not in [s["phase"] for s in report["steps"]]
        assert report["state_after"]["instances"]["secondary"]["state"] == "active"
        assert report["state_after"]["instances"]["primary"]["state"] == "waiting"
        # A third run has nothing left to do and changes nothing.
        again = pair.playbook("switchover.yml")
    assert again.returncode == 0
    assert "changed=0" in again.stdout
    assert pair.latest_report("switchover")["steps"] == []
    pair.check_jobs(producer.ids, [report])
