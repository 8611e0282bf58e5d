# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the pair roles' Molecule scenarios (converge, idempotence, testinfra verify) as part of the test suite.

A scenario is judged by Molecule's exit code: its recap can read "successful" after a failed idempotence step.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.support.playbook import ROOT, ansible_env

SCENARIOS = ("pair_v2", "pair_v1", "two_hosts")


@pytest.mark.molecule
@pytest.mark.timeout(900)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario: str) -> None:
    env = ansible_env()
    # Molecule writes its own ansible.cfg for the scenario; the collections path comes from the environment.
    env.pop("ANSIBLE_CONFIG")
    proc = subprocess.run(["molecule", "test", "-s", scenario], cwd=ROOT, env=env, capture_output=True, text=True, timeout=880)
    assert proc.returncode == 0, f"molecule test -s {scenario} failed (rc {proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
