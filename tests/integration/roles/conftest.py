# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role tests log in to PostgreSQL with a password that meets the real node's rules (16 characters or more), as
every pair the roles deploy must: the preflight refuses a shorter one, and so does a release build of the node."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.postgres import PostgresServer

ROLE = "nodeops_roles"
PASSWORD = "roles-Postgres-passw0rd"


def node_login(server: PostgresServer) -> PostgresServer:
    """The server seen through a superuser login whose password the node accepts (created once)."""
    server.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN"
        f" CREATE ROLE {ROLE} LOGIN SUPERUSER PASSWORD '{PASSWORD}'; END IF; END $$"
    )
    return dataclasses.replace(server, user=ROLE, password=PASSWORD)


@pytest.fixture(scope="session")
def pg_server(pg_server: PostgresServer) -> PostgresServer:
    """The shared server, through the login the node accepts."""
    return node_login(pg_server)
