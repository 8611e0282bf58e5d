# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The real node's boot rules as the preflight checks them: passwords, AllowSimplePasswords, legacy environment and
the stop timeout. Every message names the rule and the fix and never carries the secret."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils import _node_rules

GOOD = "Str0ng-enough-passw0rd"  # 22 characters
GOOD_URL = f"postgresql://chainlink:{GOOD}@db.example.org:5432/chainlink?sslmode=require"


# -- durations ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "seconds"), [("10s", 10.0), ("500ms", 0.5), ("1m30s", 90.0), ("1.5h", 5400.0), (0, 0.0), ("0", 0.0), ("250us", 0.00025)])
def test_parse_duration(value: t.Any, seconds: float) -> None:
    assert _node_rules.parse_duration(value, "x") == pytest.approx(seconds)


# the node reads its durations with time.ParseDuration: a bare number (but 0) has no unit, which it refuses
@pytest.mark.parametrize("value", ["10 seconds", "", "s", "10x", True, "1m 30s", 7, "12", "-5s"])
def test_parse_duration_refuses_what_go_refuses(value: t.Any) -> None:
    with pytest.raises(_node_rules.RuleError, match="x"):
        _node_rules.parse_duration(value, "x")


# -- passwords ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "faults"),
    [
        (GOOD, []),
        ("exactlyrightlen1", []),  # 16 characters: the real test's boundary
        ("whitespace in password is ok", []),
        ("notlongenough", ["it is shorter than 16 characters"]),
        (" leading-space-password", ["it has leading or trailing whitespace"]),
        ("trailing-tab-password\t", ["it has leading or trailing whitespace"]),
        (" short ", ["it has leading or trailing whitespace", "it is shorter than 16 characters"]),
    ],
)
def test_password_faults(password: str, faults: list[str]) -> None:
    assert _node_rules.password_faults(password) == faults


def test_password_containing_the_email_case_insensitively() -> None:
    assert _node_rules.password_faults("xx-Admin@Nodeops.Test-xx", "admin@nodeops.test") == ["it contains the API email"]


@pytest.mark.parametrize(
    ("url", "faults"),
    [
        (GOOD_URL, []),
        # the password= parameter comes first, as in the node (and as in libpq)
        (f"postgresql://chainlink:short@db/cl?password={GOOD}", []),
        (f"postgresql://chainlink:{GOOD}@db/cl?password=short", ["it is shorter than 16 characters"]),
        # userinfo is percent-decoded before it is measured
        ("postgresql://chainlink:%20padded-password-long@db/cl", ["it has leading or trailing whitespace"]),
        ("postgresql://db.example.org/chainlink", ["it carries no login (the node refuses plaintext URLs: 'DB URL must be authenticated')"]),
        ("postgresql://chainlink@db.example.org/chainlink", ["it has no password (the node refuses it: 'DB URL must be authenticated; password is required')"]),
        ("postgresql://chainlink:@db.example.org/chainlink", ["it is shorter than 16 characters"]),
        # a URL naming a test database is exempt, as in the node
        ("postgresql://postgres:short@localhost/chainlink_test", []),
        # ... but not when only the password says _test (the node looks at the redacted URL)
        ("postgresql://postgres:a_test@localhost/chainlink", ["it is shorter than 16 characters"]),
    ],
)
def test_database_url_faults(url: str, faults: list[str]) -> None:
    assert _node_rules.database_url_faults(url) == faults


def problems(**changes: t.Any) -> list[str]:
    settings = {
        "config_format": "toml",
        "database_url": GOOD_URL,
        "keystore_password": "keystore-" + GOOD,
        "api_email": "admin@nodeops.test",
        "api_password": "api-" + GOOD,
        "secrets_extra": {},
        "config_extra": {},
        "env_extra": {},
        "shutdown_grace_period": "5s",
        "stop_timeout": 20,
    }
    settings.update(changes)
    return _node_rules.node_problems(settings)


def test_good_settings_pass() -> None:
    assert problems() == []


@pytest.mark.parametrize(
    ("changes", "expected", "secret"),
    [
        ({"database_url": "postgresql://u:weak@db/cl"}, "the database URL's password does not meet the node's rules (it is shorter than 16", "weak"),
        ({"database_url": "postgresql://u@db/cl"}, "password is required", None),
        ({"keystore_password": "tiny-keystore"}, "the keystore password does not meet the node's rules (it is shorter than 16", "tiny-keystore"),
        ({"keystore_password": GOOD + " "}, "keystore password does not meet the node's rules (it has leading or trailing whitespace", None),
        ({"api_password": "api-short"}, "the API user's password does not meet the node's rules (it is shorter than 16", "api-short"),
        ({"api_password": "x" * 51}, "it is longer than 50 characters", None),
        ({"api_password": "my-admin@nodeops.test-pw"}, "it contains the API email", "my-admin@nodeops.test-pw"),
        ({"secrets_extra": {"Database": {"AllowSimplePasswords": True}}}, "insecure configs are not allowed on secure builds", None),
        ({"secrets_extra": {"Database": {"BackupURL": "postgresql://u:weak@backup/cl"}}}, "Database.BackupURL's password", "weak"),
        ({"env_extra": {"LOG_LEVEL": "debug", "CL_DEV": "true"}}, "node_env_extra sets LOG_LEVEL, which a TOML-configured node refuses", None),
        ({"env_extra": {"CHAINLINK_TLS_PORT": ""}}, "CHAINLINK_TLS_PORT", None),
        ({"stop_timeout": 15}, "node_stop_timeout 15s is below ShutdownGracePeriod 5s + Database.DefaultQueryTimeout (default 10s) 10s", None),
        (
            {"stop_timeout": 20, "config_extra": {"Database": {"DefaultQueryTimeout": "30s"}}},
            "+ Database.DefaultQueryTimeout 30s + 5s margin",
            None,
        ),
        ({"stop_timeout": 20, "shutdown_grace_period": "10s"}, "set chainlink_stop_timeout to at least 25", None),
        ({"stop_timeout": "soon"}, "is not a number of seconds", None),
    ],
)
def test_each_rule_names_the_problem_and_the_fix_without_the_secret(changes: dict[str, t.Any], expected: str, secret: str | None) -> None:
    found = problems(**changes)
    assert len(found) == 1, found
    assert expected in found[0]
    if secret:
        assert secret not in found[0]


def test_every_problem_is_reported_at_once() -> None:
    found = problems(database_url="postgresql://u:weak@db/cl", keystore_password="weak-too", api_password="weak-three", stop_timeout=5)
    assert len(found) == 4


def test_allow_simple_passwords_false_is_fine_and_env_format_ignores_toml_secrets() -> None:
    assert problems(secrets_extra={"Database": {"AllowSimplePasswords": False}}) == []
    assert problems(config_format="env", secrets_extra={"Database": {"AllowSimplePasswords": True}}, env_extra={"LOG_LEVEL": "debug"}) == []


def test_env_format_reads_the_query_timeout_from_the_environment() -> None:
    assert problems(config_format="env", env_extra={"DATABASE_DEFAULT_QUERY_TIMEOUT": "2s"}, stop_timeout=12) == []
    (found,) = problems(config_format="env", env_extra={"DATABASE_DEFAULT_QUERY_TIMEOUT": "20s"}, stop_timeout=20)
    assert "DATABASE_DEFAULT_QUERY_TIMEOUT 20s" in found and "at least 30" in found


def test_a_shorter_query_timeout_allows_a_shorter_stop_timeout() -> None:
    assert problems(config_extra={"Database": {"DefaultQueryTimeout": "1s"}}, shutdown_grace_period="2s", stop_timeout=8) == []


def test_stop_timeout_minimum_rounds_up() -> None:
    assert _node_rules.stop_timeout_minimum(5, 10) == 20
    assert _node_rules.stop_timeout_minimum(0.5, 10) == 16


def test_legacy_list_holds_the_real_variables() -> None:
    # spot checks of core/services/chainlink/legacy.env, one per group
    for name in ("DATABASE_URL", "DATABASE_LOCKING_MODE", "LEASE_LOCK_DURATION", "SECURE_COOKIES", "CHAINLINK_TLS_PORT", "ETH_URL", "PROMETHEUS_AUTH_TOKEN"):
        assert name in _node_rules.LEGACY_ENV
    assert "CL_DATABASE_URL" not in _node_rules.LEGACY_ENV
    assert len(_node_rules.LEGACY_ENV) == 234  # every name of the file @v2.29.0


def test_legacy_list_is_the_one_the_double_refuses() -> None:
    """The collection and the node double keep the same list (the double's is data, read from the real file)."""
    data = Path(__file__).resolve().parents[4] / "lab" / "chainlink-sim" / "chainlink_sim" / "data" / "legacy.env"
    names = {line.strip() for line in data.read_text().splitlines() if line.strip() and not line.startswith("#")}
    assert names == _node_rules.LEGACY_ENV


@pytest.mark.parametrize(("version", "refused"), [("2.5.1", True), ("2.6.0", False), ("2.29.0", False), (None, True)])
def test_the_explorer_variables_are_refused_only_where_the_node_lists_them(version: str | None, refused: bool) -> None:
    found = problems(version=version, env_extra={"EXPLORER_URL": "ws://explorer"})
    assert bool(found) is refused and all("EXPLORER_URL" in p for p in found)
    assert problems(version=version, env_extra={"ETH_MIN_GAS_PRICE_WEI": "1"})[0].startswith("node_env_extra sets ETH_MIN_GAS_PRICE_WEI")


@pytest.mark.parametrize(
    ("changes", "source"),
    [
        ({"log_level": "warn"}, "chainlink_log_level (node_log_level) is 'warn'"),
        ({"log_level": "info", "config_extra": {"Log": {"Level": "error"}}}, "chainlink_config_extra Log.Level is 'error'"),
        ({"config_format": "env", "log_level": "debug", "env_extra": {"LOG_LEVEL": "crit"}}, "chainlink_env_extra LOG_LEVEL is 'crit'"),
    ],
)
def test_a_log_level_that_hides_the_proven_lines_is_refused_wherever_it_is_set(changes: dict[str, t.Any], source: str) -> None:
    found = problems(**changes)
    assert len(found) == 1 and found[0].startswith(source), found
    assert "set it to info (the node's default) or debug" in found[0]


@pytest.mark.parametrize(
    "changes",
    [
        {"log_level": "debug"},
        {"log_level": "INFO"},
        {"log_level": "warn", "config_extra": {"Log": {"Level": "info"}}},
        {"config_format": "env", "log_level": "info"},
    ],
)
def test_info_and_debug_keep_the_proofs_visible(changes: dict[str, t.Any]) -> None:
    assert problems(**changes) == []


# -- where the API listens (WebServer.ListenIP from 2.3.0) ----------------------------------------------------------


def listen(**settings: t.Any) -> dict[str, t.Any]:
    return {"version": "2.29.0", "config_format": "toml", "listen_ip": "127.0.0.1", "http_port": 6688, "https_port": 0, **settings}


@pytest.mark.parametrize("ip", ["127.0.0.1", "0.0.0.0", "192.0.2.5", "::ffff:127.0.0.1"])
def test_listen_ip_the_node_accepts(ip: str) -> None:
    assert _node_rules.listen_problems(listen(listen_ip=ip)) == []


@pytest.mark.parametrize(
    ("ip", "text"),
    [
        ("localhost", "'localhost' is not an IP address: the node refuses to boot (invalid IP address: localhost)"),
        ("300.1.1.1", "is not an IP address"),
        ("fe80::1%eth0", "is not an IP address"),
        ("::1", "'::1' is an IPv6 address: the node writes '<ip>:<port>' without brackets and never listens"),
        ("", "node_listen_ip (chainlink_listen_ip) is empty: the node decodes it to no address"),
    ],
)
def test_listen_ip_the_node_refuses_or_never_listens_on(ip: str, text: str) -> None:
    problems = _node_rules.listen_problems(listen(listen_ip=ip))
    assert len(problems) == 1 and text in problems[0], problems
    # the same rules hold in node_problems, which the preflight runs
    assert problems[0] in _node_rules.node_problems(
        {**listen(listen_ip=ip), "database_url": GOOD_URL, "keystore_password": GOOD, "api_email": "a@b.c", "api_password": GOOD, "stop_timeout": 20}
    )


def test_listen_ip_from_config_extra_wins_and_tls_is_checked_when_on() -> None:
    settings = listen(config_extra={"WebServer": {"ListenIP": "nope", "TLS": {"HTTPSPort": 6689, "ListenIP": "::"}}})
    problems = _node_rules.listen_problems(settings)
    assert "chainlink_config_extra WebServer.ListenIP 'nope' is not an IP address" in problems[0]
    assert "WebServer.TLS.ListenIP '::' is an IPv6 address" in problems[1]


@pytest.mark.parametrize("settings", [listen(version="2.2.0", listen_ip="bogus"), listen(version="1.11.0", config_format="env", listen_ip="")])
def test_listen_ip_is_not_read_before_2_3(settings: dict[str, t.Any]) -> None:
    assert _node_rules.listen_problems(settings) == []


@pytest.mark.parametrize(
    ("settings", "text"),
    [
        (listen(), None),
        (listen(listen_ip="0.0.0.0"), "node_listen_ip (chainlink_listen_ip) is '0.0.0.0': the node's API listens on every address"),
        (listen(config_extra={"WebServer": {"ListenIP": "0.0.0.0"}}), "chainlink_config_extra WebServer.ListenIP is '0.0.0.0'"),
        # TLS on: its listener defaults to every address
        (listen(https_port=6689), "WebServer.TLS.ListenIP is '0.0.0.0'"),
        (listen(https_port=6689, config_extra={"WebServer": {"TLS": {"ListenIP": "127.0.0.1"}}}), None),
        (listen(version="2.2.0"), "Chainlink 2.2.0 has no WebServer.ListenIP (it came in 2.3.0), so with host networking"),
        (listen(version="1.11.0", config_format="env"), "(1.x environment configuration)"),
        (listen(version="1.11.0", config_format="env", network_mode="bridge", published_address="127.0.0.1"), None),
        (listen(network_mode="bridge", listen_ip="0.0.0.0", published_address="0.0.0.0"), "published on every address of its Docker host"),
    ],
)
def test_listen_warnings(settings: dict[str, t.Any], text: str | None) -> None:
    warnings = _node_rules.listen_warnings(settings)
    assert (warnings == []) if text is None else (len(warnings) == 1 and text in warnings[0]), warnings


def test_a_secret_in_the_environment_of_a_toml_node_is_refused_naming_the_setting_to_use() -> None:
    env = {"CL_DATABASE_URL": "postgresql://u:db-Passw0rd-0123456@db/cl", "CL_PASSWORD_KEYSTORE": "x", "CL_DEV": "false"}
    problems = _node_rules.secret_env_problems(env, "toml")
    assert len(problems) == 2
    assert problems[0].startswith("node_env_extra sets CL_DATABASE_URL, a secret the container's environment would show")
    assert "set chainlink_database_url" in problems[0] and "set chainlink_keystore_password" in problems[1]
    assert not any("db-Passw0rd" in p for p in problems)
    assert _node_rules.secret_env_problems(env, "env") == []  # a 1.x node in env mode reads DATABASE_URL there only
    problems = _node_rules.node_problems({"config_format": "toml", "env_extra": {"CL_PASSWORD_VRF": "vrf-pw"}, "stop_timeout": 20})
    assert any("CL_PASSWORD_VRF" in p and "chainlink_secrets_extra Password.VRF" in p for p in problems)
