# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify a deployed pair from outside the roles: Docker's view of the containers, the files on the Docker
hosts, the database's view of the lock, and HTTP. Shared by every pair scenario (pair_v2, pair_v1)."""

from __future__ import annotations

import http.client
import tomllib

import pytest
from conftest import BOOTED, WAITING, Pair

ROLES = ("primary", "secondary")
LEGACY_LOCK_ENV = ("DATABASE_LOCKING_MODE", "ADVISORY_LOCK_ID", "ADVISORY_LOCK_CHECK_INTERVAL", "LEASE_LOCK_DURATION", "LEASE_LOCK_REFRESH_INTERVAL")
ADVISORY_LOCK_ID = 1027321974924625846


def env_of(container: dict[str, object]) -> dict[str, str]:
    config = container["Config"]
    assert isinstance(config, dict)
    return dict(item.split("=", 1) for item in config["Env"])


@pytest.mark.parametrize("role", ROLES)
def test_container_runs_with_labels_and_stop_settings(pair: Pair, role: str) -> None:
    inst = pair.instances[role]
    info = inst.inspect()
    assert info["State"]["Running"] is True
    labels = info["Config"]["Labels"]
    assert labels["nodeops.chainlink.pair"] == pair.name
    assert labels["nodeops.chainlink.role"] == role
    assert labels["nodeops.chainlink.version"] == pair.version
    assert info["Config"]["Image"] == f"nodeops-lab/chainlink-sim:{pair.version}"
    # Graceful stop: SIGTERM, and Docker waits ShutdownGracePeriod (2s here) + DefaultQueryTimeout (10s, the node's
    # bound on the lease release after the grace period) + margin before SIGKILL: the default 20s covers it
    assert info["Config"]["StopSignal"] == "SIGTERM"
    assert info["Config"]["StopTimeout"] == 20
    assert info["HostConfig"]["NetworkMode"] == "host"
    assert info["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    # The image's health check is disabled on purpose (a waiting standby serves no HTTP)
    assert info["Config"]["Healthcheck"]["Test"] == ["NONE"]
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/chainlink"]["Source"] == inst.config_dir
    assert mounts["/chainlink"]["RW"] is False


@pytest.mark.parametrize("role", ROLES)
def test_secret_files_are_private_to_the_node_user(pair: Pair, role: str) -> None:
    inst = pair.instances[role]
    directory = inst.host.file(inst.config_dir)
    assert directory.is_directory
    assert directory.mode == 0o700
    secrets = [".api", ".password"] if pair.is_v1 else [".api", "secrets.toml"]
    for name in secrets:
        f = inst.host.file(f"{inst.config_dir}/{name}")
        assert f.exists, name
        assert f.mode == 0o600, name
        assert (f.uid, f.gid) == (14933, 14933), name
    assert inst.host.file(f"{inst.config_dir}/.api").content_string.splitlines() == ["admin@nodeops.test", "molecule-api-password-0123"]


@pytest.mark.parametrize("role", ROLES)
def test_secret_values_reach_the_files(pair: Pair, role: str) -> None:
    """Inventory secrets, ansible-vault ones decrypted, land in the node's files (2.x: secrets.toml)."""
    inst = pair.instances[role]
    raw = pair.variables["chainlink_keystore_password"]
    # ansible-inventory shows a vaulted value as {"__ansible_vault": ...}; pair_v2 vaults it on purpose
    keystore = "molecule-vaulted-keystore-password-0123" if isinstance(raw, dict) else raw
    if pair.is_v1:
        assert inst.host.file(f"{inst.config_dir}/.password").content_string == keystore
        return
    secrets = tomllib.loads(inst.host.file(f"{inst.config_dir}/secrets.toml").content_string)
    assert secrets["Password"]["Keystore"] == keystore
    assert secrets["Database"]["URL"] == (f"postgresql://postgres:{pair.pg_password}@127.0.0.1:{pair.pg_port}/{pair.database}?sslmode=disable")


@pytest.mark.parametrize("role", ROLES)
def test_no_secret_in_the_container_environment(pair: Pair, role: str) -> None:
    env = env_of(pair.instances[role].inspect())
    values = "\n".join(env.values())
    assert "molecule-api-password-0123" not in values
    assert "keystore-password" not in values
    assert "CL_PASSWORD_KEYSTORE" not in env
    if pair.is_v1:
        # 1.x environment configuration: DATABASE_URL is the one secret that cannot come from a file
        assert env["DATABASE_URL"].startswith("postgresql://postgres:")
        assert env["DATABASE_LOCKING_MODE"] == "dual"
    else:
        assert not {"DATABASE_URL", "CL_DATABASE_URL"} & env.keys()
        assert pair.pg_password not in values
        # a 2.x node refuses to boot with any legacy lock variable present
        assert not set(LEGACY_LOCK_ENV) & env.keys()


def test_configuration_carries_the_inventory_lock_settings(pair: Pair) -> None:
    inst = pair.instances["primary"]
    if pair.is_v1:
        env = env_of(inst.inspect())
        assert (env["LEASE_LOCK_DURATION"], env["LEASE_LOCK_REFRESH_INTERVAL"], env["SHUTDOWN_GRACE_PERIOD"]) == ("3s", "500ms", "2s")
        assert env["CHAINLINK_PORT"] == str(inst.port)
        # no TLS listener, and session cookies a browser sends back over plain HTTP (an SSH tunnel)
        assert (env["CHAINLINK_TLS_PORT"], env["SECURE_COOKIES"]) == ("0", "false")
        return
    config = tomllib.loads(inst.host.file(f"{inst.config_dir}/config.toml").content_string)
    assert config["Database"]["Lock"] == {"Enabled": True, "LeaseDuration": "3s", "LeaseRefreshInterval": "500ms"}
    assert config["ShutdownGracePeriod"] == "2s"
    assert config["WebServer"] == {"HTTPPort": inst.port, "ListenIP": "127.0.0.1", "SecureCookies": False, "TLS": {"HTTPSPort": 0}}


def test_primary_holds_the_lock(pair: Pair) -> None:
    app_id = pair.instances["primary"].app_id_from(BOOTED)
    rows = pair.query("SELECT client_id::text, expires_at > now() FROM lease_lock")
    assert rows == [(app_id, True)]
    sessions = pair.query("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s", f"%|App|{app_id[:8]}%")
    assert sessions[0][0] >= 1
    if pair.is_v1:
        holders = pair.query(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s",
            ADVISORY_LOCK_ID >> 32,
            ADVISORY_LOCK_ID & 0xFFFFFFFF,
        )
        assert len(holders) == 1 and f"|App|{app_id[:8]}" in holders[0][0]


def test_secondary_is_connected_and_waiting(pair: Pair) -> None:
    secondary = pair.instances["secondary"]
    assert not any(BOOTED in line for line in secondary.log_lines())
    app_id = secondary.app_id_from(WAITING)
    holder = pair.query("SELECT client_id::text FROM lease_lock")[0][0]
    assert holder != app_id
    names = [row[0] for row in pair.query("SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'Chainlink %%'")]
    assert any(f"|App|{app_id[:8]}" in name for name in names), names


def http_status(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status
    finally:
        conn.close()


def test_only_the_primary_answers_http(pair: Pair) -> None:
    assert http_status(pair.instances["primary"].port) in (200, 207)
    with pytest.raises(ConnectionRefusedError):
        http_status(pair.instances["secondary"].port)


def test_status_playbook_reports_a_healthy_pair(pair: Pair, inventory: str) -> None:
    """status.yml names the primary active and raises no flag (it fails the play on any flag here)."""
    out = pair.instances["primary"].host.check_output(
        "ansible-playbook -i %s nodeops.chainlink.status -e target_hosts=%s -e pair_status_fail_on_flags=true",
        inventory,
        pair.name,
    )
    assert f"{pair.name}: active primary" in out
    assert "flags: none" in out
