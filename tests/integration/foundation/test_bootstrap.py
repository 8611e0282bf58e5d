# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""scripts/bootstrap.sh on the paths a new user can hit: not root, no Docker, an engine that will not start.

Each case runs the real script with a PATH that holds only the commands the case allows, so the
machine's own Docker engine and packages are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import typing as t
from pathlib import Path

import pytest


@pytest.fixture
def tmp_path() -> t.Iterator[Path]:  # noqa: F811  (shadows pytest's: pytest's lives under a root-only 0700 folder)
    """A scratch folder an unprivileged user can enter too."""
    path = Path(tempfile.mkdtemp(prefix="nodeops-bootstrap-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


ROOT = Path(__file__).resolve().parents[3]
BOOTSTRAP = ROOT / "scripts" / "bootstrap.sh"
# What the script itself needs from the system, whatever the case.
# The packages the script installs whose commands a bare PATH lacks (openssh-server's sshd is found by its absolute
# path, the target Python packages by the system Python: both are on this machine), and those commands as fakes.
MISSING = "debootstrap docker.io postgresql-client prometheus shellcheck"
PRESENT = {name: "exit 0" for name in ("debootstrap", "psql", "promtool", "shellcheck")}
BASE_COMMANDS = ["bash", "id", "sort", "tr", "cat", "tail", "sleep", "kill", "nohup", "setsid", "sha256sum", "cut", "dirname", "printf", "mkdir", "ln"]


def make_path(tmp_path: Path, fakes: dict[str, str]) -> Path:
    """A bin directory with the base commands linked in, plus fake commands given as shell bodies."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in BASE_COMMANDS:
        real = shutil.which(name)
        if real and name not in fakes:
            (bindir / name).symlink_to(real)
    for name, body in fakes.items():
        fake = bindir / name
        # A fresh file, never a write through a link to the system's own command.
        with fake.open("x") as handle:
            handle.write(f"#!/bin/bash\n{body}\n")
        fake.chmod(0o755)
    return bindir


def run_bootstrap(bindir: Path, tmp_path: Path, as_nobody: bool = False) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(bindir), "HOME": str(tmp_path), "NODEOPS_DOCKERD_LOG": str(tmp_path / "dockerd.log"), "NODEOPS_VENV": str(tmp_path / "venv")}
    command = ["bash", str(BOOTSTRAP)]
    if as_nobody:
        command = [shutil.which("setpriv") or "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to an unprivileged user needs root")
def test_not_root_without_packages_names_what_to_install(tmp_path: Path) -> None:
    bindir = make_path(tmp_path, {"apt-get": "exit 0"})
    result = run_bootstrap(bindir, tmp_path, as_nobody=True)
    assert result.returncode == 1
    assert f"missing packages: {MISSING}" in result.stderr
    assert f"sudo apt-get install -y {MISSING}" in result.stderr


def test_without_apt_names_the_packages_to_install_by_hand(tmp_path: Path) -> None:
    result = run_bootstrap(make_path(tmp_path, {}), tmp_path)
    assert result.returncode == 1
    assert "not a Debian-like system with apt-get" in result.stderr
    assert f"rerun: {MISSING}" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to an unprivileged user needs root")
def test_not_root_without_engine_says_how_to_start_one(tmp_path: Path) -> None:
    bindir = make_path(tmp_path, {**PRESENT, "dockerd": "exit 0", "docker": "exit 1"})
    result = run_bootstrap(bindir, tmp_path, as_nobody=True)
    assert result.returncode == 1
    assert "no Docker engine answers and starting one needs root" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the script only starts an engine as root")
def test_engine_that_fails_to_start_shows_its_log(tmp_path: Path) -> None:
    fakes = {
        "docker": "exit 1",
        "dockerd": 'echo "failed to start daemon: pid file found, ensure docker is not running" >&2; exit 1',
        **PRESENT,
    }
    result = run_bootstrap(make_path(tmp_path, fakes), tmp_path)
    assert result.returncode == 1
    assert "the Docker engine did not start" in result.stderr
    assert "failed to start daemon: pid file found" in result.stderr


def test_running_engine_is_left_alone(tmp_path: Path) -> None:
    """With an engine answering, bootstrap never starts another one."""
    started = tmp_path / "dockerd-was-started"
    fakes = {
        "docker": "exit 0",
        "dockerd": f"touch {started}; sleep 30",
        **PRESENT,
        # The venv step needs a real python; stop the script right after the engine step instead.
        "python3": "exit 3",
        "sha256sum": "exit 4",
    }
    result = run_bootstrap(make_path(tmp_path, fakes), tmp_path)
    assert "Docker engine answers; leaving it as it is" in result.stdout
    assert not started.exists()
