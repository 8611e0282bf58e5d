# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab's sshd (lab/lab ssh-up) for a test module: a port and a state directory of the module's own, so the SSH
tests and Molecule's ssh_hosts may run at the same time; stopped (by its PID, lab/lab ssh-down) at the end."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SSH_USER = "nodeops-ssh"
HOME = Path("/home") / SSH_USER


@contextmanager
def ssh_lab(state: Path, port: int, addresses: str | None = None) -> Iterator[Path]:
    """An sshd on ``port`` (on ``addresses``, lab/lab's default ones when None) whose key and known_hosts are in ``state``."""
    env = {"LAB_SSH_DIR": str(state), "LAB_SSH_PORT": str(port), "PATH": "/usr/sbin:/usr/bin:/bin"}
    if addresses is not None:
        env["LAB_SSH_ADDRESSES"] = addresses
    up = subprocess.run([str(ROOT / "lab" / "lab"), "ssh-up"], env=env, capture_output=True, text=True, check=False)
    assert up.returncode == 0, up.stderr
    try:
        yield state
    finally:
        subprocess.run([str(ROOT / "lab" / "lab"), "ssh-down"], env=env, capture_output=True, check=False)
