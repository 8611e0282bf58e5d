# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""chainlink-sim's command line: the 1.x and 2.x forms, aliases, flag syntaxes; and the version switches."""

from __future__ import annotations

import pytest

from chainlink_sim.cli import Invocation, UsageError, parse_args
from chainlink_sim.version import Behaviour, Version

V2 = Behaviour(Version.parse("2.29.0"))
V1 = Behaviour(Version.parse("1.11.0"))


@pytest.mark.parametrize(
    "argv",
    [
        ["node", "-config", "a.toml", "-config", "b.toml", "-secrets", "s.toml", "start", "-a", "api", "-p", "pw"],
        ["local", "--config", "a.toml", "-c=b.toml", "--secrets=s.toml", "node", "--api", "api", "--password", "pw"],
        ["node", "-c", "a.toml", "-c", "b.toml", "-s", "s.toml", "n", "-a=api", "-p=pw", "-d"],
    ],
)
def test_2x_forms(argv: list[str]) -> None:
    assert parse_args(argv, V2) == Invocation(configs=["a.toml", "b.toml"], secrets="s.toml", api_file="api", password_file="pw")


def test_2x_image_default_command() -> None:
    assert parse_args(["local", "node"], V2) == Invocation()


@pytest.mark.parametrize(
    "argv",
    [
        ["-c", "a.toml", "-s", "s.toml", "node", "start", "-a", "api", "-p", "pw"],
        ["--config", "a.toml", "--secrets", "s.toml", "local", "n", "-p", "pw", "-a", "api"],
    ],
)
def test_1x_toml_form_has_global_flags(argv: list[str]) -> None:
    assert parse_args(argv, V1) == Invocation(configs=["a.toml"], secrets="s.toml", api_file="api", password_file="pw")


def test_1x_env_form() -> None:
    assert parse_args(["local", "node", "-p", "pw", "-a", "api"], V1) == Invocation(api_file="api", password_file="pw")


@pytest.mark.parametrize(
    ("behaviour", "argv", "message"),
    [
        (V2, ["-config", "a.toml", "node", "start"], "flag provided but not defined: -config"),
        (V1, ["node", "-config", "a.toml", "start"], "flag provided but not defined: -config"),
        (V2, ["node", "start", "-x"], "flag provided but not defined: -x"),
        (V2, ["node", "start", "-a"], "flag needs an argument: -a"),
        (V2, ["jobs", "list"], "unknown command"),
        (V2, ["node", "status"], "unknown subcommand"),
        (V2, [], "no command given"),
        (Behaviour(Version.parse("1.9.0")), ["-c", "a.toml", "node", "start"], "needs v1.10.0"),
    ],
)
def test_usage_errors(behaviour: Behaviour, argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_args(argv, behaviour)


def test_version_flag() -> None:
    assert parse_args(["--version"], V2).show_version


@pytest.mark.parametrize(
    ("version", "is_v1", "enabled_key", "ip_msg", "failing", "prefix"),
    [
        ("1.9.0", True, False, False, 503, True),
        ("1.10.0", True, False, False, 503, False),
        ("1.11.0", True, True, False, 503, False),
        ("2.2.0", False, True, False, 503, False),
        ("2.3.0", False, True, True, 503, False),
        ("2.9.0", False, True, True, 207, False),
        ("2.29.0", False, True, True, 207, False),
    ],
)
def test_version_switches(version: str, is_v1: bool, enabled_key: bool, ip_msg: bool, failing: int, prefix: bool) -> None:
    b = Behaviour(Version.parse(version))
    assert (b.is_v1, b.toml_lock_has_enabled, b.listen_message_has_ip, b.health_failing_status, b.cannot_boot_prefix) == (
        is_v1,
        enabled_key,
        ip_msg,
        failing,
        prefix,
    )
    assert b.symmetric_jitter is not is_v1


@pytest.mark.parametrize(
    ("version", "startup_server", "migrations"),
    # health.go's StartUpHealthReport: absent in v2.14.0, from v2.16.0; goose's max(version_id) grows with the version
    [("1.11.0", False, 1110), ("2.14.0", False, 2140), ("2.16.0", True, 2160), ("2.28.0", True, 2280), ("2.29.0", True, 2290)],
)
def test_start_up_server_and_migrations_by_version(version: str, startup_server: bool, migrations: int) -> None:
    b = Behaviour(Version.parse(version))
    assert (b.startup_health_server, b.migration_count) == (startup_server, migrations)


@pytest.mark.parametrize(
    ("version", "lost", "signal_line"),
    [
        ("1.1.0", "Another node has taken the lease, exiting", False),
        ("1.2.1", "Another node has taken the lease, exiting immediately", False),
        ("1.3.0", "Another node has taken the lease, exiting immediately", True),
        ("2.29.0", "Another node has taken the lease, exiting immediately", True),
    ],
)
def test_oldest_versions_log_as_they_did(version: str, lost: str, signal_line: bool) -> None:
    b = Behaviour(Version.parse(version))
    assert (b.lease_lost_message, b.logs_shutdown_signal) == (lost, signal_line)


@pytest.mark.parametrize(
    ("older", "newer"),
    [("2.28.0", "2.29.0"), ("1.11.0", "2.0.0"), ("2.29.0-beta.1", "2.29.0"), ("2.29.0-beta.1", "2.29.0-beta.2"), ("2.29.0-1", "2.29.0-beta")],
)
def test_semver_order(older: str, newer: str) -> None:
    assert Version.parse(older) < Version.parse(newer) and Version.parse(newer) > Version.parse(older)


def test_version_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a semantic version"):
        Version.parse("latest")
