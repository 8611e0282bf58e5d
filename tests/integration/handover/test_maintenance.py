# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The maintenance procedures of docs/maintenance.md that are not an upgrade, through the real playbooks.

One 2.29.0 pair (chainlink-sim containers, lease 3s / refresh 0.5s) on its own database, its instances on two
inventory Docker hosts (the procedure's "two machines"; the other handover tests and Molecule's upgrade scenarios use one
host, its "one machine"). The tests run in file order,
each starting from "primary active, secondary waiting" (which each checks first) and ending there:

- restart the machine of the active instance: ``switchover.yml -e restart_old=false`` leaves the old primary stopped
  on purpose (status.yml says so, a second run changes nothing); ``switchover.yml -e direction=back`` is refused
  unchanged while the image is missing, leaves the secondary serving untouched while the primary refuses to start,
  and once the cause is gone starts the primary, proves it waiting and hands the lock back;
- failback after an unplanned failover: the primary is killed with SIGKILL, the secondary takes the lock on its own
  when the lease expires, and ``switchover.yml -e direction=back`` starts the primary and gives it the lock back.

Throughout, a job producer feeds the pair and a 0.12 s observer (tests/support/observer.py) samples the lease and the
instances answering /readyz: never two holders, and the holders seen are exactly the ones each procedure names.
"""

from __future__ import annotations

import subprocess
import time
import typing as t

import pytest

from tests.integration.handover.lab import HandoverLab
from tests.support.observer import LockObserver
from tests.support.postgres import PostgresServer
from tests.support.waiting import wait_until

VERSION = "2.29.0"
MISSING_IMAGE = "nodeops-lab/chainlink-sim-missing"
ENV_REFUSE = '{"handover_env_extra": {"SIM_REFUSE_START": "1"}, "handover_standby_timeout": 15}'

# A deploy and two switchovers through Ansible on a 2-CPU host shared with other suites take minutes
pytestmark = pytest.mark.timeout(900)
RUN_TIMEOUT = 600


@pytest.fixture(scope="module")
def pair(handover_pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[HandoverLab]:
    lab = HandoverLab(handover_pg, tmp_path_factory.mktemp("handover-maint"), name="hovmaint", ports=(16854, 16855), two_hosts=True)
    try:
        lab.write_inventory(VERSION)
        run = lab.playbook("deploy.yml", timeout=RUN_TIMEOUT)
        assert run.returncode == 0, f"deploy.yml failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
        yield lab
    finally:
        lab.destroy()


def observe(lab: HandoverLab) -> LockObserver:
    return LockObserver(lab.connect, nodes=lab.serving(), interval=0.12)


def in_normal_operation(lab: HandoverLab) -> str:
    """Primary active (holds the lease, booted), secondary running and waiting; returns the primary's app ID."""
    assert lab.running("primary") and lab.running("secondary")
    app_id = lab.booted_app_id("primary")
    assert app_id and lab.lock()["holder"] == app_id
    return app_id


def switchover(lab: HandoverLab, *args: str) -> subprocess.CompletedProcess[str]:
    run = lab.playbook("switchover.yml", *args, timeout=RUN_TIMEOUT)
    assert run.returncode == 0, f"switchover.yml {' '.join(args)} failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
    return run


def phases(report: dict[str, t.Any]) -> list[str]:
    return [f"{s['phase']} {s.get('instance') or s['from'] + '->' + s['to']}" for s in report["steps"]]


def states(report: dict[str, t.Any]) -> dict[str, str]:
    return {name: info["state"] for name, info in report["state_after"]["instances"].items()}


def test_restart_the_machine_of_the_active_instance_in_two_commands(pair: HandoverLab) -> None:
    first_primary = in_normal_operation(pair)
    with pair.producer() as producer, observe(pair) as obs:
        # Command 1: the lock to the secondary, the primary stopped gracefully and left stopped.
        switchover(pair, "-e", "restart_old=false")
        away = pair.latest_report("switchover")
        assert away["outcome"] == "ok" and phases(away) == ["takeover primary->secondary"]
        assert states(away) == {"primary": "stopped", "secondary": "active"}
        assert away["steps"][0]["old_exit_code"] == 0 and away["steps"][0]["old_graceful"] is True
        assert [tr["released"] for tr in away["transitions"]] == ["graceful"]
        secondary = pair.booted_app_id("secondary")
        assert secondary and pair.lock()["holder"] == secondary
        assert pair.inspect("primary")["State"]["Status"] == "exited"

        # The state in between: one instance active, the other stopped on purpose, and status.yml says so.
        status = pair.playbook("status.yml", timeout=RUN_TIMEOUT)
        assert status.returncode == 0, status.stdout[-3000:]
        assert f"{pair.name}: active secondary ({pair.containers['secondary']}, {VERSION}, app {secondary})" in status.stdout
        assert "standby not connected" in status.stdout and "flags: standby_missing" in status.stdout
        # Running the first command again (say, after a lost terminal) changes nothing: the primary stays stopped.
        again = switchover(pair, "-e", "restart_old=false")
        assert "changed=0" in again.stdout and "nothing to do" in again.stdout
        assert pair.latest_report("switchover")["steps"] == [] and not pair.running("primary")
        # The machine's maintenance: the primary's container stays down meanwhile and the secondary serves alone.
        time.sleep(2)
        assert not pair.running("primary") and pair.lock()["holder"] == secondary

        serving_since = pair.inspect("secondary")["State"]["StartedAt"]
        # The machine came back without the image: command 2 refuses at its plan, naming it, and changes nothing.
        missing = pair.playbook("switchover.yml", "-e", "direction=back", "-e", f"chainlink_image={MISSING_IMAGE}", timeout=RUN_TIMEOUT)
        assert missing.returncode != 0
        assert f"{MISSING_IMAGE}:{VERSION}" in missing.stdout and "nothing was changed" in missing.stdout.lower()
        assert not pair.running("primary") and pair.lock()["holder"] == secondary
        # The primary refuses to start after its maintenance: command 2 stops it again, the secondary is never touched.
        broken = pair.playbook("switchover.yml", "-e", "direction=back", "-e", ENV_REFUSE, timeout=RUN_TIMEOUT)
        assert broken.returncode != 0
        assert 'did not reach "waiting"' in broken.stdout and "The active instance was not touched" in broken.stdout
        failed = pair.latest_report("switchover")
        assert failed["outcome"] == "failed" and states(failed) == {"primary": "stopped", "secondary": "active"}
        assert not pair.running("primary") and pair.lock()["holder"] == secondary
        assert pair.inspect("secondary")["State"]["StartedAt"] == serving_since

        # Command 2, the cause fixed: start the primary, prove it waiting, hand the lock back, the secondary back as the standby.
        switchover(pair, "-e", "direction=back")
        back = pair.latest_report("switchover")
    assert back["outcome"] == "ok"
    assert phases(back) == ["start_standby primary", "takeover secondary->primary", "restart_old secondary"]
    assert states(back) == {"primary": "active", "secondary": "waiting"}
    assert [tr["released"] for tr in back["transitions"]] == ["graceful"]
    primary = in_normal_operation(pair)
    assert back["state_after"]["instances"]["primary"]["app_id"] == primary
    # The lock went primary -> secondary -> (restarted) primary, never two at once, and every job ran exactly once.
    obs.assert_never_two_holders()
    assert obs.holders() == [first_primary, secondary, primary]
    assert away["two_holders_seen"] is False and back["two_holders_seen"] is False
    pair.check_jobs(producer.ids, [away, failed, back])


def test_failback_after_the_primary_was_killed(pair: HandoverLab) -> None:
    killed = in_normal_operation(pair)
    secondary = None
    with pair.producer() as producer, observe(pair) as obs:
        # The unplanned failure: SIGKILL, no lease release. Docker's restart policy does not restart a killed container.
        assert subprocess.run(["docker", "kill", "-s", "KILL", pair.containers["primary"]], capture_output=True, check=False).returncode == 0
        # The secondary takes over on its own once the lease runs out (3 s lease, 0.5 s polls).
        wait_until(lambda: pair.lock()["holder"] not in (None, killed), 30, "the secondary to take the expired lease")
        secondary = pair.lock()["holder"]
        wait_until(lambda: pair.booted_app_id("secondary") == secondary, 30, "the secondary's booted line")
        killed_state = pair.inspect("primary")["State"]
        assert killed_state["Status"] == "exited" and killed_state["ExitCode"] == 137

        # One command: start the primary, prove it waits, hand the lock back gracefully, secondary back as the standby.
        switchover(pair, "-e", "direction=back")
        report = pair.latest_report("switchover")
    assert report["outcome"] == "ok"
    assert report["state_before"]["instances"]["primary"]["state"] == "stopped"
    assert report["state_before"]["instances"]["secondary"]["state"] == "active"
    assert phases(report) == ["start_standby primary", "takeover secondary->primary", "restart_old secondary"]
    assert states(report) == {"primary": "active", "secondary": "waiting"}
    assert [tr["released"] for tr in report["transitions"]] == ["graceful"]
    primary = in_normal_operation(pair)
    assert primary != killed
    # The observer saw the failover by expiry (no two holders while the killed lease ran out) and the graceful failback.
    obs.assert_never_two_holders()
    assert obs.holders() == [killed, secondary, primary]
    assert report["two_holders_seen"] is False
    pair.check_jobs(producer.ids, [report])
    # Nothing is left to do: a second failback changes nothing.
    again = switchover(pair, "-e", "direction=back")
    assert "changed=0" in again.stdout and pair.latest_report("switchover")["steps"] == []


# A configuration change as operators make it: the log level and one web server setting, first with a typo the node
# refuses at boot, then corrected.
TYPO = {"chainlink_log_level": "debug", "chainlink_config_extra": {"WebServer": {"HTTPWriteTimout": "20s"}}}
FIXED = {"chainlink_log_level": "debug", "chainlink_config_extra": {"WebServer": {"HTTPWriteTimeout": "20s"}}}


def flat(text: str) -> str:
    """Ansible's output with the callback's line wrapping undone."""
    return " ".join(text.split())


def config_text(lab: HandoverLab, role: str) -> str:
    return (lab.workdir / "cfg" / lab.docker_hosts[role] / lab.containers[role] / "config.toml").read_text()


def test_configuration_change_rolled_out_through_the_handover(pair: HandoverLab) -> None:
    first_primary = in_normal_operation(pair)
    started = {role: pair.inspect(role)["State"]["StartedAt"] for role in pair.containers}
    pair.write_inventory(VERSION, TYPO)

    # deploy.yml refuses to restart the running pair, names what differs and the command that rolls it out.
    refused = pair.playbook("deploy.yml", timeout=RUN_TIMEOUT)
    assert refused.returncode != 0
    assert "config.toml: Log.Level" in flat(refused.stdout) and "config.toml: WebServer.HTTPWriteTimout" in flat(refused.stdout)
    assert "playbooks/reconfigure.yml" in flat(refused.stdout) and "Nothing was changed" in flat(refused.stdout)
    # status.yml flags it, by name, and --check prints per instance what differs and the steps, changing nothing.
    status = pair.playbook("status.yml", timeout=RUN_TIMEOUT)
    assert status.returncode == 0 and "settings_differ" in status.stdout, status.stdout[-3000:]
    assert "primary differs from the inventory: config.toml: Log.Level; config.toml: WebServer.HTTPWriteTimout" in flat(status.stdout)
    check = pair.playbook("reconfigure.yml", "--check", timeout=RUN_TIMEOUT)
    assert check.returncode == 0, check.stdout[-4000:]
    for role in ("primary", "secondary"):
        assert f"{role} differs from the inventory: config.toml: Log.Level; config.toml: WebServer.HTTPWriteTimout" in flat(check.stdout)
    assert f"1. restart secondary ({pair.containers['secondary']}) on {VERSION} and prove it waits" in flat(check.stdout)
    assert "the standby must wait on 2.29.0 with the inventory" in flat(check.stdout)  # YAML doubles the apostrophe
    assert {role: pair.inspect(role)["State"]["StartedAt"] for role in pair.containers} == started

    with pair.producer() as producer, observe(pair) as obs:
        # The typo: the standby refuses to boot with it; it is stopped, the active instance is never touched.
        broken = pair.playbook("reconfigure.yml", "-e", "handover_standby_timeout=15", timeout=RUN_TIMEOUT)
        assert broken.returncode != 0
        assert 'did not reach "waiting"' in broken.stdout and "The active instance was not touched" in broken.stdout
        assert "with the inventory's changed settings (config.toml: Log.Level; config.toml: WebServer.HTTPWriteTimout)" in flat(broken.stdout)
        failed = pair.latest_report("reconfigure")
        assert failed["outcome"] == "failed" and states(failed) == {"primary": "active", "secondary": "stopped"}
        assert pair.inspect("primary")["State"]["StartedAt"] == started["primary"] and pair.lock()["holder"] == first_primary

        # Corrected: one command restarts the standby with the new settings, hands over, restarts the old one, hands back.
        pair.write_inventory(VERSION, FIXED)
        run = pair.playbook("reconfigure.yml", timeout=RUN_TIMEOUT)
        assert run.returncode == 0, f"reconfigure.yml failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
        report = pair.latest_report("reconfigure")
    assert report["outcome"] == "ok"
    assert phases(report) == [
        "start_standby secondary", "takeover primary->secondary", "restart_old primary", "hand_back secondary->primary", "restart_old secondary",
    ]  # fmt: skip
    # What differed, by name: the primary still ran the old settings; the failed run had written the typo to the
    # stopped secondary's file, so it is named on its way out.
    wanted = ["config.toml: Log.Level", "config.toml: WebServer.HTTPWriteTimeout"]
    assert report["state_before"]["instances"]["primary"]["changes"] == wanted
    assert report["state_before"]["instances"]["secondary"]["changes"] == ["config.toml: WebServer.HTTPWriteTimeout", "config.toml: WebServer.HTTPWriteTimout"]
    assert [s.get("changes") for s in report["steps"]] == [report["state_before"]["instances"]["secondary"]["changes"], None, wanted, None, []]
    assert {name: info["changes"] for name, info in report["state_after"]["instances"].items()} == {"primary": [], "secondary": []}
    assert states(report) == {"primary": "active", "secondary": "waiting"}
    assert [tr["released"] for tr in report["transitions"]] == ["graceful", "graceful"]
    # Same version, new settings, in the files both instances run with (restarted since).
    assert {name: info["version"] for name, info in report["state_after"]["instances"].items()} == {"primary": VERSION, "secondary": VERSION}
    for role in pair.containers:
        assert 'Level = "debug"' in config_text(pair, role) and 'HTTPWriteTimeout = "20s"' in config_text(pair, role)
        assert pair.inspect(role)["State"]["StartedAt"] != started[role]
    primary = in_normal_operation(pair)
    obs.assert_never_two_holders()
    assert obs.holders()[0] == first_primary and obs.holders()[-1] == primary and len(obs.holders()) == 3
    assert report["two_holders_seen"] is False
    pair.check_jobs(producer.ids, [failed, report])
    # status.yml: nothing differs any more.
    after = pair.playbook("status.yml", timeout=RUN_TIMEOUT)
    assert after.returncode == 0 and "settings: as in the inventory" in flat(after.stdout) and "settings_differ" not in after.stdout
