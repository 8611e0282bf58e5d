# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""CI's share of the fault campaign: three cells of the matrix, each a different fault, run side by side (each on its
own PostgreSQL and ports) through the real upgrade.yml, checked from outside the collection (faults.py). The whole
matrix is ``benchmarks/faults.py``; its last results are in docs/faults.md. Run alone with ``pytest -m fault``."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from tests.integration.handover.faults import Cell, run_cells

# each cell is bounded inside (deploy 280 s, two runs of 450 s, a fault's wait 60 s); about 4 minutes on an idle machine
pytestmark = [pytest.mark.fault, pytest.mark.timeout(900)]

# three fault types, each passing in the recorded matrix (docs/faults.md); standby_started/kill_active also checks
# that the advice does not blame the standby that took over (faults._check_advice)
CI_CELLS = (
    Cell("standby_started", "kill_active"),
    Cell("standby_started", "controller_kill"),
    Cell("takeover_proven", "kill_standby"),
)
# the last slots (ports 18014-18019, PostgreSQL 18027-18029), so that a campaign of benchmarks/faults.py can run meanwhile
FIRST_SLOT = 7


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, t.Any]]:
    workdir: Path = tmp_path_factory.mktemp("faults")
    return {r["cell"]: r for r in run_cells(CI_CELLS, workdir, jobs=len(CI_CELLS), first_slot=FIRST_SLOT)}


@pytest.mark.parametrize("cell", CI_CELLS, ids=[c.id for c in CI_CELLS])
def test_fault_cell_ends_active_proven_with_every_job_once(results: dict[str, dict[str, t.Any]], cell: Cell) -> None:
    result = results[cell.id]
    detail = json.dumps(result, indent=1)[:8000]
    assert result["outcome"] in ("ok", "recovered"), detail
    assert result["reruns"] <= 1, detail
    # the observer really watched: 20 ms samples over the whole cell, and the producer's jobs all came back once
    assert result["lease"]["samples"] > 1000, detail
    assert result["jobs"]["jobs"] > 100 and result["jobs"]["twice"] == 0 and result["jobs"]["by_non_holder"] == 0, detail
    assert result["final"]["readyz"][result["final"]["active"]] == 200, detail
