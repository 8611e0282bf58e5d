# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab CLI against the real Docker engine: start, prove PostgreSQL answers, refuse a taken port, remove."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import psycopg2
import pytest

from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "lab" / "lab"


def run_lab(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(LAB), command], env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def lab_env() -> dict[str, str]:
    """A lab of its own: unique container name, port and label, so the real lab is never touched."""
    tag = uuid.uuid4().hex[:8]
    return {
        "LAB_PG_CONTAINER": f"nodeops-test-lab-{tag}",
        "LAB_PG_PORT": str(free_port()),
        "LAB_LABEL": f"nodeops.test.lab={tag}",
        "LAB_PG_PASSWORD": "pw-" + tag,
    }


def container_exists(name: str) -> bool:
    return subprocess.run(["docker", "inspect", name], capture_output=True, check=False).returncode == 0


def test_up_starts_postgres_on_loopback_and_down_removes_it(lab_env: dict[str, str]) -> None:
    try:
        up = run_lab("up", **lab_env)
        assert up.returncode == 0, up.stderr
        assert f"127.0.0.1:{lab_env['LAB_PG_PORT']}" in up.stdout
        conn = psycopg2.connect(host="127.0.0.1", port=int(lab_env["LAB_PG_PORT"]), user="postgres", password=lab_env["LAB_PG_PASSWORD"], dbname="postgres")
        with conn.cursor() as cur:
            cur.execute("SHOW listen_addresses")
            assert cur.fetchone() == ("127.0.0.1",)
        conn.close()
        network = subprocess.run(
            ["docker", "inspect", "-f", "{{.HostConfig.NetworkMode}}", lab_env["LAB_PG_CONTAINER"]], capture_output=True, text=True, check=True
        )
        assert network.stdout.strip() == "host"

        again = run_lab("up", **lab_env)
        assert again.returncode == 0 and "already running" in again.stdout
    finally:
        down = run_lab("down", **lab_env)
    assert down.returncode == 0, down.stderr
    assert "removed 1 lab container" in down.stdout
    assert not container_exists(lab_env["LAB_PG_CONTAINER"])


def test_up_refuses_a_taken_port_and_names_the_variable(lab_env: dict[str, str]) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(lab_env["LAB_PG_PORT"])))
        squatter.listen(1)
        result = run_lab("up", **lab_env)
    assert result.returncode == 1
    assert f"port 127.0.0.1:{lab_env['LAB_PG_PORT']} is already taken" in result.stderr
    assert "LAB_PG_PORT=<port>" in result.stderr
    assert not container_exists(lab_env["LAB_PG_CONTAINER"])


def test_images_are_cached_on_a_second_build() -> None:
    """All lab images exist after `lab images`; a rerun reuses every layer (no step executes again)."""
    result = subprocess.run(["bash", str(LAB), "images"], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    assert "base image nodeops-lab/base:bookworm cached" in result.stdout
    for version in ("1.2.0", "1.2.1", "1.10.0", "1.11.0", "2.28.0", "2.29.0"):
        assert f"image nodeops-lab/chainlink-sim:{version} ready" in result.stdout
    history = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", "nodeops-lab/postgres:15"], capture_output=True, text=True, check=True)
    again = subprocess.run(["bash", str(LAB), "images"], capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0
    after = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", "nodeops-lab/postgres:15"], capture_output=True, text=True, check=True)
    assert after.stdout == history.stdout
