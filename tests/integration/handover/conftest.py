# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the handover tests: an own PostgreSQL, pairs of chainlink-sim containers deployed by deploy.yml, and
runs of upgrade.yml / switchover.yml through the real ansible-playbook."""

from __future__ import annotations

import os
import typing as t

import pytest

from tests.integration.handover.lab import HandoverLab, start_lab_postgres


@pytest.fixture(scope="session")
def handover_pg() -> t.Iterator[t.Any]:
    # Each pytest-xdist worker (gw0, gw1, ...) has a session of its own: disjoint port ranges, so two workers starting
    # at once never pick (and replace) the same container.
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    server = start_lab_postgres(range(16950 + 10 * worker, 16960 + 10 * worker), "nodeops-hovtest-pg")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lab(handover_pg: t.Any, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[HandoverLab]:
    lab = HandoverLab(handover_pg, tmp_path_factory.mktemp("handover"), name="hovt", ports=(16850, 16851))
    try:
        yield lab
    finally:
        lab.destroy()
