# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Config parsing and validation of chainlink-sim: Go durations, TOML and 1.x env, with the node's messages."""

from __future__ import annotations

import pytest

from chainlink_sim import config as c
from chainlink_sim.version import Behaviour, Version

V2 = Behaviour(Version.parse("2.29.0"))
V111 = Behaviour(Version.parse("1.11.0"))
V110 = Behaviour(Version.parse("1.10.0"))
SECRETS = {"Database": {"URL": "postgresql://u:unit-Database-Passw0rd@127.0.0.1:5432/db"}, "Password": {"Keystore": "unit-Keystore-Passw0rd"}}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10.0), ("500ms", 0.5), ("0.5s", 0.5), ("1m30s", 90.0), ("1h", 3600.0), ("0", 0.0), ("1.5s", 1.5), ("250us", 0.00025), ("-2s", -2.0)],
)
def test_parse_go_duration(text: str, seconds: float) -> None:
    assert c.parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "s", "1x", "1.5", "10 s", "ms10"])
def test_parse_go_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        c.parse_go_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5.0, "5s"), (2.5, "2.5s"), (0.5, "500ms"), (90.0, "1m30s"), (3600.0, "1h0m0s"), (0.0, "0s"), (0.0015, "1.5ms"), (10.0, "10s"), (61.5, "1m1.5s")],
)
def test_format_go_duration(seconds: float, text: str) -> None:
    assert c.format_go_duration(seconds) == text


def test_toml_defaults_match_the_node() -> None:
    cfg = c.from_toml({}, SECRETS, {}, V2)
    assert (cfg.locking_mode, cfg.lease_duration, cfg.lease_refresh) == ("lease", 10.0, 1.0)
    assert (cfg.shutdown_grace, cfg.http_port, cfg.listen_ip, cfg.log_level, cfg.json_console) == (5.0, 6688, "0.0.0.0", "info", False)
    assert (cfg.default_query_timeout, cfg.default_lock_timeout, cfg.default_idle_in_tx_timeout) == (10.0, 15.0, 3600.0)


def test_toml_enabled_false_means_mode_none() -> None:
    cfg = c.from_toml({"Database": {"Lock": {"Enabled": False}}}, SECRETS, {}, V2)
    assert cfg.locking_mode == "none"


def test_toml_refresh_above_half_is_refused_with_the_node_message() -> None:
    tree = {"Database": {"Lock": {"LeaseDuration": "10s", "LeaseRefreshInterval": "6s"}}}
    with pytest.raises(c.ConfigError) as err:
        c.from_toml(tree, SECRETS, {}, V2)
    assert str(err.value) == (
        "invalid configuration: Database.Lock.LeaseRefreshInterval: invalid value (6s): must be less than or equal to half of LeaseDuration (10s)"
    )


def test_toml_exactly_half_is_accepted() -> None:
    cfg = c.from_toml({"Database": {"Lock": {"LeaseDuration": "2s", "LeaseRefreshInterval": "1s"}}}, SECRETS, {}, V2)
    assert (cfg.lease_duration, cfg.lease_refresh) == (2.0, 1.0)


def test_toml_collects_several_errors() -> None:
    tree = {"Log": {"Level": "loud", "JSONConsole": "yes"}, "WebServer": {"HTTPPort": "6688"}}
    with pytest.raises(c.ConfigError) as err:
        c.from_toml(tree, SECRETS, {}, V2)
    assert str(err.value).startswith("invalid configuration: 3 errors:\n\t- ")
    for key in ("Log.Level", "Log.JSONConsole", "WebServer.HTTPPort"):
        assert key in str(err.value)


def test_v1_10_toml_rejects_enabled_key() -> None:
    with pytest.raises(c.ConfigError, match=r"Database\.Lock\.Enabled"):
        c.from_toml({"Database": {"Lock": {"Enabled": True}}}, SECRETS, {}, V110)
    assert c.from_toml({"Database": {"Lock": {"LeaseDuration": "4s"}}}, SECRETS, {}, V110).locking_mode == "lease"
    assert c.from_toml({"Database": {"Lock": {"Enabled": False}}}, SECRETS, {}, V111).locking_mode == "none"


def test_secrets_from_env_override_the_file() -> None:
    url = "postgresql://x:env-Database-Passw0rd@127.0.0.1/y"
    cfg = c.from_toml({}, SECRETS, {"CL_DATABASE_URL": url, "CL_PASSWORD_KEYSTORE": "env"}, V2)
    assert (cfg.database_url, cfg.keystore_password) == (url, "env")


def test_missing_secrets() -> None:
    with pytest.raises(c.ConfigError) as err:
        c.from_toml({}, {}, {}, V2)
    assert str(err.value) == (
        "invalid secrets: 2 errors:\n\t- Database.URL: empty: must be provided and non-empty\n\t- Password.Keystore: empty: must be provided and non-empty"
    )


def test_merge_later_files_win_key_by_key() -> None:
    merged = c.merge_toml({"Database": {"Lock": {"LeaseDuration": "10s", "Enabled": True}}}, {"Database": {"Lock": {"LeaseDuration": "4s"}}})
    assert merged == {"Database": {"Lock": {"LeaseDuration": "4s", "Enabled": True}}}


@pytest.mark.parametrize(
    "name", ["DATABASE_LOCKING_MODE", "ADVISORY_LOCK_ID", "ADVISORY_LOCK_CHECK_INTERVAL", "LEASE_LOCK_DURATION", "LEASE_LOCK_REFRESH_INTERVAL"]
)
def test_legacy_env_present_even_empty_is_refused(name: str) -> None:
    with pytest.raises(c.ConfigError) as err:
        c.check_legacy_env({name: ""}, V2)
    assert str(err.value) == f"invalid configuration: environment variable {name} must not be set: unsupported with config v2"
    c.check_legacy_env({"CL_DATABASE_URL": "x"}, V2)


@pytest.mark.parametrize(("version", "refused"), [("2.0.0", True), ("2.5.1", True), ("2.6.0", False), ("2.29.0", False)])
def test_the_explorer_variables_are_refused_only_before_2_6(version: str, refused: bool) -> None:
    """legacy.env lists EXPLORER_ACCESS_KEY, EXPLORER_SECRET and EXPLORER_URL from v2.0.0 through v2.5.x."""
    behaviour = Behaviour(Version.parse(version))
    if refused:
        with pytest.raises(c.ConfigError, match="environment variable EXPLORER_URL must not be set"):
            c.check_legacy_env({"EXPLORER_URL": ""}, behaviour)
    else:
        c.check_legacy_env({"EXPLORER_URL": "", "EXPLORER_SECRET": ""}, behaviour)


@pytest.mark.parametrize(("version", "mode"), [("1.1.0", "advisorylock"), ("1.2.1", "advisorylock"), ("1.3.0", "dual"), ("1.11.0", "dual"), ("1.13.3", "dual")])
def test_v1_default_locking_mode_per_version(version: str, mode: str) -> None:
    cfg = c.from_env_v1({"DATABASE_URL": "postgresql://127.0.0.1/x"}, Behaviour(Version.parse(version)))
    assert cfg.locking_mode == mode
    assert (cfg.lease_duration, cfg.lease_refresh, cfg.advisory_lock_id, cfg.advisory_check_interval) == (10.0, 1.0, 1027321974924625846, 1.0)
    assert cfg.env_config and cfg.http_port == 6688


def test_v1_env_validation_messages() -> None:
    with pytest.raises(c.ConfigError) as err:
        c.from_env_v1({"DATABASE_URL": "x", "DATABASE_LOCKING_MODE": "Lease"}, V111)
    assert str(err.value) == "unrecognised value for DATABASE_LOCKING_MODE: Lease (valid options are 'dual', 'lease', 'advisorylock' or 'none')"
    with pytest.raises(c.ConfigError, match=r"^LEASE_LOCK_REFRESH_INTERVAL must be less than or equal to half of LEASE_LOCK_DURATION \(got "):
        c.from_env_v1({"DATABASE_URL": "x", "LEASE_LOCK_DURATION": "2s", "LEASE_LOCK_REFRESH_INTERVAL": "1001ms"}, V111)
    with pytest.raises(c.ConfigError, match="DATABASE_URL"):
        c.from_env_v1({}, V111)


def test_v1_env_values() -> None:
    env = {
        "DATABASE_URL": "x",
        "CHAINLINK_PORT": "7000",
        "JSON_CONSOLE": "true",
        "LOG_LEVEL": "DEBUG",
        "SHUTDOWN_GRACE_PERIOD": "2s",
        "ADVISORY_LOCK_ID": "42",
        "DATABASE_LOCKING_MODE": "lease",
    }
    cfg = c.from_env_v1(env, V111)
    assert (cfg.http_port, cfg.json_console, cfg.log_level, cfg.shutdown_grace, cfg.advisory_lock_id, cfg.locking_mode) == (
        7000,
        True,
        "debug",
        2.0,
        42,
        "lease",
    )


@pytest.mark.parametrize(("value", "seconds"), [("", 0.0), ("2.5", 2.5), ("1500ms", 1.5), ("3s", 3.0)])
def test_sim_knob_seconds(value: str, seconds: float) -> None:
    assert c.env_seconds({"SIM_BOOT_DELAY": value}, "SIM_BOOT_DELAY") == seconds


def test_sim_knob_seconds_rejects_garbage() -> None:
    with pytest.raises(c.ConfigError, match="SIM_BOOT_DELAY"):
        c.env_seconds({"SIM_BOOT_DELAY": "soon"}, "SIM_BOOT_DELAY")
