# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""A Docker host (or the database check host) that cannot be reached at the moment of a change fails the change like any
other error, so the caller's rescue runs: without ignore_unreachable Ansible drops the pair from the play, and neither its
rescue nor its always section (the handover's restore and report) would run. No Docker engine is needed: nothing is
reached (a loopback address and port where nothing listens)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.handover.lab import VENV_BIN, ansible_env

DEAD = {
    "ansible_host": "127.0.0.9",
    "ansible_port": 9,  # discard: nothing listens on loopback
    "ansible_connection": "ssh",
    "ansible_ssh_common_args": "-o ConnectTimeout=3 -o ControlMaster=no",
    "ansible_ssh_retries": 0,
}


@pytest.mark.parametrize("entry", ["stop", "start", "guard"])
def test_an_unreachable_host_fails_into_the_rescue(entry: str, tmp_path: Path) -> None:
    instance = {"pair": "pair-u", "role": "primary", "container_name": "pair-u-primary", "docker_host": "dead", "database_check_host": "dead"}
    if entry == "guard":  # the Docker host is fine (never reached): the check host is not
        instance["docker_host"] = "localhost"
    change = {
        "name": "change",
        "ansible.builtin.include_role": {"name": "nodeops.chainlink.node", "tasks_from": "stop" if entry == "guard" else entry},
        "vars": {
            "node_instance": instance,
            "node_guard": entry == "guard",
            "node_database_url": "postgresql://u:p@127.0.0.1:9/db",
        },
    }
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "pair-u",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "block": [change],
                            "rescue": [{"name": "rescued", "ansible.builtin.debug": {"msg": "RESCUED {{ ansible_failed_result.msg }}"}}],
                            "always": [{"name": "always", "ansible.builtin.debug": {"msg": "ALWAYS"}}],
                        }
                    ],
                }
            ]
        )
    )
    inventory = tmp_path / "inventory.json"
    local = {"ansible_connection": "local", "ansible_python_interpreter": str(VENV_BIN / "python")}
    inventory.write_text(json.dumps({"all": {"hosts": {"pair-u": local, "localhost": local, "dead": DEAD}}}))
    run = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(playbook)], env=ansible_env(), capture_output=True, text=True, timeout=120, check=False
    )
    out = run.stdout
    assert "RESCUED" in out and "ALWAYS" in out, out[-3000:]
    if entry == "guard":
        assert "The database check host dead is unreachable" in out, out[-3000:]
    else:
        assert "Docker host dead is unreachable" in out, out[-3000:]
    assert "unreachable=0" in out.split("PLAY RECAP")[1].split("pair-u")[1].splitlines()[0], out[-1500:]
