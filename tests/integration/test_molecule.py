# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every Molecule scenario (converge, idempotence, verify) as part of the test suite.

Scenarios are found from molecule/*/molecule.yml, so a new one runs without being listed here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.playbook import run_molecule

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


@pytest.mark.molecule
@pytest.mark.timeout(900)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario: str) -> None:
    run_molecule(scenario)
