# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""lock_observer through the ansible CLI against a real PostgreSQL: samples, lease gaps, the guard, self-ending."""

from __future__ import annotations

import json
import subprocess
import time
import typing as t
from pathlib import Path

import pytest

from tests.integration.handover.lab import VENV_BIN, ansible_env
from tests.support.postgres import PostgresServer

A = "aaaaaaaa-1111-4111-8111-111111111111"
B = "bbbbbbbb-2222-4222-8222-222222222222"


def observer(url: str, state_dir: Path, **args: t.Any) -> dict[str, t.Any]:
    params = {"login_url": url, "state_dir": str(state_dir), **args}
    run = subprocess.run(
        [str(VENV_BIN / "ansible"), "localhost", "-m", "nodeops.chainlink.lock_observer", "-a", json.dumps(params), "-o"],
        capture_output=True,
        text=True,
        env={**ansible_env(), "ANSIBLE_PYTHON_INTERPRETER": str(VENV_BIN / "python"), "ANSIBLE_LOCALHOST_WARNING": "false"},
        timeout=120,
        check=False,
    )
    out = run.stdout.strip()
    verdict, _sep, payload = out.partition(" => ")
    result = json.loads(payload) if payload.startswith("{") else {"msg": out + run.stderr}
    result["_ok"] = run.returncode == 0
    return result


@pytest.fixture
def db(handover_pg: PostgresServer) -> t.Iterator[tuple[str, t.Any]]:
    name = handover_pg.create_database("obs")
    conn = handover_pg.connect(name)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE lease_lock (client_id uuid NOT NULL, expires_at timestamptz NOT NULL)")
        cur.execute("CREATE UNIQUE INDEX only_one_lease_lock ON lease_lock ((client_id IS NOT NULL))")
    try:
        yield handover_pg.url(name), conn
    finally:
        conn.close()
        handover_pg.drop_database(name)


def guard_held(conn: t.Any, name: str) -> bool:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = (hashtext(%s)::bigint & 4294967295)::oid AND objsubid = 2",
            (0x6E6F6465, name),
        )
        return bool(cur.fetchone()[0])


def test_observes_a_graceful_handover_with_an_exact_lease_gap(db: tuple[str, t.Any], tmp_path: Path) -> None:
    url, conn = db
    started = observer(url, tmp_path, name="obs-a", lease_duration=5, owner_pid=0)
    assert started["_ok"], started["msg"]
    assert guard_held(conn, "obs-a")
    with conn.cursor() as cur:
        cur.execute("INSERT INTO lease_lock VALUES (%s, now() + interval '5 seconds')", (A,))
        time.sleep(1.0)
        cur.execute("UPDATE lease_lock SET expires_at = now() WHERE client_id = %s", (A,))  # A's graceful release
        time.sleep(0.6)
        cur.execute("UPDATE lease_lock SET client_id = %s, expires_at = now() + interval '5 seconds'", (B,))  # B's acquisition
        time.sleep(0.5)
    stopped = observer(url, tmp_path, name="obs-a", state="stopped")
    assert stopped["_ok"] and stopped["changed"], stopped["msg"]
    seen = stopped["observation"]
    (tr,) = seen["transitions"]
    assert (tr["from"], tr["to"], tr["released"], tr["exact"]) == (A, B, "graceful", True)
    assert 0.55 <= tr["lease_gap"] <= 0.8  # the 0.6 s sleep, measured from the rows' own timestamps
    assert seen["two_holders_seen"] is False
    samples = seen["samples"]
    assert samples["db_samples"] >= 30 and samples["db_late"] <= 3 and samples["db_max_interval"] <= 1.0, samples  # 50 ms asked; load may delay a few
    assert seen["ended"] == "stopped"
    assert not guard_held(conn, "obs-a")
    # Stopping again changes nothing and gives the same summary.
    again = observer(url, tmp_path, name="obs-a", state="stopped")
    assert again["_ok"] and not again["changed"] and again["observation"]["transitions"] == seen["transitions"]


def test_second_observer_of_the_same_pair_is_refused_by_the_guard(db: tuple[str, t.Any], tmp_path: Path) -> None:
    url, _conn = db
    first = observer(url, tmp_path / "one", name="obs-b", owner_pid=0)
    assert first["_ok"], first["msg"]
    try:
        second = observer(url, tmp_path / "two", name="obs-b", owner_pid=0)  # another controller: its own state dir
        assert not second["_ok"]
        assert "another handover of 'obs-b' is in progress" in second["msg"]
        assert f"pid {first['pid']}" not in second["msg"]  # the message names the guard's database session, not a local pid
        assert "nodeops.chainlink lock_observer obs-b" in second["msg"]
    finally:
        observer(url, tmp_path / "one", name="obs-b", state="stopped")


def test_sampler_ends_itself_when_its_run_is_gone_and_frees_the_guard(db: tuple[str, t.Any], tmp_path: Path) -> None:
    url, conn = db
    owner = subprocess.Popen(["sleep", "120"])  # stands for the ansible-playbook run that started the observer
    try:
        started = observer(url, tmp_path, name="obs-c", owner_pid=owner.pid)
        assert started["_ok"], started["msg"]
        assert guard_held(conn, "obs-c")
    finally:
        owner.kill()  # the run is gone (Ctrl-C, lost controller)
        owner.wait()
    deadline = time.monotonic() + 5
    while guard_held(conn, "obs-c") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not guard_held(conn, "obs-c")
    stopped = observer(url, tmp_path, name="obs-c", state="stopped")
    assert stopped["_ok"] and not stopped["changed"]
    assert stopped["observation"]["ended"] == "owner_gone"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"interval": 0.5}, "interval must be above 0 and at most 0.1 seconds"),
        ({"lease_table": "lease_lock; DROP TABLE x"}, "is not a valid name"),
        ({"http_probes": {"primary": "127.0.0.1:6688/readyz"}}, "must start with http:// or https://"),
        ({"name": "../escape"}, "must be a plain name"),
    ],
)
def test_bad_input_is_refused_before_anything_starts(db: tuple[str, t.Any], tmp_path: Path, args: dict[str, t.Any], message: str) -> None:
    url, _conn = db
    result = observer(url, tmp_path, **{"name": "obs-d", **args})
    assert not result["_ok"]
    assert message in result["msg"]
    assert not list(tmp_path.glob("*.json"))
