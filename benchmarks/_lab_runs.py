# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the benchmarks that drive the lab's playbooks share: one timed ``ansible-playbook`` run (bounded, its whole
process group killed on timeout), the play recap, and the head of a result file (date, machine, git ref)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import signal
import subprocess
import time
import typing as t
from pathlib import Path

from tests.integration.handover.lab import ansible_env

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)


def run_playbook(
    tree: Path, inventory: Path, cwd: Path, name: str, *args: str, timeout: float = 900, prefix: t.Sequence[str] = ()
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``tree``'s playbook with that tree's collection and config; wall seconds from the outside. ``prefix`` goes
    before the command (e.g. ``/usr/bin/time -v -o FILE``). On timeout the whole run is killed and TimeoutExpired raised."""
    env = ansible_env()
    env["ANSIBLE_COLLECTIONS_PATH"] = str(tree / ".collections")
    env["ANSIBLE_CONFIG"] = str(tree / "ansible.cfg")
    cmd = [*prefix, str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), str(tree / "playbooks" / name), *args]
    began = time.monotonic()
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
            raise
    return time.monotonic() - began, subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def recaps(stdout: str) -> dict[str, dict[str, int]]:
    """Every host's line of the play recap: tasks run (ok + failed), changed, skipped, failed."""
    out = {}
    for match in RECAP.finditer(stdout):
        ok, changed, _unreachable, failed, skipped = (int(x) for x in match.groups()[1:])
        out[match[1]] = {"tasks": ok + failed, "changed": changed, "skipped": skipped, "failed": failed}
    return out


def recap(stdout: str, host: str) -> dict[str, int]:
    found = recaps(stdout)
    if host not in found:
        raise AssertionError(f"no play recap for {host}")
    return found[host]


def git_ref() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()


def result_head(benchmark: str) -> dict[str, t.Any]:
    """The fields every result file begins with."""
    return {
        "benchmark": benchmark,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(), "load_avg": os.getloadavg()},
        "tree_ref": git_ref(),
    }
