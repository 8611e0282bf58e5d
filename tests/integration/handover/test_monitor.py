# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pair exporter (playbooks/monitor.yml) scraped by Debian's real Prometheus, on one deploy shared by every step.

The exporter serves four pairs: a deployed chainlink-sim pair; a database with node_versions and goose_migrations
tables that the test takes away (its sessions ended, new ones refused) and gives back; a database whose lease_lock is
nonsense; and an address where nothing listens. Prometheus (its own port and data directory, started and ended by PID here) reads the target from the
file_sd file and the rules from monitor.yml's rules file, with the standby alert's `for` shortened.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import time
import typing as t
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the venv

from tests.integration.handover.lab import HandoverLab
from tests.support.postgres import PostgresServer, free_port
from tests.support.waiting import wait_until

PAIR = "hovmon"
DOWN, GARBAGE, NOWHERE = "mon-down", "mon-garbage", "mon-nowhere"
SCHEMA_VERSION = 20240704  # max(version_id) the test writes into goose_migrations
EXPORTER_UID = 14934


class Prometheus:
    """Debian's prometheus on 127.0.0.1 (a free port), its data in a temporary directory; stopped by its PID."""

    def __init__(self, workdir: Path, file_sd: Path, rules_dir: Path) -> None:
        self.port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules_dir / "*.yml")],
            # the exporter's instance label names the pair's instance; honor_labels keeps it (the target's is dropped)
            "scrape_configs": [{"job_name": "chainlink-pairs", "honor_labels": True, "file_sd_configs": [{"files": [str(file_sd)], "refresh_interval": "1s"}]}],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [shutil.which("prometheus") or "/usr/bin/prometheus", f"--config.file={workdir / 'prometheus.yml'}",
             f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until(self.ready, 30, "Prometheus to answer", interval=0.3)

    def get(self, path: str, **params: str) -> t.Any:
        url = f"http://127.0.0.1:{self.port}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback, our own server
            return json.loads(response.read())["data"]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2):  # noqa: S310 - loopback
                return True
        except OSError:
            return False

    def query(self, expr: str) -> list[dict[str, t.Any]]:
        return t.cast(list[dict[str, t.Any]], self.get("/api/v1/query", query=expr)["result"])

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def alerts(self, name: str, pair: str = PAIR) -> list[str]:
        """The states (pending, firing) of the alert for the pair now."""
        return [a["state"] for a in self.get("/api/v1/alerts")["alerts"] if a["labels"]["alertname"] == name and a["labels"].get("pair") == pair]

    def stop(self) -> None:
        os.kill(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()


class Monitored:
    def __init__(self, lab: HandoverLab, prometheus: Prometheus, run: subprocess.CompletedProcess[str], rules_dir: Path, timings: dict[str, float]) -> None:
        self.lab, self.prometheus, self.run, self.rules_dir, self.timings = lab, prometheus, run, rules_dir, timings

    def wait_value(self, expr: str, wanted: float, timeout: float = 30) -> None:
        wait_until(lambda: self.prometheus.value(expr) == wanted, timeout, f"{expr} == {wanted} (last {self.prometheus.value(expr)})", interval=0.5)


def _instances(first_port: int) -> dict[str, t.Any]:
    return {role: {"docker_host": "docker-hovt", "http_port": first_port + i} for i, role in enumerate(("primary", "secondary"))}


@pytest.fixture(scope="module")
def monitored(handover_pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Monitored]:
    if shutil.which("prometheus") is None:
        pytest.fail("prometheus is missing: ./nodeops bootstrap installs it (Debian package prometheus)")
    workdir = tmp_path_factory.mktemp("monitor")
    # the node's default lease (10 s, refresh 1 s): the switchover must pass without a no-holder alert at it
    lab = HandoverLab(handover_pg, workdir, name=PAIR, ports=(16870, 16871), lease="10s", refresh="1s")
    prometheus = None
    timings: dict[str, float] = {}
    try:
        began = time.monotonic()
        lab.deploy("2.29.0")
        timings["deploy"] = time.monotonic() - began
        for db, tables in (
            # a node's database after its migrations (the double creates no goose_migrations)
            ("mon_down", [
                "CREATE TABLE node_versions (version text PRIMARY KEY, created_at timestamp NOT NULL)",
                "INSERT INTO node_versions VALUES ('2.29.0', now())",
                "CREATE TABLE goose_migrations (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL)",
                f"INSERT INTO goose_migrations (version_id, is_applied) VALUES (0, true), ({SCHEMA_VERSION}, true), (20230101, true)",
            ]),
            ("mon_garbage", ["CREATE TABLE lease_lock (nonsense int)"]),  # a lease table without the node's columns
        ):  # fmt: skip
            handover_pg.execute(f"DROP DATABASE IF EXISTS {db}")
            handover_pg.execute(f"CREATE DATABASE {db}")
            for statement in tables:
                handover_pg.execute(statement, db)

        rules_dir, test_rules = workdir / "rules", workdir / "test-rules"
        rules_dir.mkdir()
        test_rules.mkdir()
        file_sd = workdir / "targets.json"
        data = lab.inventory_data("2.29.0")
        pairs = data["all"]["children"]["chainlink_pairs"]["hosts"]
        pairs[DOWN] = {"chainlink_database_url": lab.url().replace(lab.db, "mon_down"), "chainlink_instances": _instances(16872)}
        pairs[GARBAGE] = {"chainlink_database_url": lab.url().replace(lab.db, "mon_garbage"), "chainlink_instances": _instances(16874)}
        pairs[NOWHERE] = {"chainlink_database_url": f"postgresql://nobody:x@127.0.0.1:{free_port()}/none", "chainlink_instances": _instances(16876)}
        data["all"]["vars"].update(
            {
                "chainlink_monitor_host": "docker-hovt",
                "chainlink_monitor_port": free_port(),
                "chainlink_monitor_interval": 1,
                "chainlink_monitor_timeout": 2,
                "chainlink_monitor_base_image": "nodeops-lab/base:bookworm",
                "chainlink_monitor_container_name": f"{PAIR}-monitor",
                "chainlink_monitor_labels": {"nodeops.test": "true"},
                "chainlink_monitor_rules_dir": str(rules_dir),
                "chainlink_monitor_file_sd_path": str(file_sd),
            }
        )
        lab.inventory.write_text(yaml.safe_dump(data))
        began = time.monotonic()
        run = lab.playbook("monitor.yml")
        timings["monitor.yml"] = time.monotonic() - began
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        # the test's Prometheus reads the collection's rules with the standby alert's 5 minutes shortened
        rules = yaml.safe_load((rules_dir / "chainlink_pair_alerts.yml").read_text())
        for rule in rules["groups"][0]["rules"]:
            if rule["alert"] == "ChainlinkPairStandbyNotReady":
                rule["for"] = "3s"
        (test_rules / "pairs.yml").write_text(yaml.safe_dump(rules))
        prometheus = Prometheus(workdir, file_sd, test_rules)
        yield Monitored(lab, prometheus, run, rules_dir, timings)
    finally:
        if prometheus is not None:
            prometheus.stop()
        subprocess.run(["docker", "rm", "-f", f"{PAIR}-monitor"], capture_output=True, check=False)
        for db in ("mon_down", "mon_garbage"):
            handover_pg.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        lab.destroy()
        print(f"monitor test timings: {timings}")


def test_series_right_after_deploy_and_a_hardened_exporter(monitored: Monitored) -> None:
    m, p = monitored, monitored.prometheus
    m.wait_value(f'chainlink_pair_holder_info{{pair="{PAIR}",instance="primary",version="2.29.0"}}', 1)
    holder = p.query(f'chainlink_pair_holder_info{{pair="{PAIR}"}}')[0]["metric"]
    assert holder["app_id"] == m.lab.lock()["holder"]
    for expr, wanted in [
        ("chainlink_pair_database_up", 1),
        ("chainlink_pair_lock_held", 1),
        ("chainlink_pair_standby_ready", 1),
        ("chainlink_pair_two_holders", 0),
        ("chainlink_pair_holder_changes_total", 0),
        ('chainlink_pair_instance_connected{instance="primary"}', 1),
        ('chainlink_pair_instance_connected{instance="secondary"}', 1),
        ('chainlink_pair_database_version_info{version="2.29.0"}', 1),
    ]:
        selector = expr.replace("{", f'{{pair="{PAIR}",') if "{" in expr else f'{expr}{{pair="{PAIR}"}}'
        m.wait_value(selector, wanted)
    remaining = p.value(f'chainlink_pair_lease_remaining_seconds{{pair="{PAIR}"}}')
    assert remaining is not None and 0 < remaining <= 10
    # the schema version is goose's max(version_id), as the database holds it (the double records its migrations too)
    conn = m.lab.pg.connect(m.lab.db)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT max(version_id) FROM goose_migrations")
            (schema_version,) = cur.fetchone() or (None,)
    finally:
        conn.close()
    assert schema_version and schema_version != SCHEMA_VERSION
    m.wait_value(f'chainlink_pair_schema_version{{pair="{PAIR}"}}', schema_version)
    m.wait_value(f'chainlink_pair_schema_version{{pair="{DOWN}"}}', SCHEMA_VERSION)
    m.wait_value(f'chainlink_pair_database_version_info{{pair="{DOWN}",version="2.29.0"}}', 1)
    # nonsense and nowhere are down, and only they
    m.wait_value(f'chainlink_pair_database_up{{pair="{GARBAGE}"}}', 0)
    m.wait_value(f'chainlink_pair_database_up{{pair="{NOWHERE}"}}', 0)
    assert (p.value(f'chainlink_pair_read_errors_total{{pair="{GARBAGE}"}}') or 0) > 0
    # the rules file monitor.yml wrote is the collection's
    shipped = Path(__file__).resolve().parents[3] / "roles" / "monitor" / "files" / "chainlink_pair_alerts.yml"
    assert (m.rules_dir / "chainlink_pair_alerts.yml").read_text() == shipped.read_text()
    # hardening and secrets: read-only root, no capability, own uid, host network; database URLs only in the 0400 file
    info = json.loads(subprocess.run(["docker", "inspect", f"{PAIR}-monitor"], capture_output=True, text=True, check=True).stdout)[0]
    host = info["HostConfig"]
    assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"] and host["NetworkMode"] == "host"
    assert info["Config"]["User"] == f"{EXPORTER_UID}:{EXPORTER_UID}"
    exposed = json.dumps([info["Config"]["Cmd"], info["Config"]["Env"], info["Args"]]) + m.run.stdout + m.run.stderr
    assert m.lab.pg.password not in exposed
    logs = subprocess.run(["docker", "logs", f"{PAIR}-monitor"], capture_output=True, text=True, check=True)
    assert m.lab.pg.password not in logs.stdout + logs.stderr
    config = Path(info["Mounts"][0]["Source"]) / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o400 and config.stat().st_uid == EXPORTER_UID


def test_database_going_away_and_back(monitored: Monitored) -> None:
    m = monitored
    # the database goes away under the exporter: its session ended, new ones refused
    m.lab.pg.execute("ALTER DATABASE mon_down ALLOW_CONNECTIONS false")
    m.lab.pg.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'mon_down'")
    m.wait_value(f'chainlink_pair_database_up{{pair="{DOWN}"}}', 0)
    # the other pairs are still read (their last read keeps moving)
    before = m.prometheus.value(f'chainlink_pair_last_read_timestamp_seconds{{pair="{PAIR}"}}') or 0
    wait_until(
        lambda: (m.prometheus.value(f'chainlink_pair_last_read_timestamp_seconds{{pair="{PAIR}"}}') or 0) > before + 1, 20, "the deployed pair's reads to go on"
    )
    m.lab.pg.execute("ALTER DATABASE mon_down ALLOW_CONNECTIONS true")
    m.wait_value(f'chainlink_pair_database_up{{pair="{DOWN}"}}', 1)
    m.wait_value(f'chainlink_pair_schema_version{{pair="{DOWN}"}}', SCHEMA_VERSION)
    assert m.prometheus.value('up{job="chainlink-pairs"}') == 1


def test_stopped_standby_fires_the_standby_alert_and_its_restart_resolves_it(monitored: Monitored) -> None:
    m, p = monitored, monitored.prometheus
    subprocess.run(["docker", "stop", m.lab.containers["secondary"]], capture_output=True, check=True)
    m.wait_value(f'chainlink_pair_standby_ready{{pair="{PAIR}"}}', 0)
    m.wait_value(f'chainlink_pair_instance_connected{{pair="{PAIR}",instance="secondary"}}', 0)
    wait_until(lambda: p.alerts("ChainlinkPairStandbyNotReady") == ["firing"], 30, "the standby alert to fire")
    subprocess.run(["docker", "start", m.lab.containers["secondary"]], capture_output=True, check=True)
    m.wait_value(f'chainlink_pair_standby_ready{{pair="{PAIR}"}}', 1, timeout=60)
    wait_until(lambda: p.alerts("ChainlinkPairStandbyNotReady") == [], 30, "the standby alert to resolve")


def test_switchover_counts_one_holder_change_without_a_no_holder_alert(monitored: Monitored) -> None:
    m, p = monitored, monitored.prometheus
    began = time.time()
    before = p.value(f'chainlink_pair_holder_changes_total{{pair="{PAIR}"}}') or 0
    run = m.lab.playbook("switchover.yml", "-e", f"target_hosts={PAIR}")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    m.wait_value(f'chainlink_pair_holder_info{{pair="{PAIR}",instance="secondary"}}', 1)
    m.wait_value(f'chainlink_pair_holder_changes_total{{pair="{PAIR}"}}', before + 1)
    m.wait_value(f'chainlink_pair_standby_ready{{pair="{PAIR}"}}', 1, timeout=60)
    window = f"{int(time.time() - began) + 5}s"
    fired = p.query(f'max_over_time(ALERTS{{alertname="ChainlinkPairNoLockHolder",alertstate="firing",pair="{PAIR}"}}[{window}])')
    assert fired == [], fired
