# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""A throw-away PostgreSQL server (the lab image, host networking, loopback only) and databases on it."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import time
import typing as t
import uuid

import psycopg2
import psycopg2.extensions

PG_IMAGE = os.environ.get("LAB_PG_IMAGE", "nodeops-lab/postgres:15")
TEST_LABEL = "nodeops.test=true"


def free_port() -> int:
    """Return a loopback TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class PostgresServer:
    """One PostgreSQL server running in a container on 127.0.0.1:port."""

    container: str
    port: int
    user: str = "postgres"
    password: str = "nodeops-test-Passw0rd"  # 16+ characters: the real node refuses a simpler database password
    host: str = "127.0.0.1"

    def url(self, dbname: str = "postgres", **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        base = f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"
        return f"{base}?{query}" if query else base

    def connect(self, dbname: str = "postgres", autocommit: bool = True, **kwargs: t.Any) -> psycopg2.extensions.connection:
        conn = psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password, dbname=dbname, **kwargs)
        conn.autocommit = autocommit
        return conn

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def create_database(self, prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def restart(self) -> None:
        """Restart the server process (the container), keeping its data."""
        subprocess.run(["docker", "restart", "-t", "10", self.container], check=True, capture_output=True)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                self.connect().close()
                return
            except psycopg2.OperationalError as exc:
                last = exc
                time.sleep(0.2)
        logs = subprocess.run(["docker", "logs", "--tail", "20", self.container], capture_output=True, text=True, check=False)
        raise RuntimeError(f"PostgreSQL in {self.container} not ready on port {self.port}: {last}\n{logs.stdout}{logs.stderr}")

    def stop(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.container], capture_output=True, check=False)


def start_postgres(name_prefix: str = "nodeops-test-pg", port: int | None = None) -> PostgresServer:
    """Start a fresh server from the lab image on a free loopback port (or ``port``, from a test's own range)."""
    if subprocess.run(["docker", "image", "inspect", PG_IMAGE], capture_output=True, check=False).returncode != 0:
        raise RuntimeError(f"image {PG_IMAGE} is missing: run 'make images' (or lab/lab images) first")
    port = port or free_port()
    server = PostgresServer(container=f"{name_prefix}-{port}", port=port)
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            server.container,
            "--network",
            "host",
            "--label",
            TEST_LABEL,
            "-e",
            f"PGPORT={port}",
            "-e",
            f"POSTGRES_PASSWORD={server.password}",
            PG_IMAGE,
        ],
        check=True,
        capture_output=True,
    )
    try:
        server.wait_ready()
    except RuntimeError:
        # a server that did not come up is not left behind (nor is its port, for a fixed one)
        server.stop()
        raise
    return server
