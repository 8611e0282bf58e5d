# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""deploy.yml on a 1.x advisorylock pair whose database's advisory key a node outside the pair holds: refused after
a short wait, naming that node, with nothing started; once the foreign session ends, the same run deploys the pair and
proves it from the advisory lock (the active instance's session holds the key, the standby holds nothing)."""

from __future__ import annotations

import subprocess
import typing as t
import uuid

import pytest

from tests.integration.handover.lab import HandoverLab
from tests.support.postgres import PostgresServer

VERSION = "1.2.1"
ADVISORY_LOCK_ID = 1027321974924625846
FOREIGN = str(uuid.uuid4())


@pytest.fixture(scope="module")
def lab(handover_pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[HandoverLab]:
    lab = HandoverLab(handover_pg, tmp_path_factory.mktemp("v1-advisory"), name="hovt-v1-adv", ports=(16856, 16857))
    lab.write_inventory(VERSION, {"chainlink_locking_mode": "advisorylock"})
    handover_pg.execute(f'DROP DATABASE IF EXISTS "{lab.db}" WITH (FORCE)')
    handover_pg.execute(f'CREATE DATABASE "{lab.db}"')
    try:
        yield lab
    finally:
        lab.destroy()


def test_a_foreign_advisory_holder_is_refused_then_the_pair_deploys(lab: HandoverLab, handover_pg: PostgresServer) -> None:
    foreign = handover_pg.connect(lab.db, application_name=f"Chainlink 1.2.1 |App|{FOREIGN}")
    try:
        with foreign.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_ID,))
        refused = lab.playbook("deploy.yml")
    finally:
        foreign.close()
    assert refused.returncode != 0
    said = " ".join(refused.stdout.split())  # the YAML callback wraps long messages
    assert f"the advisory lock on its database is held by app {FOREIGN}" in said
    assert "another node uses this database" in said
    assert not lab.inspect("primary") and not lab.inspect("secondary")

    deployed = lab.playbook("deploy.yml")
    assert deployed.returncode == 0, deployed.stdout[-4000:]
    status = lab.playbook("status.yml")
    assert status.returncode == 0, status.stdout[-3000:]
    conn = lab.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('lease_lock') IS NULL")
            assert cur.fetchone()[0], "an advisorylock pair took a lease"
            cur.execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 239192036 AND l.objid = 2840971190 AND l.objsubid = 1"
            )
            (holder_name,) = cur.fetchone()
    finally:
        conn.close()
    app_id = holder_name.split("|App|")[1]
    log = subprocess.run(["docker", "logs", lab.containers["primary"]], capture_output=True, text=True, check=True)
    assert any("Chainlink booted" in line and app_id in line for line in (log.stdout + log.stderr).splitlines())
    said = " ".join(status.stdout.split())
    assert f"active primary ({lab.containers['primary']}, {VERSION}, app {app_id}), holding advisory, lease absent" in said
    assert "flags: none" in said
    assert "standby secondary connected" in said
