# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the chainlink-sim black-box tests: a fresh database with a small query helper."""

from __future__ import annotations

import typing as t

import pytest

from tests.integration.sim.helpers import Db
from tests.support.postgres import PostgresServer


@pytest.fixture
def db(pg_server: PostgresServer, pg_db: str) -> t.Iterator[Db]:
    handle = Db(pg_server, pg_db)
    try:
        yield handle
    finally:
        handle.close()
