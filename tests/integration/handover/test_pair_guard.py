# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""pair_guard through the ansible CLI against a real PostgreSQL: keyed by the database (not the pair's name), held for
the run however long, owned by the run's token as the database shows it (idempotent within a run, refused to any other
run, also in check mode, with the holder named), released when the owning run is gone or on state=absent; a run that
lost its guard stops before its next change (the node role's entry points prove it right before acting)."""

from __future__ import annotations

import json
import subprocess
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils._daemon import process_start_time
from ansible_collections.nodeops.chainlink.plugins.module_utils._guard import GUARD_KEY
from ansible_collections.nodeops.chainlink.plugins.module_utils._run_token import application_name, boot_id, machine_id, make_token
from tests.integration.handover.lab import VENV_BIN, ad_hoc, ansible_env
from tests.support.postgres import PostgresServer


def token_of_process(pid: int) -> str:
    """The run token the controller makes for a run whose main process is pid (here: a stand-in for ansible-playbook)."""
    return make_token(pid, process_start_time(pid) or "0", machine_id(), boot_id())


@pytest.fixture
def databases(handover_pg: PostgresServer) -> t.Iterator[tuple[PostgresServer, list[str]]]:
    names = [handover_pg.create_database("guard"), handover_pg.create_database("guard")]
    try:
        yield handover_pg, names
    finally:
        for name in names:
            handover_pg.drop_database(name)


def guard_sessions(pg: PostgresServer, database: str) -> list[str]:
    """application_name of each session holding the guard key in that database (from pg_locks, independently)."""
    conn = pg.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid JOIN pg_database d ON d.oid = l.database"
                " WHERE l.locktype = 'advisory' AND d.datname = %s AND l.classid = %s AND l.objid = %s AND l.objsubid = 2 AND l.granted",
                (database, *GUARD_KEY),
            )
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


@pytest.fixture
def owner() -> t.Iterator[subprocess.Popen[bytes]]:
    """Stands for the ansible-playbook run that takes the guard."""
    proc = subprocess.Popen(["sleep", "300"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_guard_is_held_per_database_and_idempotent_within_a_run(databases: tuple[PostgresServer, list[str]], tmp_path: Path, owner: t.Any) -> None:
    pg, (one, two) = databases
    run = {"owner_pid": owner.pid, "run_token": token_of_process(owner.pid)}
    first = ad_hoc("pair_guard", pg.url(one), tmp_path, name="pair-a", **run)
    assert first["_ok"] and first["changed"] and first["held"], first.get("msg", first)
    assert [e["event"] for e in first["events"]] == ["taken"]
    assert guard_sessions(pg, one) == [application_name(run["run_token"], "pair-a")]
    again = ad_hoc("pair_guard", pg.url(one), tmp_path, name="pair-a", **run)
    assert again["_ok"] and not again["changed"] and again["pid"] == first["pid"]
    held = ad_hoc("pair_guard", pg.url(one), tmp_path, name="pair-a", state="held", **run)
    assert held["_ok"] and held["held"] and not held["changed"], held
    # Another pair's database is another guard.
    other = ad_hoc("pair_guard", pg.url(two), tmp_path, name="pair-b", **run)
    assert other["_ok"] and other["changed"], other
    assert guard_sessions(pg, two) == [application_name(run["run_token"], "pair-b")]
    released = ad_hoc("pair_guard", pg.url(one), tmp_path, name="pair-a", state="absent", run_token=run["run_token"])
    assert released["_ok"] and released["changed"]
    assert guard_sessions(pg, one) == [] and guard_sessions(pg, two) != []
    assert not ad_hoc("pair_guard", pg.url(one), tmp_path, name="pair-a", state="absent", run_token=run["run_token"])["changed"]


def test_second_run_on_the_same_database_is_refused_under_any_name(databases: tuple[PostgresServer, list[str]], tmp_path: Path, owner: t.Any) -> None:
    pg, (one, _two) = databases
    token = token_of_process(owner.pid)
    first = ad_hoc("pair_guard", pg.url(one), tmp_path / "one", name="pair-a", owner_pid=owner.pid, run_token=token)
    assert first["_ok"], first
    second_owner = subprocess.Popen(["sleep", "300"])
    try:
        # Another controller (its own state dir) whose inventory calls the same pair otherwise.
        for check_mode in (False, True):
            args = {
                "name": "renamed",
                "owner_pid": second_owner.pid,
                "run_token": token_of_process(second_owner.pid),
                "timeout": 1,
                **({"_ansible_check_mode": True} if check_mode else {}),
            }
            started = time.monotonic()
            second = ad_hoc("pair_guard", pg.url(one), tmp_path / "two", **args)
            assert not second["_ok"]
            assert "another run is changing the pair of 'renamed'" in second["msg"]
            assert f"'{application_name(token, 'pair-a')}'" in second["msg"] and "Nothing was changed" in second["msg"]
            assert second["holder_tokens"] == [token]
            assert time.monotonic() - started >= (0 if check_mode else 1.0)  # waited for a run that might be ending
        assert guard_sessions(pg, one) == [application_name(token, "pair-a")]
    finally:
        second_owner.kill()
        second_owner.wait()


def test_guard_is_released_when_its_run_is_gone(databases: tuple[PostgresServer, list[str]], tmp_path: Path) -> None:
    pg, (one, _two) = databases
    run = subprocess.Popen(["sleep", "300"])
    taken = ad_hoc("pair_guard", pg.url(one), tmp_path, name="pair-a", owner_pid=run.pid, run_token=token_of_process(run.pid))
    assert taken["_ok"], taken
    assert guard_sessions(pg, one)
    run.kill()  # the controller is gone (Ctrl-C, SIGKILL, lost machine)
    run.wait()
    deadline = time.monotonic() + 5
    while guard_sessions(pg, one) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert guard_sessions(pg, one) == []
    # The next run takes it at once.
    with subprocess.Popen(["sleep", "300"]) as nxt:
        try:
            assert ad_hoc("pair_guard", pg.url(one), tmp_path, name="pair-a", owner_pid=nxt.pid, run_token=token_of_process(nxt.pid))["_ok"]
        finally:
            nxt.kill()


def test_a_run_that_lost_its_guard_stops_before_its_next_change(databases: tuple[PostgresServer, list[str]], tmp_path: Path) -> None:
    """The guard is taken, then lost mid-run (its session ended, another session took the key): the node role's next
    change, a stop, proves the guard from the database first, fails naming the holder, and leaves the container running."""
    pg, (one, _two) = databases
    container = f"guard-victim-{tmp_path.name[-8:]}".lower()
    subprocess.run(
        ["docker", "run", "-d", "--name", container, "--network", "host", "--label", "nodeops.test=true", "nodeops-lab/base:bookworm", "sleep", "300"],
        check=True,
        capture_output=True,
    )
    flag = tmp_path / "go"
    instance = {"pair": "pair-a", "role": "primary", "container_name": container, "docker_host": "localhost", "database_url": pg.url(one)}
    playbook = tmp_path / "lost.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {"name": "take", "nodeops.chainlink.pair_guard": {"name": "pair-a", "login_url": pg.url(one), "state_dir": str(tmp_path / "state")}},
                        {"name": "mid-run", "ansible.builtin.wait_for": {"path": str(flag), "timeout": 60}},
                        {
                            "name": "change",
                            "ansible.builtin.include_role": {"name": "nodeops.chainlink.node", "tasks_from": "stop"},
                            "vars": {"node_instance": instance, "node_guard": True, "node_database_check_host": "localhost", "node_stop_timeout": 2},
                        },
                    ],
                }
            ]
        )
    )
    env = {**ansible_env(), "ANSIBLE_PYTHON_INTERPRETER": str(VENV_BIN / "python"), "ANSIBLE_LOCALHOST_WARNING": "false"}
    thief = pg.connect(one)
    thief.autocommit = True
    try:
        with subprocess.Popen(
            [str(VENV_BIN / "ansible-playbook"), "-c", "local", "-i", "localhost,", str(playbook)], env=env, stdout=subprocess.PIPE, text=True
        ) as run:
            deadline = time.monotonic() + 60
            while not guard_sessions(pg, one) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert guard_sessions(pg, one), "the run never took the guard"
            with thief.cursor() as cur:
                # another run takes the guard the moment this run's session ends (a blocking lock: no window between)
                cur.execute("SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a WHERE a.application_name LIKE 'nodeops.chainlink pair_guard %%'")
                cur.execute("SET application_name = 'another run'")
                cur.execute("SELECT pg_advisory_lock(%s, %s)", GUARD_KEY)
            flag.touch()
            out, _err = run.communicate(timeout=120)
        assert run.returncode != 0, out
        assert "this run lost the guard of 'pair-a'" in out and "'another run'" in out, out[-3000:]
        assert guard_sessions(pg, one) == ["another run"]
        state = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", container], capture_output=True, text=True, check=True)
        assert state.stdout.strip() == "true", "the run stopped the container although it had lost the guard"
    finally:
        thief.close()
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
