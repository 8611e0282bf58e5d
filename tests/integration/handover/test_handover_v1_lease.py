# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""A 1.x pair in ``lease`` mode (environment configuration, DATABASE_LOCKING_MODE=lease, no advisory lock) deployed by
deploy.yml and switched over and back by switchover.yml while jobs flow: the lease alone is handed over, the advisory
key is never taken, and every job is completed once by the lease holder of its moment."""

from __future__ import annotations

import typing as t

import pytest

from tests.integration.handover.lab import HandoverLab
from tests.support.postgres import PostgresServer

VERSION = "1.11.0"
ENV_LEASE = {"chainlink_config_format": "env", "chainlink_locking_mode": "lease"}


@pytest.fixture(scope="module")
def pair(handover_pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[HandoverLab]:
    lab = HandoverLab(handover_pg, tmp_path_factory.mktemp("v1-lease"), name="hovt-v1-lease", ports=(16852, 16853))
    lab.write_inventory(VERSION, ENV_LEASE)
    try:
        run = lab.playbook("deploy.yml")
        assert run.returncode == 0, f"deploy.yml failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
        yield lab
    finally:
        lab.destroy()


def advisory_held(lab: HandoverLab) -> bool:
    conn = lab.connect()
    try:
        with conn.cursor() as cur:
            # the node's default ADVISORY_LOCK_ID, as pg_locks shows a single-bigint key
            cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 239192036 AND objid = 2840971190 AND objsubid = 1")
            return int(cur.fetchone()[0]) > 0
    finally:
        conn.close()


def test_the_lease_mode_pair_runs_from_environment_variables(pair: HandoverLab) -> None:
    env = dict(e.split("=", 1) for e in pair.inspect("primary")["Config"]["Env"])
    assert env["DATABASE_LOCKING_MODE"] == "lease"
    assert env["LOG_FILE_MAX_SIZE"] == "100mb"  # the node's own debug log file, bounded
    assert pair.lock()["holder"] is not None
    assert not advisory_held(pair)


def test_switchover_and_back_hand_over_the_lease_only(pair: HandoverLab) -> None:
    with pair.producer() as producer:
        there = pair.playbook("switchover.yml")
        assert there.returncode == 0, there.stdout[-4000:]
        first = pair.latest_report("switchover")
        back = pair.playbook("switchover.yml", "-e", "direction=back")
        assert back.returncode == 0, back.stdout[-4000:]
    second = pair.latest_report("switchover")
    assert "lock handed over: lease;" in " ".join(there.stdout.split())
    for report, active in ((first, "secondary"), (second, "primary")):
        assert report["outcome"] == "ok", report["failure"]
        assert report["lock"] == ["lease"]
        assert report["advisory_gaps"] == []
        assert len(report["lock_gaps"]) == len(report["lease_gaps"]) == 1
        assert all(tr["lock"] == "lease" and tr["released"] == "graceful" for tr in report["transitions"]), report["transitions"]
        assert report["two_holders_seen"] is False
        assert report["state_after"]["instances"][active]["state"] == "active"
        assert report["versions_after"] == {"primary": VERSION, "secondary": VERSION}
    assert pair.lock()["holder"] == second["state_after"]["instances"]["primary"]["app_id"]
    assert not advisory_held(pair)
    assert pair.check_jobs(producer.ids, [first, second])["jobs"] == len(producer.ids) > 0
