# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The sim image as containers (host networking, loopback ports): user, entrypoint, healthcheck, HTTP on the active only.

The image is (re)built from the current sources first; with the layer cache that takes seconds.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import tempfile
import typing as t
import uuid
from pathlib import Path

import pytest

from tests.integration.sim.helpers import V1, V2, Db
from tests.support.postgres import TEST_LABEL, free_port
from tests.support.sim import API_EMAIL, API_PASSWORD, KEYSTORE_PASSWORD, SIM_DIR
from tests.support.waiting import wait_until

IMAGE = "nodeops-lab/chainlink-sim"
BASE_IMAGE = os.environ.get("LAB_BASE_IMAGE", "nodeops-lab/base:bookworm")


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=300)


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    built = {}
    for version in (V1, V2):
        tag = f"{IMAGE}:{version}"
        docker(
            "build",
            "--network",
            "host",
            "-q",
            "-t",
            tag,
            "--build-arg",
            f"BASE_IMAGE={BASE_IMAGE}",
            "--build-arg",
            f"CHAINLINK_VERSION={version}",
            str(SIM_DIR),
        )
        built[version] = tag
    return built


@pytest.fixture
def containers() -> t.Iterator[t.Callable[..., str]]:
    prefix = f"nodeops-test-sim-{uuid.uuid4().hex[:8]}"
    started: list[str] = []

    def run(suffix: str, image: str, args: list[str], env: dict[str, str], mount: Path, health_port: int) -> str:
        name = f"{prefix}-{suffix}"
        env_args = [x for k, v in env.items() for x in ("-e", f"{k}={v}")]
        docker(
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "host",
            "--label",
            TEST_LABEL,
            "-v",
            f"{mount}:/chainlink:ro",
            "--health-cmd",
            f"curl -f http://localhost:{health_port}/health || exit 1",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
            *env_args,
            image,
            *args,
        )
        started.append(name)
        return name

    try:
        yield run
    finally:
        for name in started:
            docker("rm", "-f", name, check=False)


def health(name: str) -> str:
    return docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip()


def logs(name: str) -> str:
    out = docker("logs", name, check=False)
    return out.stdout + out.stderr


def refused(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def mount_dir(files: dict[str, str]) -> Path:
    path = Path(tempfile.mkdtemp(prefix="chainlink-sim-image-"))
    path.chmod(0o755)  # readable by uid 14933 inside the container
    for name, text in files.items():
        (path / name).write_text(text)
        (path / name).chmod(0o644)
    return path


def test_image_metadata_like_the_real_one(images: dict[str, str]) -> None:
    for version, tag in images.items():
        config = json.loads(docker("image", "inspect", tag).stdout)[0]["Config"]
        assert config["User"] == "chainlink" and config["WorkingDir"] == "/home/chainlink"
        assert config["Entrypoint"] == ["chainlink"] and config["Cmd"] == ["local", "node"]
        assert "6688/tcp" in config["ExposedPorts"]
        assert config["Healthcheck"]["Test"] == ["CMD-SHELL", "curl -f http://localhost:6688/health || exit 1"]
        assert f"CHAINLINK_SIM_VERSION={version}" in config["Env"]
        out = docker("run", "--rm", "--network", "host", "--label", TEST_LABEL, "--entrypoint", "id", tag, "-u").stdout.strip()
        assert out == "14933"
        assert docker("run", "--rm", "--network", "host", "--label", TEST_LABEL, tag, "--version").stdout.startswith(f"chainlink version {version}@")


def test_2x_pair_in_containers_http_only_on_the_active(images: dict[str, str], containers: t.Callable[..., str], db: Db) -> None:
    ports = [free_port(), free_port()]
    files = {"secrets.toml": f"[Database]\nURL = '{db.url}'\n[Password]\nKeystore = '{KEYSTORE_PASSWORD}'\n", "api": f"{API_EMAIL}\n{API_PASSWORD}\n"}
    for i, port in enumerate(ports):
        files[f"config{i}.toml"] = (
            f"[Database.Lock]\nLeaseDuration = '2s'\nLeaseRefreshInterval = '500ms'\n[WebServer]\nHTTPPort = {port}\nListenIP = '127.0.0.1'\n"
            "[WebServer.TLS]\nHTTPSPort = 0\n"  # no TLS listener (it would bind 0.0.0.0:6689 and log an error every 15s)
        )
    mount = mount_dir(files)
    cmd = ["node", "-config", "/chainlink/config{}.toml", "-secrets", "/chainlink/secrets.toml", "start", "-a", "/chainlink/api"]
    primary = containers("a", images[V2], [c.format(0) for c in cmd], {}, mount, ports[0])
    wait_until(lambda: health(primary) == "healthy", 20, "the primary to turn healthy")
    secondary = containers("b", images[V2], [c.format(1) for c in cmd], {}, mount, ports[1])
    wait_until(lambda: "waiting for lease to expire" in logs(secondary), 15, "the secondary to wait")
    wait_until(lambda: health(secondary) == "unhealthy", 15, "the waiting secondary to be unhealthy")
    assert refused(ports[1]), "a waiting standby listens on nothing"
    assert docker("exec", primary, "id", "-u").stdout.strip() == "14933"

    docker("stop", "-t", "10", primary)
    assert docker("inspect", "-f", "{{.State.ExitCode}}", primary).stdout.strip() == "0"
    wait_until(lambda: health(secondary) == "healthy", 20, "the secondary to take over and turn healthy")
    app_id = re.search(r"Chainlink booted in \S+ +\S+ +appID=(\S+)", logs(secondary))
    assert app_id and db.lease() == (app_id[1], True)


def test_1x_container_with_env_config(images: dict[str, str], containers: t.Callable[..., str], db: Db) -> None:
    port = free_port()
    mount = mount_dir({"api": f"{API_EMAIL}\n{API_PASSWORD}\n", "password": KEYSTORE_PASSWORD + "\n"})
    env = {
        "DATABASE_URL": db.url,
        "CHAINLINK_PORT": str(port),
        "LEASE_LOCK_DURATION": "2s",
        "LEASE_LOCK_REFRESH_INTERVAL": "500ms",
        "ROOT": "/home/chainlink/.chainlink",
        "CHAINLINK_TLS_PORT": "0",
    }
    name = containers("v1", images[V1], ["local", "n", "-p", "/chainlink/password", "-a", "/chainlink/api"], env, mount, port)
    wait_until(lambda: health(name) == "healthy", 20, "the 1.x node to turn healthy")
    assert f"Listening and serving HTTP on port {port}" in logs(name)
    assert db.one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 239192036 AND objid = 2840971190") == 1
