# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the pair roles' Molecule scenarios (converge, idempotence, testinfra verify) as part of the test suite."""

from __future__ import annotations

import pytest

from tests.support.playbook import run_molecule

SCENARIOS = ("pair_v2", "pair_v1", "two_hosts")


@pytest.mark.molecule
@pytest.mark.timeout(900)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario: str) -> None:
    run_molecule(scenario)
