# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the Molecule verifiers: the scenario's pair as its inventory describes it, its Docker hosts
(testinfra, through the scenario's Ansible inventory) and its PostgreSQL database."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import typing as t

import psycopg2
import psycopg2.extensions
import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

BOOTED = "Chainlink booted in "
WAITING = "waiting for lease to expire"


@dataclasses.dataclass
class Instance:
    """One instance of the pair: inventory values plus the testinfra host of its Docker host."""

    role: str
    container: str
    port: int
    docker_host: str
    host: t.Any
    config_dir: str

    def inspect(self) -> dict[str, t.Any]:
        out = self.host.check_output(f"docker inspect {self.container}")
        return t.cast("dict[str, t.Any]", json.loads(out)[0])

    def log_lines(self) -> list[str]:
        # The node logs on stderr; docker logs replays both streams.
        result = self.host.run(f"docker logs {self.container}")
        return (result.stdout + result.stderr).splitlines()

    def app_id_from(self, marker: str) -> str:
        """The appID field of the first log line containing marker (JSON or console format)."""
        for line in self.log_lines():
            if marker not in line:
                continue
            if line.lstrip().startswith("{"):
                return str(json.loads(line)["appID"])
            match = re.search(r"\bappID=([0-9a-f-]{36})", line)
            if match:
                return match.group(1)
        raise AssertionError(f"{self.container}: no log line with {marker!r} and an appID")


@dataclasses.dataclass
class Pair:
    name: str
    version: str
    variables: dict[str, t.Any]
    instances: dict[str, Instance]
    pg_port: int
    pg_password: str
    database: str

    @property
    def is_v1(self) -> bool:
        return self.version.startswith("1.")

    def connect(self) -> psycopg2.extensions.connection:
        conn = psycopg2.connect(host="127.0.0.1", port=self.pg_port, user="postgres", password=self.pg_password, dbname=self.database)
        conn.autocommit = True
        return conn

    def query(self, sql: str, *params: t.Any) -> list[tuple[t.Any, ...]]:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall())
        finally:
            conn.close()


@pytest.fixture(scope="session")
def inventory(request: pytest.FixtureRequest) -> str:
    return str(request.config.option.ansible_inventory)


@pytest.fixture(scope="session")
def pair(inventory: str) -> Pair:
    """The scenario's single pair (group chainlink_pairs), with raw inventory values."""
    runner = AnsibleRunner(inventory)
    names = runner.get_hosts("chainlink_pairs")
    if len(names) != 1:
        raise AssertionError(f"expected one pair in the scenario inventory, found {names}")
    variables = runner.get_variables(names[0])
    scenario = os.environ["MOLECULE_SCENARIO_NAME"]
    instances = {}
    for role, spec in variables["chainlink_instances"].items():
        docker_host = spec["docker_host"]
        instances[role] = Instance(
            role=role,
            container=spec["container_name"],
            port=int(spec["http_port"]),
            docker_host=docker_host,
            host=testinfra.get_host(f"ansible://{docker_host}", ansible_inventory=inventory),
            config_dir=f"/tmp/nodeops-molecule/{scenario}/{docker_host}/{spec['container_name']}",
        )
    return Pair(
        name=names[0],
        version=str(variables["chainlink_version"]),
        variables=variables,
        instances=instances,
        pg_port=int(variables["molecule_pg_port"]),
        pg_password=str(variables["molecule_pg_password"]),
        database=f"chainlink_{scenario}",
    )
