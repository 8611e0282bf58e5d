# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the handover's Molecule scenarios (upgrade_v2, upgrade_v1, switchover) as part of the test suite.

A scenario is judged by Molecule's exit code: its recap can read "successful" after a failed idempotence step.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.integration.handover.lab import ROOT, ansible_env

SCENARIOS = ("upgrade_v2", "upgrade_v1", "switchover")


@pytest.mark.molecule
@pytest.mark.timeout(900)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_handover_molecule_scenario(scenario: str) -> None:
    env = ansible_env()
    env.pop("ANSIBLE_CONFIG")  # Molecule writes the scenario's own ansible.cfg; the collections path comes from the environment
    proc = subprocess.run(["molecule", "test", "-s", scenario], cwd=ROOT, env=env, capture_output=True, text=True, timeout=880)
    assert proc.returncode == 0, f"molecule test -s {scenario} failed (rc {proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
