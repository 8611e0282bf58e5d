# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The run token and who holds the guard, as the database shows it; the process that bounds the guard's daemon."""

from __future__ import annotations

import json
import os
import threading
import typing as t
from pathlib import Path

from ansible_collections.nodeops.chainlink.plugins.module_utils import _guard
from ansible_collections.nodeops.chainlink.plugins.module_utils._daemon import owner_in_chain, process_start_time
from ansible_collections.nodeops.chainlink.plugins.module_utils._guard import GuardWorker, held_by, run_tokens
from ansible_collections.nodeops.chainlink.plugins.module_utils._run_token import (
    application_name,
    make_token,
    parse_token,
    run_state,
    token_of,
)

MACHINE = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
BOOT = "5d3b6c1e-0000-4000-8000-000000000001"


def test_token_names_the_run_process_for_good() -> None:
    token = make_token(4194304, "987654321012", MACHINE, BOOT)
    assert parse_token(token) == {"machine": token[1:7], "boot": token[7:9], "pid": 4194304, "start_time": "987654321012"}
    # another start time of the same PID (a reused PID) is another run; another machine too
    assert make_token(4194304, "987654321013", MACHINE, BOOT) != token
    assert make_token(4194304, "987654321012", "another-machine", BOOT) != token
    assert parse_token("nodeops.chainlink pair_guard pair-a") is None and parse_token("") is None


def test_the_token_survives_in_the_application_name_whatever_the_pair_is_called() -> None:
    token = make_token(4194304, "987654321012", MACHINE, BOOT)
    for name in ("pair-a", "p" * 80, "paire-\u00e9t\u00e9-" * 10):
        app = application_name(token, name)
        assert len(app.encode()) <= 63  # PostgreSQL's NAMEDATALEN - 1: a longer name is cut by the server
        assert token_of(app) == token
    assert token_of("nodeops.chainlink pair_guard pair-a") is None  # an older collection's guard carries no token
    assert token_of(None) is None


def test_held_by_reads_the_holders_rows() -> None:
    mine = make_token(100, "5000", MACHINE, BOOT)
    other = make_token(101, "5001", MACHINE, BOOT)
    rows = [{"pid": 7, "application_name": application_name(other, "pair-a")}]
    assert not held_by(rows, mine) and held_by(rows, other) and run_tokens(rows) == [other]
    assert not held_by([], mine)
    assert run_tokens([{"pid": 8, "application_name": "psql"}]) == []


def test_run_state_is_judged_only_by_the_controller_that_made_the_token() -> None:
    token = make_token(100, "5000", MACHINE, BOOT)
    assert run_state(token, MACHINE, BOOT, lambda pid: "5000" if pid == 100 else None) == "alive"
    assert run_state(token, MACHINE, BOOT, lambda pid: None) == "ended"
    assert run_state(token, MACHINE, BOOT, lambda pid: "6000") == "ended"  # the PID reused by another process
    assert run_state(token, MACHINE, "another-boot", lambda pid: "5000") == "ended"
    assert run_state(token, "another-machine", BOOT, lambda pid: "5000") == "unknown"
    assert run_state("not-a-token", MACHINE, BOOT, lambda pid: "5000") == "unknown"


def test_owner_is_the_run_or_the_ssh_connection_by_any_sshd_name() -> None:
    worker = (300, "/usr/bin/python3 /venv/bin/ansible-playbook -i inv site.yml")
    main = (200, "/usr/bin/python3 /venv/bin/ansible-playbook -i inv site.yml")
    assert owner_in_chain([(400, "/bin/sh -c python3"), worker, main, (1, "/sbin/init")]) == (200, "run")
    for sshd in ("sshd: nodeops-ssh@notty", "sshd-session: nodeops-ssh@notty"):
        chain = [(400, "/bin/sh -c python3"), (350, sshd), (340, "sshd: nodeops-ssh [priv]"), (10, "/usr/sbin/sshd -D")]
        assert owner_in_chain(chain) == (350, "connection"), sshd
    assert owner_in_chain([(400, "/bin/sh"), (10, "/usr/sbin/sshd -D")]) == (None, None)


class _FakeClient:
    connected = True

    def query(self, *_args: t.Any) -> list[dict[str, t.Any]]:
        return [{"ok": 1}]

    def close(self) -> None:
        self.connected = False


def test_the_daemon_follows_the_run_to_a_new_connection_and_ends_without_one(tmp_path: Path, monkeypatch: t.Any) -> None:
    monkeypatch.setattr(_guard, "KEEPALIVE_EVERY", 0.01)
    meta = tmp_path / "guard.json"
    me = (os.getpid(), process_start_time(os.getpid()))
    gone = (2**22 + 1, "1")  # no such process
    worker = GuardWorker(t.cast(t.Any, _FakeClient()), "pair-a", 0, gone, tmp_path / "status.json", meta, grace=5.0)
    meta.write_text(json.dumps({"owner_pid": me[0], "owner_start_time": me[1]}))
    assert not worker.owner_gone() and worker.owner == me  # a reconnect: the newer connection is adopted
    assert [e["event"] for e in worker.events] == ["owner"]
    worker.owner = gone
    meta.write_text(json.dumps({"owner_pid": gone[0], "owner_start_time": gone[1]}))
    assert not worker.owner_gone()  # within the grace period
    worker.grace = 0.0
    assert worker.owner_gone()
    runner = threading.Thread(target=worker.run, daemon=True)
    runner.start()
    runner.join(5)
    assert not runner.is_alive()  # ends by itself, which ends its session
