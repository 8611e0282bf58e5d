# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a Docker host reached over SSH needs (docs/targets.md), refused in preflight with the package to install.

A real sshd (lab/lab ssh-up, on 127.0.0.2 and 127.0.0.3, port 17718) and a Python on that host without the Debian
packages: a virtual environment of the system Python without its site packages, as a host that lacks python3-requests
and python3-psycopg2 looks to Ansible. One deploy.yml run, one pair per case, each failing on its own:
- sshpair-req-docker: its Docker host's Python lacks requests (and psycopg2, since the database checks run there too);
- sshpair-req-check: its Docker host is fine, but chainlink_database_check_host names the host without psycopg2, whose
  lock_info fails there - which also proves that the database check ran on the named host, not on the controller.
Nothing is created: no container, no config directory.
"""

from __future__ import annotations

import subprocess
import typing as t
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.playbook import run_playbook
from tests.support.ssh_lab import HOME, SSH_USER
from tests.support.ssh_lab import ssh_lab as lab_sshd

SSH_PORT = 17718


@pytest.fixture(scope="module")
def ssh_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with lab_sshd(tmp_path_factory.mktemp("ssh"), SSH_PORT) as state:
        yield state


def ssh(state: Path, address: str, command: str) -> str:
    cmd = ["ssh", "-i", str(state / "id_ed25519"), "-p", str(SSH_PORT), "-o", f"UserKnownHostsFile={state / 'known_hosts'}"]
    return subprocess.run([*cmd, f"{SSH_USER}@{address}", command], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def bare_python(ssh_lab: Path) -> Iterator[str]:
    """A Python on the SSH host that has neither requests nor psycopg2 (made by the SSH user, in its home)."""
    venv = HOME / f"bare-python-{uuid.uuid4().hex[:8]}"
    ssh(ssh_lab, "127.0.0.2", f"/usr/bin/python3 -m venv --without-pip {venv}")
    python = f"{venv}/bin/python3"
    # the premise: this interpreter really lacks both libraries, while the system Python has them
    probe = "import importlib.util as u; print(u.find_spec('requests') is None, u.find_spec('psycopg2') is None)"
    assert ssh(ssh_lab, "127.0.0.2", f'{python} -c "{probe}"').split() == ["True", "True"]
    assert ssh(ssh_lab, "127.0.0.2", f'/usr/bin/python3 -c "{probe}"').split() == ["False", "False"]
    try:
        yield python
    finally:
        ssh(ssh_lab, "127.0.0.2", f"rm -rf {venv}")


def ssh_host(state: Path, address: str, python: str) -> dict[str, t.Any]:
    return {
        "ansible_host": address,
        "ansible_connection": "ssh",
        "ansible_user": SSH_USER,
        "ansible_port": SSH_PORT,
        "ansible_ssh_private_key_file": str(state / "id_ed25519"),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={state / 'known_hosts'} -o IdentitiesOnly=yes",
        "ansible_ssh_host_key_checking": True,
        "ansible_python_interpreter": python,
        "ansible_pipelining": True,
        "chainlink_config_root": f"{HOME}/test-ssh-targets/{address}",
    }


def pair(name: str, docker_host: str, ports: tuple[int, int], **extra: t.Any) -> dict[str, t.Any]:
    return {
        "chainlink_instances": {
            "primary": {"docker_host": docker_host, "container_name": f"{name}-primary", "http_port": ports[0]},
            "secondary": {"docker_host": docker_host, "container_name": f"{name}-secondary", "http_port": ports[1]},
        },
        # a database that is never reached: every refusal comes first
        "chainlink_database_url": f"postgresql://postgres:ssh-targets-db-password@127.0.0.1:17721/{name.replace('-', '_')}?sslmode=disable",
        **extra,
    }


def test_a_docker_host_without_the_packages_is_refused_naming_them(ssh_lab: Path, bare_python: str, tmp_path: Path) -> None:
    inventory = {
        "all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
            "children": {
                "docker_hosts": {
                    "hosts": {
                        "docker-bare": ssh_host(ssh_lab, "127.0.0.2", bare_python),
                        "docker-system": ssh_host(ssh_lab, "127.0.0.3", "/usr/bin/python3"),
                    }
                },
                "chainlink_pairs": {
                    "vars": {
                        "chainlink_image": "nodeops-lab/chainlink-sim",
                        "chainlink_version": "2.29.0",
                        "chainlink_listen_ip": "127.0.0.1",
                        "chainlink_shutdown_grace_period": "2s",
                        "chainlink_keystore_password": "ssh-targets-keystore-password",
                        "chainlink_api_email": "admin@nodeops.test",
                        "chainlink_api_password": "ssh-targets-api-password",
                        "chainlink_container_labels": {"nodeops.test": "true"},
                    },
                    "hosts": {
                        "sshpair-req-docker": pair("sshpair-req-docker", "docker-bare", (17702, 17703), chainlink_database_check_host="docker-bare"),
                        "sshpair-req-check": pair("sshpair-req-check", "docker-system", (17704, 17705), chainlink_database_check_host="docker-bare"),
                    },
                },
            },
        }
    }
    run = run_playbook("deploy.yml", inventory, tmp_path)
    failures = run.failures()
    assert run.rc != 0 and sorted(failures) == ["sshpair-req-check", "sshpair-req-docker"], failures

    docker = failures["sshpair-req-docker"]
    assert docker.startswith("nodeops.chainlink.node : Check the instance's settings and its image: Preflight refused instance sshpair-req-docker-primary"), (
        docker
    )
    version = subprocess.run(
        ["/usr/bin/python3", "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"], capture_output=True, text=True, check=True
    )
    for library, package, who in (("requests", "python3-requests", "community.docker's modules"), ("psycopg2", "python3-psycopg2", "the database checks")):
        assert (f"Docker host docker-bare: its Python {bare_python} ({version.stdout.strip()}) cannot import {library}, which {who}") in docker, docker
        assert f"install the Debian/Ubuntu package {package} there (apt-get install {package})" in docker, docker
    # the image lookup ran there too and failed for the same reason: not listed as a problem of its own
    assert "could not be asked" not in docker

    check = failures["sshpair-req-check"]
    assert check.startswith(
        "nodeops.chainlink.pair : Report an unreachable database: Preflight refused pair sshpair-req-check: its database does not answer"
    ), check
    assert "Failed to import the required Python library (psycopg2) on" in check and f"Python {bare_python}" in check, check
    assert "install the Debian/Ubuntu package python3-psycopg2 there" in check, check

    # nothing changed: no container, no config directory
    names = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}", "--filter", "name=sshpair-req-"], capture_output=True, text=True, check=True)
    assert names.stdout.split() == []
    assert not Path(f"{HOME}/test-ssh-targets").exists()
