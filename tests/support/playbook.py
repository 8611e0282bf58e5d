# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the collection's playbooks from tests with the checkout's collections, and read per-host failures
from the JSON callback."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import typing as t
from pathlib import Path

import yaml  # type: ignore[import-untyped]  # no stubs in the venv

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"


def ansible_env(**extra: str) -> dict[str, str]:
    """The environment ansible-playbook needs to resolve nodeops.chainlink from this checkout."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    env["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / ".collections")
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env.update(extra)
    return env


@dataclasses.dataclass
class PlaybookRun:
    rc: int
    report: dict[str, t.Any]
    stderr: str

    def failures(self) -> dict[str, str]:
        """Host -> message of the task that failed it (the first failure; a failed host runs nothing more)."""
        out: dict[str, str] = {}
        for play in self.report.get("plays", []):
            for task in play.get("tasks", []):
                for host, result in task.get("hosts", {}).items():
                    if result.get("failed") and not result.get("skipped") and host not in out:
                        out[host] = f"{task['task']['name']}: {result.get('msg', '')}"
        return out

    def stats(self, host: str) -> dict[str, int]:
        return t.cast("dict[str, int]", self.report["stats"][host])

    def fact(self, host: str, name: str) -> t.Any:
        """The last value a task set for fact ``name`` on ``host`` (set_fact results)."""
        value: t.Any = None
        for play in self.report.get("plays", []):
            for task in play.get("tasks", []):
                facts = task.get("hosts", {}).get(host, {}).get("ansible_facts", {})
                if name in facts:
                    value = facts[name]
        return value


def run_playbook(playbook: str, inventory: dict[str, t.Any], workdir: Path, *args: str, timeout: float = 600) -> PlaybookRun:
    """ansible-playbook <playbook> (a name in playbooks/, or a path) against an inventory given as a dict, with the
    JSON stdout callback."""
    inventory_file = workdir / "inventory.yml"
    inventory_file.write_text(yaml.safe_dump(inventory, sort_keys=False))
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory_file), str(ROOT / "playbooks" / playbook), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"),
        check=False,
        cwd=ROOT,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"ansible-playbook printed no JSON report (rc {proc.returncode}): {proc.stdout[-2000:]}\n{proc.stderr[-2000:]}") from exc
    return PlaybookRun(rc=proc.returncode, report=report, stderr=proc.stderr)


def run_molecule(scenario: str, timeout: float = 880) -> None:
    """``molecule test -s <scenario>`` from the checkout, judged by its exit code (its recap can read
    "successful" after a failed idempotence step); raises AssertionError with the output's tail."""
    env = ansible_env()
    # Molecule writes the scenario's own ansible.cfg; the collections path comes from the environment.
    env.pop("ANSIBLE_CONFIG")
    proc = subprocess.run(["molecule", "test", "-s", scenario], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"molecule test -s {scenario} failed (rc {proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
