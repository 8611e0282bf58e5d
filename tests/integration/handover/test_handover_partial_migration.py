# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault of a new version that fails after migrating part-way (issue 21).

The node runs its migrations before it writes node_versions (core/cmd/shell.go @v2.29.0 handleNodeVersioning), so a
version failing part-way leaves node_versions at the old version over a schema that moved. One pair on 2.28.0; the
upgrade to 2.29.0 runs the new version with a broken migration (the double's SIM_MIGRATE_FAIL_AT): its takeover
fails, and the old version must not be started again on that database. A job producer runs; no job runs twice.
"""

from __future__ import annotations

import typing as t

import pytest

from tests.integration.handover.lab import HandoverLab, deployed_pair
from tests.support.postgres import PostgresServer

OLD, NEW = "2.28.0", "2.29.0"
# 2.28.0 migrated up to 2280, 2.29.0 goes to 2290 (the double's numbering): 2281-2284 applied, 2285 broken
BROKEN = 2285


@pytest.fixture(scope="module")
def pair(handover_pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[HandoverLab]:
    with deployed_pair(handover_pg, tmp_path_factory.mktemp("handover-migration"), "hovmig", (16864, 16865), OLD) as lab:
        yield lab


def schema(lab: HandoverLab) -> tuple[int, str]:
    conn = lab.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT max(version_id) FROM goose_migrations")
            (moved,) = cur.fetchone()
            cur.execute("SELECT version FROM node_versions")
            (version,) = cur.fetchone()
    finally:
        conn.close()
    return int(moved), str(version)


def test_a_version_failing_part_way_through_its_migrations_is_never_rolled_back_onto_the_old_one(pair: HandoverLab) -> None:
    assert schema(pair) == (2280, OLD)
    with pair.producer() as producer:
        run = pair.playbook("upgrade.yml", "-e", f"chainlink_version={NEW}", "-e", f'{{"handover_env_extra": {{"SIM_MIGRATE_FAIL_AT": "{BROKEN}"}}}}')
    assert run.returncode != 0
    # the schema moved, node_versions did not: only goose_migrations tells
    assert schema(pair) == (BROKEN - 1, OLD)
    report = pair.latest_report("upgrade")
    assert report["outcome"] == "failed"
    assert report["failure"]["rescue"] == "schema_moved", report["failure"]
    assert "CRITICAL" in report["failure"]["summary"] and "migrating the database part-way" in report["failure"]["summary"]
    assert "Never start primary" in report["failure"]["next"] and "restore the database backup" in report["failure"]["next"]
    assert "CRITICAL" in run.stdout
    # the old version was stopped by the takeover and not started again
    assert not pair.running("primary")
    assert pair.image("primary") == f"nodeops-lab/chainlink-sim:{OLD}"
    assert report["two_holders_seen"] is False
    # no instance serves now: the jobs completed before were completed once each, by the holder of their moment
    assert pair.check_jobs(producer.ids, [report], require_all=False)["jobs"] > 0
