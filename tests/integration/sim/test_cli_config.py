# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The command-line forms of each major version and config validation that fails boot with the node's messages."""

from __future__ import annotations

import pytest

from tests.integration.sim.helpers import V1, V2, Db
from tests.support.sim import KEYSTORE_PASSWORD, SimFactory


def last_line(node_log: str) -> str:
    return node_log.strip().splitlines()[-1]


@pytest.mark.parametrize("name", ["DATABASE_LOCKING_MODE", "LEASE_LOCK_DURATION", "ADVISORY_LOCK_ID"])
def test_2x_refuses_legacy_env_even_empty(db: Db, sim_factory: SimFactory, name: str) -> None:
    node = sim_factory.start(V2, db.url, extra_env={name: ""})
    assert node.wait_exit() == 1
    assert last_line(node.log_text()) == f"invalid configuration: environment variable {name} must not be set: unsupported with config v2"
    assert not db.has_table("lease_lock"), "it exits before trying to take the lock"


def test_2x_refresh_above_half_the_duration(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url, lease_duration="2s", refresh="1500ms")
    assert node.wait_exit() == 1
    assert last_line(node.log_text()) == (
        "invalid configuration: Database.Lock.LeaseRefreshInterval: invalid value (1.5s): must be less than or equal to half of LeaseDuration (2s)"
    )


def test_1x_refresh_above_half_and_unknown_mode(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V1, db.url, lease_duration="2s", refresh="1500ms")
    assert node.wait_exit() == 1
    assert last_line(node.log_text()).startswith("LEASE_LOCK_REFRESH_INTERVAL must be less than or equal to half of LEASE_LOCK_DURATION (got ")
    node = sim_factory.start(V1, db.url, locking_mode="advisory")
    assert node.wait_exit() == 1
    assert last_line(node.log_text()) == (
        "unrecognised value for DATABASE_LOCKING_MODE: advisory (valid options are 'dual', 'lease', 'advisorylock' or 'none')"
    )
    assert not db.has_table("lease_lock")


def test_1_10_toml_has_no_enabled_key_but_1_11_does(db: Db, sim_factory: SimFactory) -> None:
    refused = sim_factory.start("1.10.0", db.url, config_style="toml", locking_mode="none")
    assert refused.wait_exit() == 1
    assert "Database.Lock.Enabled" in last_line(refused.log_text())
    plain = sim_factory.start("1.10.0", db.url, config_style="toml", log_level="debug")
    plain.wait_booted()
    plain.wait_for_line(r"Using database locking mode: lease")
    plain.stop()
    unlocked = sim_factory.start(V1, db.url, config_style="toml", locking_mode="none", log_level="debug")
    unlocked.wait_booted()
    unlocked.wait_for_line(r"Using database locking mode: none")


def test_late_1x_toml_form_uses_global_flags_and_version_field(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V1, db.url, config_style="toml", log_level="debug")
    node.wait_booted()
    line = node.wait_for_line(r"Got exclusive lease on database").text
    assert "logger=RunNode.LockedDB.LeaseLock" in line and f"version={V1}@" in line


def test_flag_placement_differs_between_majors(db: Db, sim_factory: SimFactory) -> None:
    # 2.x took -config/-secrets under "node"; the 1.x global placement is rejected, and vice versa.
    v2_with_v1_form = sim_factory.start(V2, db.url, args=["-config", "config.toml", "node", "start"])
    assert v2_with_v1_form.wait_exit() == 1
    assert "flag provided but not defined: -config" in v2_with_v1_form.log_text()
    v1_with_v2_form = sim_factory.start(V1, db.url, args=["node", "-config", "config.toml", "start"])
    assert v1_with_v2_form.wait_exit() == 1
    assert "flag provided but not defined: -config" in v1_with_v2_form.log_text()


def test_2x_image_default_command_with_env_config(db: Db, sim_factory: SimFactory) -> None:
    # `local node` (the image CMD) with everything in the environment: CL_CONFIG, CL_DATABASE_URL, CL_PASSWORD_KEYSTORE.
    seed = sim_factory.start(V2, db.url)
    seed.wait_booted()
    seed.stop()
    port = seed.http_port + 1 if seed.http_port < 65535 else seed.http_port - 1
    node = sim_factory.start(
        V2,
        db.url,
        port,
        args=["local", "node"],
        extra_env={
            "CL_CONFIG": f"[Database.Lock]\nLeaseDuration = '2s'\nLeaseRefreshInterval = '500ms'\n[WebServer]\nHTTPPort = {port}\nListenIP = '127.0.0.1'\n",
            "CL_DATABASE_URL": db.url,
            "CL_PASSWORD_KEYSTORE": KEYSTORE_PASSWORD,
        },
    )
    node.wait_booted()
    node.wait_for_line(rf"Listening and serving HTTP on 127\.0\.0\.1:{port}")


def test_missing_secrets_fail_before_the_lock(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url, args=["node", "start"])
    assert node.wait_exit() == 1
    assert (
        node.log_text()
        .strip()
        .endswith(
            "invalid secrets: 2 errors:\n\t- Database.URL: empty: must be provided and non-empty\n\t- Password.Keystore: empty: must be provided and non-empty"
        )
    )
    assert not db.has_table("lease_lock")


def test_unreachable_database_fails_with_checkout_error(sim_factory: SimFactory) -> None:
    from tests.support.postgres import free_port

    node = sim_factory.start(V2, f"postgresql://nobody:nobody-Secret-Passw0rd@127.0.0.1:{free_port()}/none")
    assert node.wait_exit() == 1
    assert last_line(node.log_text()).startswith(
        "opening db: failed to take initial lease on database: failed to get lease lock: "
        "lease lock failed to checkout initial connection: failed checking out connection from pool: "
    )
