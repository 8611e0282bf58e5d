# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pair's guard on a database check host reached over real SSH (lab/lab ssh-up), with one ControlPersist master
connection shared by every run of the account, as Ansible's default SSH settings do: a second run through that master is
refused while the first holds the guard (the runs share the sshd process, not the token), and once the first has ended
the next run of the same controller takes it, although the first run's guard process lingers with the connection."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
import typing as t
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils._run_token import token_of
from tests.integration.handover.lab import VENV_BIN, ansible_env
from tests.integration.handover.test_pair_guard import guard_sessions
from tests.support.postgres import PostgresServer
from tests.support.ssh_lab import HOME, SSH_USER
from tests.support.ssh_lab import ssh_lab as lab_sshd

# a port of its own: the SSH tests of tests/integration/roles and Molecule's ssh_hosts may run at the same time
SSH_PORT = 17722


@pytest.fixture(scope="module")
def ssh_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with lab_sshd(tmp_path_factory.mktemp("ssh"), SSH_PORT, addresses="127.0.0.2") as state:
        yield state


def test_a_second_run_through_one_controlpersist_master_is_refused(ssh_lab: Path, handover_pg: PostgresServer, tmp_path: Path) -> None:
    pg = handover_pg
    db = pg.create_database("guardssh")
    state_dir = f"{HOME}/guard-ssh-{uuid.uuid4().hex[:8]}"
    # a short directory: the master's socket path must fit in 108 bytes
    control = Path(tempfile.mkdtemp(prefix="cp", dir="/tmp"))
    inventory = tmp_path / "inventory.json"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {
                        "check": {
                            "ansible_host": "127.0.0.2",
                            "ansible_connection": "ssh",
                            "ansible_user": SSH_USER,
                            "ansible_port": SSH_PORT,
                            "ansible_ssh_private_key_file": str(ssh_lab / "id_ed25519"),
                            "ansible_ssh_common_args": f"-o UserKnownHostsFile={ssh_lab / 'known_hosts'} -o IdentitiesOnly=yes",
                            # Ansible's own default, written out: every run of this account shares one master connection
                            "ansible_ssh_args": "-o ControlMaster=auto -o ControlPersist=120s",
                            "ansible_python_interpreter": "/usr/bin/python3",
                        },
                        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": str(VENV_BIN / "python")},
                    }
                }
            }
        )
    )
    env = {**ansible_env(), "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control), "ANSIBLE_LOCALHOST_WARNING": "false"}
    guard = {"name": "pair-ssh", "login_url": pg.url(db), "state_dir": state_dir}
    flag = tmp_path / "go"
    playbook = tmp_path / "first.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "check",
                    "gather_facts": False,
                    "tasks": [
                        {"name": "take", "nodeops.chainlink.pair_guard": guard},
                        {"name": "mid-run", "ansible.builtin.wait_for": {"path": str(flag), "timeout": 90}, "delegate_to": "localhost"},
                        {"name": "still ours", "nodeops.chainlink.pair_guard": {**guard, "state": "held"}},
                    ],
                }
            ]
        )
    )

    def ad_hoc(**args: t.Any) -> subprocess.CompletedProcess[str]:
        command = [str(VENV_BIN / "ansible"), "check", "-i", str(inventory), "-m", "nodeops.chainlink.pair_guard", "-a", json.dumps({**guard, **args})]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)

    try:
        with subprocess.Popen([str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(playbook)], env=env, stdout=subprocess.PIPE, text=True) as first:
            deadline = time.monotonic() + 60
            while not guard_sessions(pg, db) and time.monotonic() < deadline:
                time.sleep(0.2)
            holders = guard_sessions(pg, db)
            assert len(holders) == 1 and token_of(holders[0]), holders
            # the premise: the first run's master connection is there for the second run to share
            assert [p.name for p in control.iterdir()], "no ControlPersist master"
            second = ad_hoc(timeout=1)
            assert second.returncode != 0, second.stdout
            assert "another run is changing the pair of 'pair-ssh'" in second.stdout, second.stdout[-3000:]
            assert guard_sessions(pg, db) == holders
            flag.touch()
            out, _err = first.communicate(timeout=120)
        assert first.returncode == 0, out[-3000:]
        # the first run has ended; its guard process lives on with the shared master: the same controller knows the
        # run is gone, so the next run releases that guard and takes it
        third = ad_hoc()
        assert third.returncode == 0, third.stdout[-3000:]
        after = guard_sessions(pg, db)
        assert len(after) == 1 and token_of(after[0]) not in (None, token_of(holders[0])), after
    finally:
        ad_hoc(state="absent", force=True)
        for master in control.iterdir():
            subprocess.run(["ssh", "-o", f"ControlPath={master}", "-O", "exit", "127.0.0.2"], capture_output=True, check=False)
        key = ["-i", str(ssh_lab / "id_ed25519"), "-p", str(SSH_PORT), "-o", f"UserKnownHostsFile={ssh_lab / 'known_hosts'}"]
        subprocess.run(["ssh", *key, f"{SSH_USER}@127.0.0.2", f"rm -rf {state_dir}"], capture_output=True, check=False)
        subprocess.run(["rm", "-rf", str(control)], check=False)
        pg.drop_database(db)
