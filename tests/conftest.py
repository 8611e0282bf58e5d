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


def pytest_itemcollected(item: pytest.Item) -> None:
    """Under ``pytest -n N --dist loadgroup`` a group runs on one worker, one test after another. A file's tests share
    module fixtures and fixed container names and ports, so each file is a group unless it names a wider one (a
    resource several files share, such as the lab's sshd). Marked as each item is collected, before pytest-xdist's
    collection hook reads the groups."""
    if item.get_closest_marker("xdist_group") is None:
        item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


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
