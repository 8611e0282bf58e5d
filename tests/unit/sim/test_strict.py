# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The strict side of chainlink-sim: the known-key schema, the password rules, the new settings, the rate limiter."""

from __future__ import annotations

import pytest

from chainlink_sim import config as c
from chainlink_sim import passwords, schema
from chainlink_sim.ratelimit import FixedWindowLimiter
from chainlink_sim.version import Behaviour, Version

V2 = Behaviour(Version.parse("2.29.0"))
V111 = Behaviour(Version.parse("1.11.0"))
V110 = Behaviour(Version.parse("1.10.0"))
GOOD_URL = "postgresql://u:unit-Database-Passw0rd@127.0.0.1:5432/db"
SECRETS = {"Database": {"URL": GOOD_URL}, "Password": {"Keystore": "unit-Keystore-Passw0rd"}}


def spec(behaviour: Behaviour, which: int = 0) -> schema.Spec:
    return schema.load_spec(schema.spec_names(behaviour)[which])


# -- strict decoding ------------------------------------------------------------------------------------------------
def test_unknown_key_is_named() -> None:
    problem = schema.strict_errors({"WebServer": {"HTTPPort": 6688, "HTTPSPort": 6689}}, spec(V2))
    assert problem is not None
    assert problem.startswith("strict mode: fields in the document are missing in the target struct:")
    assert "\tWebServer.HTTPSPort: missing field" in problem


def test_every_unknown_key_is_listed() -> None:
    problem = schema.strict_errors({"Bogus": 1, "Database": {"Lock": {"Lease": "1s"}}}, spec(V2))
    assert problem is not None and "\tBogus: missing field" in problem and "\tDatabase.Lock.Lease: missing field" in problem


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"WebServer": {"HTTPPort": "6688"}}, "toml: cannot decode TOML string into WebServer.HTTPPort (expects integer)"),
        ({"WebServer": {"SecureCookies": "false"}}, "toml: cannot decode TOML string into WebServer.SecureCookies (expects boolean)"),
        ({"ShutdownGracePeriod": 5}, "toml: cannot decode TOML integer into ShutdownGracePeriod (expects duration)"),
        ({"Database": {"Lock": "on"}}, "toml: cannot decode TOML string into Database.Lock (expects table)"),
        ({"EVM": {"ChainID": "1"}}, "toml: cannot decode TOML table into EVM (expects array of tables)"),
    ],
)
def test_wrong_type_is_named(tree: dict, expected: str) -> None:
    assert schema.strict_errors(tree, spec(V2)) == expected


def test_bad_duration_is_named() -> None:
    assert schema.strict_errors({"WebServer": {"RateLimit": {"AuthenticatedPeriod": "1 minute"}}}, spec(V2)) == (
        'toml: WebServer.RateLimit.AuthenticatedPeriod: time: invalid duration "1 minute"'
    )


@pytest.mark.parametrize("size", ["100mb", "5120MB", " 1.5gb ", "0", "0b", "20.00mb", "100"])
def test_file_sizes_the_node_reads(size: str) -> None:
    assert schema.strict_errors({"Log": {"File": {"MaxSize": size}}}, spec(V2)) is None


@pytest.mark.parametrize("size", ["a lot", "100 mb", "100mib", "1.5.5mb", "-1mb", "100mbx"])
def test_file_sizes_the_node_refuses(size: str) -> None:
    assert schema.strict_errors({"Log": {"File": {"MaxSize": size}}}, spec(V111)) == f'toml: Log.File.MaxSize: bad filesize expression: "{size}"'


def test_a_real_operator_config_with_chains_is_accepted() -> None:
    tree = {
        "RootDir": "/chainlink",
        "Log": {"Level": "info", "JSONConsole": True, "File": {"MaxSize": "0b"}},
        "WebServer": {"HTTPPort": 6688, "SecureCookies": False, "TLS": {"HTTPSPort": 0}, "RateLimit": {"Authenticated": 2000}},
        "Database": {"Lock": {"Enabled": True, "LeaseDuration": "10s"}},
        "Feature": {"LogPoller": True},
        "OCR2": {"Enabled": True},
        "P2P": {"V2": {"Enabled": True, "ListenAddresses": ["0.0.0.0:9999"]}},
        "Tracing": {"Attributes": {"env": "prod", "team": "ops"}},
        "EVM": [{"ChainID": "1", "Nodes": [{"Name": "primary", "WSURL": "wss://x", "HTTPURL": "https://x"}]}],
    }
    assert schema.strict_errors(tree, spec(V2)) is None


def test_map_tables_check_their_values() -> None:
    assert schema.strict_errors({"Tracing": {"Attributes": {"env": 1}}}, spec(V2)) == (
        "toml: cannot decode TOML integer into Tracing.Attributes.env (expects string)"
    )
    assert schema.strict_errors({"Mercury": {"Credentials": {"feed": {"URL": "https://x", "Bogus": "y"}}}}, spec(V2, 1)) is not None


def test_version_families_differ_where_the_real_schemas_do() -> None:
    assert schema.strict_errors({"Database": {"Lock": {"Enabled": False}}}, spec(V111)) is None
    assert "Database.Lock.Enabled: missing field" in (schema.strict_errors({"Database": {"Lock": {"Enabled": False}}}, spec(V110)) or "")
    assert "WebServer.ListenIP: missing field" in (schema.strict_errors({"WebServer": {"ListenIP": "127.0.0.1"}}, spec(V111)) or "")
    assert schema.strict_errors({"ExplorerURL": "ws://x"}, spec(V111)) is None
    assert schema.strict_errors({"ExplorerURL": "ws://x"}, spec(V2)) is not None
    assert schema.strict_errors({"Explorer": {"AccessKey": "a"}}, spec(V111, 1)) is None
    assert schema.strict_errors({"Explorer": {"AccessKey": "a"}}, spec(V2, 1)) is not None
    assert schema.strict_errors({"P2P": {"V1": {"Enabled": False}}}, spec(V111)) is None
    assert "P2P.V1: missing field" in (schema.strict_errors({"P2P": {"V1": {"Enabled": False}}}, spec(V2)) or ""), "2.x supports only P2P.V2"
    assert schema.strict_errors({"Capabilities": {"Peering": {"V2": {"Enabled": True}}}}, spec(V2)) is None


@pytest.mark.parametrize("behaviour", [V2, V111, V110])
def test_collection_keys_are_known(behaviour: Behaviour) -> None:
    """What the collection writes by default (issue 10) decodes on every TOML family."""
    web = {"HTTPPort": 6688, "SecureCookies": False, "TLS": {"HTTPSPort": 0}}
    if not behaviour.is_v1:
        web["ListenIP"] = "127.0.0.1"
    lock = {"LeaseDuration": "10s", "LeaseRefreshInterval": "1s", **({"Enabled": True} if behaviour.toml_lock_has_enabled else {})}
    log = {"Level": "info", "JSONConsole": False, "File": {"MaxSize": "100mb"}}
    tree = {"ShutdownGracePeriod": "5s", "Database": {"Lock": lock}, "Log": log, "WebServer": web}
    assert schema.strict_errors(tree, spec(behaviour)) is None
    assert schema.strict_errors({"Database": {"URL": GOOD_URL}, "Password": {"Keystore": "k"}}, spec(behaviour, 1)) is None


def test_schema_is_read_from_a_core_toml_shaped_text() -> None:
    parsed = schema.spec_from_text("RootDir = '~/.chainlink'\n[WebServer]\nHTTPPort = 6688 # Default\nStartTimeout = '15s'\n")
    assert parsed.fields["WebServer"].fields["HTTPPort"].kind == "integer"
    assert parsed.fields["WebServer"].fields["StartTimeout"].kind == "duration"
    assert parsed.fields["RootDir"].kind == "string"
    sizes = schema.spec_from_text("[Log.File]\nMaxSize = '5120mb'\n[EVM]\nChainID = '111551111'\n")
    assert sizes.fields["Log"].fields["File"].fields["MaxSize"].kind == "filesize"
    assert sizes.fields["EVM"].fields["ChainID"].kind == "string"


# -- passwords ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://u:unit-Database-Passw0rd@h/db", None),
        ("postgresql://h/db", "DB URL must be authenticated; plaintext URLs are not allowed"),
        ("postgresql://u@h/db", "DB URL must be authenticated; password is required"),
        ("postgresql://h/db?password=unit-Database-Passw0rd", None),
        ("postgresql://u:short@h/db?password=unit-Database-Passw0rd", None),  # the query parameter wins
        ("postgresql://u:unit-Database-Passw0rd@h/db?password=short", "short"),
        ("postgresql://u:short@h/chainlink_test", None),  # _test is exempt
        ("postgresql://u:pw_test@h/db", "short"),  # ... but not in the (redacted) password
    ],
)
def test_db_url_rules(url: str, problem: str | None) -> None:
    found = passwords.db_url_problem(url, v1=False)
    if problem is None:
        assert found is None
    elif problem == "short":
        assert found is not None and "password is less than 16 characters long" in found
    else:
        assert found == problem


def test_complexity_messages_per_generation() -> None:
    assert passwords.verify_complexity(" fifteen-chars-x", v1=True) == (
        "password does not meet the requirements: must not contain leading or trailing whitespace characters"
    )
    assert passwords.verify_complexity("short", v1=True) == "password does not meet the requirements: must be longer than 16 characters"
    v2 = passwords.verify_complexity("short ", v1=False)
    assert v2 is not None and v2.startswith("\nExpected password complexity:\nMust be at least 16 characters long\n")
    assert v2.endswith("Faults:\n\tpassword contains a leading or trailing whitespace\n\tpassword is less than 16 characters long\n")
    assert passwords.verify_complexity("x" * 16, v1=False) is None
    assert 'password may not contain: "a@b.c"' in (passwords.verify_complexity("xxxxxxxxA@B.Cxxxxx", False, "a@b.c") or "")


def test_api_password_is_16_to_50() -> None:
    assert passwords.api_password_problem("x" * 16, v1=False) is None
    assert passwords.api_password_problem("x" * 50, v1=False) is None
    assert passwords.api_password_problem("x" * 51, v1=False) == "must enter a password less than 50 characters"
    short = passwords.api_password_problem("x" * 15, v1=False) or ""
    assert short.startswith("password insufficiently complex:\n\nMust have a length of 16-50 characters\n")


def test_simple_db_password_is_refused_before_anything_else() -> None:
    secrets = {"Database": {"URL": "postgresql://u:simple@127.0.0.1/db"}, "Password": {"Keystore": "k"}}
    with pytest.raises(c.ConfigError) as err:
        c.from_toml({}, secrets, {}, V2)
    assert str(err.value).startswith("invalid secrets: Database.URL: invalid value (*****): missing or insufficiently complex password: ")
    assert "Database should be secured by a password matching the following complexity requirements" in str(err.value)


@pytest.mark.parametrize("behaviour", [V2, V111])
def test_allow_simple_passwords_is_refused_on_a_release_build(behaviour: Behaviour) -> None:
    secrets = {"Database": {"URL": "postgresql://u:simple@127.0.0.1/db", "AllowSimplePasswords": True}, "Password": {"Keystore": "k"}}
    with pytest.raises(c.ConfigError) as err:
        c.from_toml({}, secrets, {}, behaviour)
    assert str(err.value) == "invalid secrets: Database.AllowSimplePasswords: invalid value (true): insecure configs are not allowed on secure builds"
    with pytest.raises(c.ConfigError, match="insecure configs are not allowed on secure builds"):
        c.from_toml({}, SECRETS, {"CL_DATABASE_ALLOW_SIMPLE_PASSWORDS": "true"}, behaviour)


def test_backup_url_is_checked_too() -> None:
    secrets = {"Database": {"URL": GOOD_URL, "BackupURL": "postgresql://u:simple@replica/db"}, "Password": {"Keystore": "k"}}
    with pytest.raises(c.ConfigError, match=r"Database\.BackupURL: invalid value \(\*\*\*\*\*\)"):
        c.from_toml({}, secrets, {}, V2)


# -- settings -------------------------------------------------------------------------------------------------------
def test_new_toml_settings_and_defaults() -> None:
    cfg = c.from_toml({}, SECRETS, {}, V2)
    assert (cfg.https_port, cfg.tls_listen_ip, cfg.start_timeout, cfg.secure_cookies) == (6689, "0.0.0.0", 15.0, True)
    assert (cfg.rate_authenticated, cfg.rate_authenticated_period, cfg.rate_unauthenticated, cfg.rate_unauthenticated_period) == (1000, 60.0, 5, 20.0)
    assert cfg.tls_files()[0].endswith("/.chainlink/tls/server.crt")
    tree = {
        "WebServer": {
            "SecureCookies": False,
            "StartTimeout": "2s",
            "TLS": {"HTTPSPort": 0, "CertPath": "/c.crt"},
            "RateLimit": {"Authenticated": 7, "AuthenticatedPeriod": "5s", "Unauthenticated": 2, "UnauthenticatedPeriod": "3s"},
        }
    }
    cfg = c.from_toml(tree, SECRETS, {}, V2)
    assert (cfg.https_port, cfg.start_timeout, cfg.secure_cookies, cfg.tls_files()[0]) == (0, 2.0, False, "/c.crt")
    assert (cfg.rate_authenticated, cfg.rate_authenticated_period, cfg.rate_unauthenticated, cfg.rate_unauthenticated_period) == (7, 5.0, 2, 3.0)


def test_late_1x_toml_binds_loopback() -> None:
    assert c.from_toml({}, SECRETS, {}, V111).listen_ip == "127.0.0.1"


def test_1x_env_names() -> None:
    env = {
        "DATABASE_URL": "postgresql://x",
        "CHAINLINK_TLS_PORT": "0",
        "SECURE_COOKIES": "false",
        "AUTHENTICATED_RATE_LIMIT": "9",
        "AUTHENTICATED_RATE_LIMIT_PERIOD": "10s",
        "UNAUTHENTICATED_RATE_LIMIT": "3",
        "UNAUTHENTICATED_RATE_LIMIT_PERIOD": "4s",
        "DATABASE_DEFAULT_QUERY_TIMEOUT": "3s",
    }
    cfg = c.from_env_v1(env, V111)
    assert (cfg.https_port, cfg.secure_cookies, cfg.default_query_timeout) == (0, False, 3.0)
    assert (cfg.rate_authenticated, cfg.rate_authenticated_period, cfg.rate_unauthenticated, cfg.rate_unauthenticated_period) == (9, 10.0, 3, 4.0)
    assert c.from_env_v1({"DATABASE_URL": "postgresql://x"}, V111).https_port == 6689


def test_1x_env_config_only_warns_about_a_simple_database_password() -> None:
    cfg = c.from_env_v1({"DATABASE_URL": "postgresql://u:simple@h/db"}, V111)
    assert len(cfg.warnings) == 1 and cfg.warnings[0].startswith(
        "DEPRECATION WARNING: Database has missing or insufficiently complex password: password does not meet the requirements: "
    )
    assert "SKIP_DATABASE_PASSWORD_COMPLEXITY_CHECK=true" in cfg.warnings[0]
    assert c.from_env_v1({"DATABASE_URL": GOOD_URL}, V111).warnings == []
    assert c.from_env_v1({"DATABASE_URL": "postgresql://u:simple@h/db", "SKIP_DATABASE_PASSWORD_COMPLEXITY_CHECK": "true"}, V111).warnings == []
    assert c.from_env_v1({"DATABASE_URL": "postgresql://u:simple@h/db", "CHAINLINK_DEV": "true"}, V111).warnings == []
    with pytest.raises(c.ConfigError, match="SKIP_DATABASE_PASSWORD_COMPLEXITY_CHECK has invalid value for bool: maybe"):
        c.from_env_v1({"DATABASE_URL": GOOD_URL, "SKIP_DATABASE_PASSWORD_COMPLEXITY_CHECK": "maybe"}, V111)


@pytest.mark.parametrize(
    "name", ["SECURE_COOKIES", "CHAINLINK_TLS_PORT", "ETH_URL", "PROMETHEUS_AUTH_TOKEN", "DATABASE_DEFAULT_QUERY_TIMEOUT", "ETH_MIN_GAS_PRICE_WEI"]
)
def test_whole_legacy_list_is_refused(name: str) -> None:
    assert len(c.LEGACY_ENV_VARS) == 234  # every name of legacy.env @v2.29.0
    with pytest.raises(c.ConfigError, match=f"environment variable {name} must not be set"):
        c.check_legacy_env({name: ""}, V2)


# -- rate limiter ---------------------------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_fixed_window_from_the_first_request() -> None:
    clock = Clock()
    limiter = FixedWindowLimiter(3, 10.0, clock=clock, wall=clock)
    assert [limiter.hit("a").reached for _attempt in range(4)] == [False, False, False, True]
    assert limiter.hit("b").reached is False  # per client
    clock.now = 109.9
    assert limiter.hit("a").reached is True  # still the same window: rejected requests count too
    clock.now = 110.0
    decision = limiter.hit("a")
    assert (decision.reached, decision.remaining) == (False, 2)  # a new window starts at this request
    assert decision.headers()["X-RateLimit-Reset"] == "120"


# -- WebServer.ListenIP: a net.IP (UnmarshalText), listened on as "<ip>:<port>" without brackets -----------------------
@pytest.mark.parametrize("value", ["127.0.0.1", "0.0.0.0", "192.0.2.3", "::1", "::ffff:127.0.0.1", ""])
def test_listen_ip_decodes_what_go_parses(value: str) -> None:
    assert schema.strict_errors({"WebServer": {"ListenIP": value}, "P2P": {}}, spec(V2)) is None


@pytest.mark.parametrize("value", ["localhost", "127.0.0.1:6688", "300.1.1.1", "127.000.0.1", "fe80::1%eth0", " 127.0.0.1"])
def test_listen_ip_that_is_no_ip_fails_the_decode(value: str) -> None:
    assert schema.strict_errors({"WebServer": {"ListenIP": value}}, spec(V2)) == f"toml: invalid IP address: {value}"
    assert schema.strict_errors({"WebServer": {"TLS": {"ListenIP": value}}}, spec(V2)) == f"toml: invalid IP address: {value}"


def test_listen_ip_of_another_type_is_named() -> None:
    assert schema.strict_errors({"WebServer": {"ListenIP": 127}}, spec(V2)) == "toml: cannot decode TOML integer into WebServer.ListenIP (expects net.IP)"


@pytest.mark.parametrize(
    ("ip", "address", "refused"),
    [
        ("127.0.0.1", "127.0.0.1:6688", None),
        ("::ffff:127.0.0.1", "127.0.0.1:6688", None),
        ("::1", "::1:6688", "listen tcp: address ::1:6688: too many colons in address"),
        ("", "<nil>:6688", "listen tcp: lookup <nil>: no such host"),
    ],
)
def test_listen_address_is_formatted_as_go_does(ip: str, address: str, refused: str | None) -> None:
    assert c.go_listen_address(ip, 6688) == (address, refused)
