# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""No secret of the inventory shows at -vvv, in the reports, in docker inspect or in the process list.

Two pairs of chainlink-sim containers on an own PostgreSQL (ports 17920-17929), HTTP ports 17900-17903:
- 2.x (TOML): deploy, an upgrade whose standby fails at start with a raw log line quoting a URL with its password,
  then the upgrade that resumes, all at -vvv --diff, while the process list is sampled (the observer runs throughout).
  chainlink_config_extra holds RPC URLs with an API key and a password, as operators' often do.
- 1.x (environment configuration, DATABASE_URL in the container's environment): deploy, status and a switchover at
  -vvv (the tasks that read, stop and start its container).
The secrets: the nodes' database password (a login of its own: the PostgreSQL admin password is shared with other
tests' containers, so the process list is checked for it only through the nodes' login), the admin password (output,
reports, docker inspect), the keystore password, the API password, the RPC URLs' key and password.
"""

from __future__ import annotations

import json
import stat
import subprocess
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.nodeops.chainlink.plugins.modules import log_wait
from tests.integration.handover.lab import VENV_BIN, HandoverLab, ansible_env, start_lab_postgres
from tests.support.ansible_module import run_module
from tests.support.postgres import PostgresServer

DB_USER, DB_PASSWORD = "secr_node", "secr-Db-Passw0rd-4b3a2c1d"
KEYSTORE = "secr-Keystore-Passw0rd-7"
API_PASSWORD = "secr-Api-Passw0rd-0123"
RPC_KEY = "secr-Rpc-ApiKey-5e4d3c2b"
RPC_PASSWORD = "secr-Rpc-Passw0rd-77"
# Printed by the failing standby (chainlink-sim echoes a bad SIM_BOOT_DELAY): a URL the inventory never names as a secret
RAW_PASSWORD = "secr-Raw-Log-Passw0rd-31"
SECRETS_EXTRA: dict[str, t.Any] = {
    "chainlink_keystore_password": KEYSTORE,
    "chainlink_api_password": API_PASSWORD,
    "chainlink_config_extra": {
        "EVM": [
            {
                "ChainID": "1",
                "Nodes": [
                    {
                        "Name": "mainnet-rpc",
                        "WSURL": f"wss://mainnet.rpc.example/ws/v3/{RPC_KEY}",
                        "HTTPURL": f"https://rpcuser:{RPC_PASSWORD}@mainnet.rpc.example/v3/{RPC_KEY}",
                    }
                ],
            }
        ]
    },
}
# start_lab_postgres's password, the same for every test's PostgreSQL container
DB_ADMIN_SHARED = "handover-Postgres-passw0rd"
OBSERVER_DIR = Path.home() / ".ansible" / "nodeops_chainlink" / "observer"


@pytest.fixture(scope="module")
def pg() -> t.Iterator[PostgresServer]:
    server = start_lab_postgres(range(17920, 17930), "secr-pg")
    try:
        # the nodes' own login (the lab's only: a superuser, so that it may create the node's tables in public)
        server.execute(f"CREATE ROLE {DB_USER} LOGIN SUPERUSER PASSWORD '{DB_PASSWORD}'")
        yield server
    finally:
        server.stop()


def inventory(lab: HandoverLab, **extra: t.Any) -> dict[str, t.Any]:
    """The pair's inventory values that carry secrets, and any others given."""
    url = f"postgresql://{DB_USER}:{DB_PASSWORD}@{lab.pg.host}:{lab.pg.port}/{lab.db}?sslmode=disable"
    return {"chainlink_database_url": url, **SECRETS_EXTRA, **extra}


def process_secrets() -> dict[str, str]:
    return {"database password": DB_PASSWORD, "keystore password": KEYSTORE, "API password": API_PASSWORD, "RPC key": RPC_KEY, "RPC password": RPC_PASSWORD}


def inventory_secrets(lab: HandoverLab) -> dict[str, str]:
    return {**process_secrets(), "admin database password": lab.pg.password}


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """The secrets found in text, each with the text around its first occurrence."""
    found = []
    for what, secret in secrets.items():
        at = text.find(secret)
        if at >= 0:
            found.append(f"{what}: ...{text[max(0, at - 160) : at + len(secret) + 40]}...")
    return found


class Run:
    """ansible-playbook at -vvv, its output in a file, with the process list sampled every 0.2 s while it runs."""

    def __init__(self, lab: HandoverLab, playbook: str, *args: str) -> None:
        self.log = lab.workdir / f"{playbook}.{time.time():.3f}.log"
        cmd = [str(VENV_BIN / "ansible-playbook"), "-vvv", "-i", str(lab.inventory), str(Path(__file__).resolve().parents[3] / "playbooks" / playbook), *args]
        self.processes: dict[int, str] = {}
        self.observer_pids: set[int] = set()
        with self.log.open("w") as out:
            proc = subprocess.Popen(cmd, cwd=lab.workdir, env=ansible_env(), stdout=out, stderr=subprocess.STDOUT, text=True)
            while proc.poll() is None:
                self.sample(lab.name)
                time.sleep(0.2)
        self.rc = proc.returncode
        self.output = self.log.read_text()

    def sample(self, pair: str) -> None:
        listing = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=False).stdout
        for line in listing.splitlines():
            number, _sep, args = line.strip().partition(" ")
            self.processes.setdefault(int(number), args)
        try:
            meta = json.loads((OBSERVER_DIR / f"{pair}.json").read_text())
        except (OSError, ValueError):
            return
        pid = int(meta.get("pid") or 0)
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().replace(b"\0", b"\n").decode("utf-8", "replace")
        except OSError:
            return  # not running (yet, or any more)
        self.observer_pids.add(pid)
        self.processes.setdefault(-pid, f"(environment of the observer {pid}) {environ}")

    def check(self, secrets: dict[str, str], ok: bool = True) -> None:
        assert (self.rc == 0) is ok, f"rc {self.rc}:\n{self.output[-5000:]}"
        assert "ESTABLISH LOCAL CONNECTION" in self.output and "invocation" in self.output  # -vvv: module arguments shown
        assert not leaks(self.output, secrets), "\n".join(leaks(self.output, secrets))
        # other tests' PostgreSQL containers carry the shared admin password in their docker run: only ours are checked
        listed = "\n".join(f"{pid} {args}" for pid, args in self.processes.items())
        shown = {what: secret for what, secret in secrets.items() if secret != DB_ADMIN_SHARED}
        assert not leaks(listed, shown), "\n".join(leaks(listed, shown))


def check_reports(lab: HandoverLab, secrets: dict[str, str], count: int) -> None:
    files = sorted(lab.reports.glob("*"))
    assert len([f for f in files if f.suffix == ".json"]) == count, files
    assert stat.S_IMODE(lab.reports.stat().st_mode) == 0o700
    for report in files:
        assert stat.S_IMODE(report.stat().st_mode) == 0o600, report
        assert not leaks(report.read_text(), secrets), f"{report.name}: " + "\n".join(leaks(report.read_text(), secrets))


# several playbook runs at -vvv in one test: beyond the 300 s default on a loaded machine
@pytest.mark.timeout(900)
def test_v2_pair_deploy_failed_upgrade_and_upgrade_at_vvv_show_no_secret(pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> None:
    lab = HandoverLab(pg, tmp_path_factory.mktemp("secr2"), name="secr2", ports=(17900, 17901))
    secrets = inventory_secrets(lab)
    try:
        lab.write_inventory("2.28.0", inventory(lab))
        deploy = Run(lab, "deploy.yml", "--diff")
        deploy.check(secrets)
        assert "WSURL" in deploy.output  # the config's diff was printed, its URLs masked

        # The standby fails at start and logs the bad value, a URL with its password; the primary stays active.
        raw_url = f"postgresql://secr:{RAW_PASSWORD}@127.0.0.1:17929/x"
        lab.write_inventory("2.28.0", inventory(lab, handover_env_extra={"SIM_BOOT_DELAY": raw_url}, handover_standby_timeout=15))
        failed = Run(lab, "upgrade.yml", "--diff", "-e", "chainlink_version=2.29.0")
        failed.check({**secrets, "raw log line's password": RAW_PASSWORD}, ok=False)
        assert "invalid value for SIM_BOOT_DELAY" in failed.output  # the raw line was printed, its password masked
        assert 'did not reach "waiting" on 2.29.0' in failed.output
        assert failed.observer_pids, "the observer was never seen running"

        lab.write_inventory("2.28.0", inventory(lab))
        upgrade = Run(lab, "upgrade.yml", "--diff", "-e", "chainlink_version=2.29.0")
        upgrade.check(secrets)
        assert upgrade.observer_pids, "the observer was never seen running"
        assert lab.latest_report("upgrade")["outcome"] == "ok"

        check_reports(lab, {**secrets, "raw log line's password": RAW_PASSWORD}, count=2)
        for role in ("primary", "secondary"):
            inspect = json.dumps(lab.inspect(role))
            assert "nodeops-lab/chainlink-sim:2.29.0" in inspect
            assert not leaks(inspect, secrets), "\n".join(leaks(inspect, secrets))
    finally:
        lab.destroy()


@pytest.mark.timeout(900)
def test_v1_env_pair_deploy_status_and_switchover_at_vvv_show_no_secret(pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> None:
    lab = HandoverLab(pg, tmp_path_factory.mktemp("secr1"), name="secr1", ports=(17902, 17903))
    secrets = inventory_secrets(lab)
    try:
        lab.write_inventory("1.10.0", inventory(lab, chainlink_config_extra={}, chainlink_locking_mode="lease"))
        Run(lab, "deploy.yml", "--diff").check(secrets)
        # the node reads its database URL from the environment only: there it is, and nowhere in the output
        env = dict(entry.split("=", 1) for entry in lab.inspect("primary")["Config"]["Env"])
        assert DB_PASSWORD in env["DATABASE_URL"]
        # status compares the running containers with an inventory whose lease changed: named by variable, and the
        # redacted DATABASE_URL compares equal to the inventory's (redacted the same way)
        lab.write_inventory("1.10.0", inventory(lab, chainlink_config_extra={}, chainlink_locking_mode="lease", chainlink_lease_duration="4s"))
        status = Run(lab, "status.yml")
        status.check(secrets)
        assert "DATABASE_URL=********" in status.output  # the container was shown, redacted
        assert "env: LEASE_LOCK_DURATION" in status.output and "env: DATABASE_URL" not in status.output
        lab.write_inventory("1.10.0", inventory(lab, chainlink_config_extra={}, chainlink_locking_mode="lease"))
        switch = Run(lab, "switchover.yml")
        switch.check(secrets)
        assert lab.latest_report("switchover")["outcome"] == "ok"
        check_reports(lab, secrets, count=1)
    finally:
        lab.destroy()


def test_log_wait_masks_a_url_password_in_the_lines_it_returns_and_in_its_failure() -> None:
    """A raw log line quoting a URL with its password: neither the matched lines nor the failure's last lines show it."""
    name = "secr-logline"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    script = f"echo 'dial postgresql://node:{RAW_PASSWORD}@127.0.0.1:5432/cl failed'; echo 'connected host=db password={RAW_PASSWORD}'; sleep 60"
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "--network", "host", "--label", "nodeops.test=true", "nodeops-lab/base:bookworm", "sh", "-c", script],
        capture_output=True, check=True,
    )  # fmt: skip
    try:
        found = run_module(log_wait.main, {"name": name, "regex": ["^connected"], "timeout": 20})
        refused = run_module(log_wait.main, {"name": name, "regex": ["^never"], "fail_on": ["^dial"], "timeout": 20})
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    assert not found.get("failed"), found
    assert found["matched"][0]["line"] == "connected host=db password=********"
    assert refused["failed"] and refused["failed_line"]["line"] == "dial postgresql://node:********@127.0.0.1:5432/cl failed"
    assert "logged a line matching fail_on" in refused["msg"]
    assert RAW_PASSWORD not in json.dumps(found) + json.dumps(refused)
