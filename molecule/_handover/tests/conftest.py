# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the handover scenarios' verifier: the scenario's pair, its reports and its database."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import psycopg2
import pytest
from testinfra.utils.ansible_runner import AnsibleRunner

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))


@dataclasses.dataclass
class Scenario:
    pair: str
    variables: dict[str, t.Any]
    inventory: str
    ephemeral: Path
    database: str
    pg_port: int
    pg_password: str

    def connect(self) -> t.Any:
        conn = psycopg2.connect(host="127.0.0.1", port=self.pg_port, user="postgres", password=self.pg_password, dbname=self.database)
        conn.autocommit = True
        return conn

    def reports(self) -> list[dict[str, t.Any]]:
        files = sorted((self.ephemeral / "handover-reports").glob("*.json"), key=lambda p: p.stat().st_mtime)
        return [json.loads(p.read_text()) for p in files]

    def playbook(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one of the collection's playbooks against the scenario's inventory, as the converge step does."""
        cmd = ["ansible-playbook", "-i", self.inventory, str(PROJECT / "playbooks" / name), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="session")
def scenario(request: pytest.FixtureRequest) -> Scenario:
    inventory = str(request.config.option.ansible_inventory)
    runner = AnsibleRunner(inventory)
    (pair,) = runner.get_hosts("chainlink_pairs")
    variables = runner.get_variables(pair)
    name = os.environ["MOLECULE_SCENARIO_NAME"]
    return Scenario(
        pair=pair,
        variables=variables,
        inventory=inventory,
        ephemeral=Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]),
        database=f"chainlink_{name}",
        pg_port=int(variables["molecule_pg_port"]),
        pg_password=str(variables["molecule_pg_password"]),
    )
