# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by every test: the collection on sys.path and a real PostgreSQL."""

from __future__ import annotations

import os
import sys
import typing as t
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = ROOT / ".collections"
_LINK = COLLECTIONS / "ansible_collections" / "nodeops" / "chainlink"
if not _LINK.exists():
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    _LINK.symlink_to(Path("..") / ".." / "..", target_is_directory=True)
for path in (str(COLLECTIONS), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS))

from tests.support import sim as _sim  # noqa: E402
from tests.support.postgres import PostgresServer, start_postgres  # noqa: E402


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: t.Any) -> t.Any:
    """Under ``pytest -n N`` a worker takes a whole test file at a time: a file's tests share module fixtures and fixed
    container names and ports. Molecule scenarios are independent (each its own PostgreSQL, ports and labels), so each
    is a unit of its own. (pytest-xdist's ``loadgroup`` marks do not reach its scheduler on this pytest.)"""
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class FileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return nodeid if path.endswith("/test_molecule.py") else path

    return FileScheduling(config, log)


@pytest.fixture(scope="session")
def pg_server() -> t.Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run; tests isolate themselves with their own database."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_db(pg_server: PostgresServer) -> t.Iterator[str]:
    """A fresh, empty database on the shared server; dropped afterwards."""
    name = pg_server.create_database()
    try:
        yield name
    finally:
        pg_server.drop_database(name)


# The chainlink-sim fixture, shared by every test directory.
sim_factory = _sim.sim_factory
