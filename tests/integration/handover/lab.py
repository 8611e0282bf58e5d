# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""A pair of chainlink-sim containers on an own PostgreSQL, driven through the real playbooks.

Used by the handover tests and by benchmarks/handover_gaps.py. Everything runs on 127.0.0.1 with host networking;
every container carries ``nodeops.test=true`` and the pair label, and ``destroy()`` removes exactly those.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import typing as t
from pathlib import Path

import yaml  # type: ignore[import-untyped]  # no stubs in the venv

from tests.integration.handover.jobs import JobProducer, check_jobs
from tests.support.observer import readyz
from tests.support.postgres import PG_IMAGE, PostgresServer

ROOT = Path(__file__).resolve().parents[3]
VENV_BIN = ROOT / ".venv" / "bin"
SIM_IMAGE = "nodeops-lab/chainlink-sim"
# the booted line, console (``appID=<id>``) or JSON (``"appID":"<id>"``)
_BOOTED_APP_ID = re.compile(r"Chainlink booted in .*?\bappID\W+([0-9a-f-]{36})")


def start_lab_postgres(ports: t.Iterable[int], prefix: str) -> PostgresServer:
    """Our own PostgreSQL container on the first free port of ``ports`` (host network, loopback only)."""
    import socket

    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        # a password the node's rules accept (16 characters or more): the preflight refuses a shorter one
        server = PostgresServer(container=f"{prefix}-{port}", port=port, password="handover-Postgres-passw0rd")
        subprocess.run(["docker", "rm", "-f", server.container], capture_output=True, check=False)
        subprocess.run(
            ["docker", "run", "-d", "--name", server.container, "--network", "host", "--label", "nodeops.test=true",
             "-e", f"PGPORT={port}", "-e", f"POSTGRES_PASSWORD={server.password}", PG_IMAGE],
            check=True, capture_output=True,
        )  # fmt: skip
        server.wait_ready()
        return server
    raise RuntimeError(f"no free port for PostgreSQL in {ports}")


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    env["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / ".collections")
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env.pop("ANSIBLE_STDOUT_CALLBACK", None)
    return env


def ad_hoc(module: str, url: str, state_dir: Path, **args: t.Any) -> dict[str, t.Any]:
    """One of the collection's database modules through the ansible CLI on localhost; its result, with _ok."""
    params = {"login_url": url, "state_dir": str(state_dir), **args}
    run = subprocess.run(
        [str(VENV_BIN / "ansible"), "localhost", "-m", f"nodeops.chainlink.{module}", "-a", json.dumps(params), "-o"],
        capture_output=True,
        text=True,
        env={**ansible_env(), "ANSIBLE_PYTHON_INTERPRETER": str(VENV_BIN / "python"), "ANSIBLE_LOCALHOST_WARNING": "false"},
        timeout=120,
        check=False,
    )
    out = run.stdout.strip()
    _verdict, _sep, payload = out.partition(" => ")
    result = json.loads(payload) if payload.startswith("{") else {"msg": out + run.stderr}
    result["_ok"] = run.returncode == 0
    return result


class HandoverLab:
    """One pair (primary and secondary containers of chainlink-sim) on its own database."""

    def __init__(
        self, pg: PostgresServer, workdir: Path, name: str, ports: tuple[int, int], lease: str = "3s", refresh: str = "500ms", two_hosts: bool = False
    ) -> None:
        self.pg = pg
        self.workdir = workdir
        self.name = name
        self.ports = ports
        self.lease = lease
        self.refresh = refresh
        self.db = f"{name.replace('-', '_')}_db"
        self.inventory = workdir / "inventory.yml"
        self.reports = workdir / "handover-reports"
        self.containers = {"primary": f"{name}-primary", "secondary": f"{name}-secondary"}
        self.http_ports = dict(zip(("primary", "secondary"), ports, strict=True))
        # two_hosts: the instances on two inventory Docker hosts (two names for this machine's engine, each with its own
        # config directory, as lab/inventory/two-hosts.yml), so every task is delegated per host as with two machines
        self.docker_hosts = {"primary": "docker-hovt", "secondary": "docker-hovt-b" if two_hosts else "docker-hovt"}
        for host in set(self.docker_hosts.values()):
            (workdir / "cfg" / host).mkdir(parents=True, exist_ok=True)

    # -- inventory and runs ----------------------------------------------------------------------------------------

    def write_inventory(self, version: str, extra: dict[str, t.Any] | None = None) -> None:
        self.inventory.write_text(yaml.safe_dump(self.inventory_data(version, extra)))

    def inventory_data(self, version: str, extra: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        """The inventory of this pair alone (``write_inventory`` writes it; a fleet merges several)."""
        pair_vars: dict[str, t.Any] = {
            "ansible_connection": "local",
            "chainlink_image": SIM_IMAGE,
            "chainlink_version": version,
            "chainlink_lease_duration": self.lease,
            "chainlink_lease_refresh_interval": self.refresh,
            "chainlink_keystore_password": "keystore-Passw0rd-1",
            "chainlink_api_email": "admin@example.com",
            "chainlink_api_password": "api-Passw0rd-0123456",
            "chainlink_database_create": True,
            "chainlink_database_admin": {
                "login_host": self.pg.host,
                "login_port": self.pg.port,
                "login_user": self.pg.user,
                "login_password": self.pg.password,
            },
            "chainlink_database_url": self.url(),
            "chainlink_container_labels": {"nodeops.test": "true"},
            "handover_report_dir": str(self.reports),
            "chainlink_instances": {
                role: {"docker_host": self.docker_hosts[role], "container_name": self.containers[role], "http_port": port}
                for role, port in self.http_ports.items()
            },
        }
        pair_vars.update(extra or {})
        return {
            "all": {
                "vars": {"ansible_python_interpreter": str(VENV_BIN / "python")},
                "children": {
                    "docker_hosts": {
                        "hosts": {
                            host: {"ansible_connection": "local", "chainlink_config_root": str(self.workdir / "cfg" / host)}
                            for host in set(self.docker_hosts.values())
                        }
                    },
                    "chainlink_pairs": {"hosts": {self.name: pair_vars}},
                },
            }
        }

    def url(self) -> str:
        return f"postgresql://{self.pg.user}:{self.pg.password}@{self.pg.host}:{self.pg.port}/{self.db}?sslmode=disable"

    def connect(self) -> t.Any:
        return self.pg.connect(self.db)

    def playbook(self, name: str, *args: str, timeout: float = 280) -> subprocess.CompletedProcess[str]:
        cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(self.inventory), str(ROOT / "playbooks" / name), *args]
        return subprocess.run(cmd, cwd=self.workdir, env=ansible_env(), capture_output=True, text=True, timeout=timeout, check=False)

    def start_playbook(self, name: str, *args: str) -> subprocess.Popen[str]:
        """Start a run in its own process group, so that an interruption can reach all of it (like Ctrl-C)."""
        cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(self.inventory), str(ROOT / "playbooks" / name), *args]
        log = (self.workdir / f"{name}.{time.time():.0f}.log").open("w")
        return subprocess.Popen(cmd, cwd=self.workdir, env=ansible_env(), stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)

    @staticmethod
    def interrupt(proc: subprocess.Popen[str]) -> None:
        """Kill the whole run at once (a lost controller): no rescue, no report."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def deploy(self, version: str) -> None:
        self.write_inventory(version)
        run = self.playbook("deploy.yml")
        if run.returncode != 0:
            raise AssertionError(f"deploy.yml failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")

    def latest_report(self, action: str) -> dict[str, t.Any]:
        files = sorted(self.reports.glob(f"{self.name}-{action}-*.json"), key=lambda p: p.stat().st_mtime)
        if not files:
            raise AssertionError(f"no {action} report under {self.reports}")
        return t.cast(dict[str, t.Any], json.loads(files[-1].read_text()))

    def reports_of(self, action: str) -> list[dict[str, t.Any]]:
        """Every report of the action, in the order the runs began."""
        reports = [json.loads(p.read_text()) for p in self.reports.glob(f"{self.name}-{action}-*.json")]
        return sorted(reports, key=lambda r: float(r["began_at"]))

    # -- containers ------------------------------------------------------------------------------------------------

    def inspect(self, role: str) -> dict[str, t.Any]:
        out = subprocess.run(["docker", "inspect", self.containers[role]], capture_output=True, text=True, check=False)
        return t.cast(dict[str, t.Any], json.loads(out.stdout)[0]) if out.returncode == 0 else {}

    def image(self, role: str) -> str | None:
        return self.inspect(role).get("Config", {}).get("Image")

    def running(self, role: str) -> bool:
        return bool(self.inspect(role).get("State", {}).get("Running"))

    def booted_app_id(self, role: str) -> str | None:
        """The app ID of the container's last ``Chainlink booted`` line (a waiting standby has none in its current run)."""
        out = subprocess.run(["docker", "logs", self.containers[role]], capture_output=True, text=True, check=False)
        found = _BOOTED_APP_ID.findall(out.stdout + out.stderr)
        return found[-1] if found else None

    def serving(self) -> t.Callable[[], set[str]]:
        """For ``LockObserver(nodes=...)``: the app IDs of the instances whose /readyz answers 200 now (only a booted
        holder serves HTTP). Each call probes both instances, so sample at 0.12 s or slower: with the handover's own
        third, that stays inside the nodes' default limit of 1000 requests a minute. An instance's app ID is read from
        its log once per run of it (forgotten whenever it stops answering, as it does while it restarts)."""
        ids: dict[str, str | None] = {}

        def active() -> set[str]:
            out = set()
            for role, port in self.http_ports.items():
                if readyz(f"http://127.0.0.1:{port}/readyz", 0.5) != 200:
                    ids.pop(role, None)
                    continue
                if not ids.get(role):
                    ids[role] = self.booted_app_id(role)
                out.add(ids[role] or f"{role}-without-booted-line")
            return out

        return active

    def lock(self) -> dict[str, t.Any]:
        """The lease row as the database sees it now."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT client_id::text, expires_at > clock_timestamp() FROM lease_lock")
                row = cur.fetchone()
                cur.execute("SELECT version FROM node_versions ORDER BY created_at DESC LIMIT 1")
                version = cur.fetchone()
        finally:
            conn.close()
        return {"holder": row[0] if row and row[1] else None, "db_version": version[0] if version else None}

    def destroy(self) -> None:
        subprocess.run(["docker", "rm", "-f", *self.containers.values()], capture_output=True, check=False)
        shutil.rmtree(self.workdir / "cfg", ignore_errors=True)

    # -- the work queue --------------------------------------------------------------------------------------------

    def producer(self) -> JobProducer:
        return JobProducer(self.connect)

    def check_jobs(self, ids: list[int], reports: list[dict[str, t.Any]], timeout: float = 30, require_all: bool = True) -> dict[str, int]:
        return check_jobs(self.connect, ids, reports, timeout, require_all)


@contextlib.contextmanager
def deployed_pair(pg: PostgresServer, workdir: Path, name: str, ports: tuple[int, int], version: str) -> t.Iterator[HandoverLab]:
    """A pair of its own deployed on ``version`` for one test module, destroyed afterwards."""
    lab = HandoverLab(pg, workdir, name=name, ports=ports)
    try:
        lab.deploy(version)
        yield lab
    finally:
        lab.destroy()
