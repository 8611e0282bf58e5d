# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""chainlink-sim is as strict as the real node: config decoding, password rules, TLS listener, rate limits, cookies,
and the bounded release past the shutdown grace period (issue 10)."""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import time
import typing as t
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.sim.helpers import V1, V2, Db
from tests.support.postgres import free_port, start_postgres
from tests.support.sim import API_EMAIL, API_PASSWORD, SimFactory

TLS_ERROR = (
    "Error starting server: failed to run TLS server (NOTE: you can disable TLS server completely and silence these "
    "errors by setting WebServer.TLS.HTTPSPort=0 in your config)"
)


def request(url: str, method: str = "GET", body: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def login(base_url: str, password: str = API_PASSWORD) -> tuple[int, dict[str, str], str]:
    return request(f"{base_url}/sessions", "POST", {"email": API_EMAIL, "password": password})


# -- strict configuration decoding ----------------------------------------------------------------------------------
@pytest.mark.parametrize("version", [V2, V1])
def test_unknown_config_key_fails_boot_before_the_database(db: Db, sim_factory: SimFactory, version: str) -> None:
    node = sim_factory.start(version, db.url, config_style="toml", extra_toml="[WebServer]\nHTTPSPort = 6689\n")
    assert node.wait_exit() == 1
    text = node.log_text()
    assert "failed to decode config TOML: strict mode: fields in the document are missing in the target struct" in text
    assert "WebServer.HTTPSPort: missing field" in text
    assert not db.has_table("lease_lock"), "refused before the database is touched"


def test_wrong_type_and_cl_config_are_checked_too(db: Db, sim_factory: SimFactory) -> None:
    typed = sim_factory.start(V2, db.url, extra_toml="[WebServer]\nSecureCookies = 'no'\n")
    assert typed.wait_exit() == 1
    assert "toml: cannot decode TOML string into WebServer.SecureCookies (expects boolean)" in typed.log_text()
    env = sim_factory.start(V2, db.url, extra_env={"CL_CONFIG": "[Database]\nLockTimeout = '1s'\n"})
    assert env.wait_exit() == 1
    assert "Database.LockTimeout: missing field" in env.log_text()
    assert not db.has_table("lease_lock")


def test_real_config_with_chains_boots(db: Db, sim_factory: SimFactory) -> None:
    chains = (
        "[Feature]\nLogPoller = true\n\n[OCR2]\nEnabled = true\n\n[[EVM]]\nChainID = '11155111'\n\n"
        "[[EVM.Nodes]]\nName = 'primary'\nWSURL = 'wss://rpc.invalid'\nHTTPURL = 'https://rpc.invalid'\n"
    )
    node = sim_factory.start(V2, db.url, extra_toml=chains)
    node.wait_booted()


# -- secrets and passwords ------------------------------------------------------------------------------------------
def test_simple_database_password_is_refused_before_the_lock(db: Db, sim_factory: SimFactory) -> None:
    simple = db.url.replace(f":{db.server.password}@", ":simple@")
    node = sim_factory.start(V2, simple)
    assert node.wait_exit() == 1
    text = node.log_text()
    assert "invalid secrets: Database.URL: invalid value (*****): missing or insufficiently complex password: " in text
    assert "password is less than 16 characters long" in text
    assert not db.has_table("lease_lock")
    no_password = sim_factory.start(V2, db.url.replace(f":{db.server.password}@", "@"))
    assert no_password.wait_exit() == 1
    assert "DB URL must be authenticated; password is required" in no_password.log_text()


def test_allow_simple_passwords_is_refused_on_a_release_build(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url, extra_env={"CL_DATABASE_ALLOW_SIMPLE_PASSWORDS": "true"})
    assert node.wait_exit() == 1
    assert "Database.AllowSimplePasswords: invalid value (true): insecure configs are not allowed on secure builds" in node.log_text()
    assert not db.has_table("lease_lock")


@pytest.fixture
def simple_role(db: Db, sim_factory: SimFactory) -> t.Iterator[tuple[str, str]]:
    """A login role with a simple password, and a second database named ``..._test`` it owns."""
    role = f"simple_{db.name[-8:]}"
    name = f"{db.name}_test"
    db.server.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD 'simple'")
    db.server.execute(f'CREATE DATABASE "{name}" OWNER {role}')
    try:
        yield role, name
    finally:
        sim_factory.stop_all()  # the nodes' tables in the test database belong to the role
        db.execute(f"DROP OWNED BY {role}")
        db.server.drop_database(name)
        db.server.execute(f"DROP ROLE {role}")


def test_test_database_urls_are_exempt(db: Db, sim_factory: SimFactory, simple_role: tuple[str, str]) -> None:
    role, name = simple_role
    node = sim_factory.start(V2, f"postgresql://{role}:simple@127.0.0.1:{db.server.port}/{name}")
    node.wait_booted()
    node.stop()
    refused = sim_factory.start(V2, f"postgresql://{role}:simple@127.0.0.1:{db.server.port}/{db.name}")
    assert refused.wait_exit() == 1
    assert "missing or insufficiently complex password" in refused.log_text()


def test_1x_env_config_only_warns_about_a_simple_database_password(db: Db, sim_factory: SimFactory, simple_role: tuple[str, str]) -> None:
    role, _name = simple_role
    url = f"postgresql://{role}:simple@127.0.0.1:{db.server.port}/{db.name}"
    node = sim_factory.start(V1, url)
    node.wait_booted()
    assert "DEPRECATION WARNING: Database has missing or insufficiently complex password" in node.log_text()
    toml = sim_factory.start(V1, url, config_style="toml")
    assert toml.wait_exit() == 1, "the TOML secrets of the same version refuse it"


@pytest.mark.parametrize(("version", "fault"), [(V2, "password is less than 16 characters long"), (V1, "must be longer than 16 characters")])
def test_keystore_password_rule_applies_to_an_empty_keystore_after_the_lock(db: Db, sim_factory: SimFactory, version: str, fault: str) -> None:
    weak = sim_factory.start(version, db.url, keystore_password="weak-keystore")
    assert weak.wait_exit() == 1
    assert "error authenticating keystore: " in weak.log_text() and fault in weak.log_text()
    holder, valid = db.lease()
    assert holder is not None and not valid, "the keystore is unlocked after the lock: taken, then released"
    sim_factory.start(version, db.url).wait_booted()  # a compliant password creates the keystore
    sim_factory.stop_all()
    again = sim_factory.start(version, db.url, keystore_password="weak-keystore")
    again.wait_booted()  # an existing keystore is unlocked without the rule (backward compatibility)


def test_api_password_rule_applies_when_the_user_is_created(db: Db, sim_factory: SimFactory) -> None:
    weak = sim_factory.start(V2, db.url, api_password="short-api")
    assert weak.wait_exit() == 1
    assert "error creating api initializer: failed to instantiate new user: password insufficiently complex:" in weak.log_text()
    long = sim_factory.start(V2, db.url, api_password="x" * 51)
    assert long.wait_exit() == 1
    assert "must enter a password less than 50 characters" in long.log_text()
    sim_factory.start(V2, db.url).wait_booted()
    sim_factory.stop_all()
    sim_factory.start(V2, db.url, api_password="short-api").wait_booted()  # the stored user is reused


def test_the_whole_legacy_env_list_is_refused(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url, extra_env={"SECURE_COOKIES": ""})
    assert node.wait_exit() == 1
    assert "environment variable SECURE_COOKIES must not be set: unsupported with config v2" in node.log_text()


# -- TLS listener ---------------------------------------------------------------------------------------------------
def test_tls_listener_fails_without_a_certificate_and_retries(db: Db, sim_factory: SimFactory) -> None:
    port = free_port()
    node = sim_factory.start(V2, db.url, https_port=port, extra_toml="[WebServer]\nStartTimeout = '1s'\n")
    node.wait_http()
    node.wait_for_line(rf"Listening and serving HTTPS on 127\.0\.0\.1:{port}")
    crt = re.escape(str(node.workdir / ".chainlink" / "tls" / "server.crt"))
    first = node.wait_for_line(re.escape(TLS_ERROR) + rf": open {crt}: no such file or directory", 5)
    assert "[CRIT]" in first.text
    deadline = time.monotonic() + 5
    while node.count_lines(re.escape(TLS_ERROR)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    errors = [line.at for line in node.log_lines() if TLS_ERROR in line.text]
    assert len(errors) >= 2 and 0.8 <= errors[1] - errors[0] <= 3.0, "retried every WebServer.StartTimeout"


def test_tls_listener_serves_https_with_a_key_pair(db: Db, sim_factory: SimFactory, tmp_path: Path) -> None:
    crt, key = tmp_path / "server.crt", tmp_path / "server.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(crt)],
        check=True,
        capture_output=True,
    )
    port = free_port()
    tls = f"[WebServer.TLS]\nCertPath = '{crt}'\nKeyPath = '{key}'\n"
    node = sim_factory.start(V2, db.url, https_port=port, extra_toml=tls)
    node.wait_for_line(rf"Listening and serving HTTPS on 127\.0\.0\.1:{port}")
    context = ssl.create_default_context(cafile=str(crt))
    context.check_hostname = False
    deadline = time.monotonic() + 5
    while True:  # the HTTPS line is logged just before the listener binds
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", context=context, timeout=5) as resp:
                assert resp.status == 200
                break
        except urllib.error.URLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert node.count_lines("Error starting server") == 0


def test_tls_listener_on_1x_env_config(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V1, db.url, https_port=free_port())
    node.wait_http()
    node.wait_for_line(r"Listening and serving HTTPS on port \d+")
    node.wait_for_line(re.escape(TLS_ERROR), 5)


def test_no_tls_line_with_https_port_zero(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url, extra_toml="[WebServer]\nStartTimeout = '200ms'\n")
    node.wait_http()
    time.sleep(1.0)
    assert node.count_lines("HTTPS|TLS") == 0


def test_http_port_taken_is_retried_while_the_node_keeps_the_lock(db: Db, sim_factory: SimFactory) -> None:
    port = free_port()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        node = sim_factory.start(V2, db.url, http_port=port, extra_toml="[WebServer]\nStartTimeout = '1s'\n")
        node.wait_for_line(rf"Error starting server: failed to run plaintext HTTP server: listen tcp 127\.0\.0\.1:{port}: bind: address already in use")
        assert node.running, "2.x logs the failure and keeps running"
        assert db.lease()[1], "... holding the lease without an HTTP server"
    deadline = time.monotonic() + 5
    while request_status(f"{node.base_url}/readyz") != 200:
        assert time.monotonic() < deadline, f"no retry after the port was freed:\n{node.log_text()}"
        time.sleep(0.2)


def request_status(url: str) -> int | None:
    try:
        return request(url)[0]
    except OSError:
        return None


# -- rate limits ----------------------------------------------------------------------------------------------------
def test_authenticated_limiter_defaults_to_1000_per_minute(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url)
    node.wait_http()
    statuses = [request(f"{node.base_url}/readyz")[0] for _attempt in range(1000)]
    assert statuses.count(200) == 1000
    status, headers, body = request(f"{node.base_url}/health")
    assert (status, body, headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == (429, "Limit exceeded", "1000", "0")
    assert request(f"{node.base_url}/nope")[0] == 404, "unrouted paths are outside the limiter"


def test_limiter_window_is_configurable_and_fixed(db: Db, sim_factory: SimFactory) -> None:
    limits = "[WebServer.RateLimit]\nAuthenticated = 4\nAuthenticatedPeriod = '2s'\n"
    node = sim_factory.start(V2, db.url, extra_toml=limits)
    node.wait_http()
    start = time.monotonic()
    got = [request(f"{node.base_url}{path}")[0] for path in ("/readyz", "/health", "/health.txt", "/v2/ping", "/readyz", "/readyz")]
    assert got == [200, 200, 200, 401, 429, 429]
    time.sleep(max(0.0, start + 2.2 - time.monotonic()))
    assert request(f"{node.base_url}/readyz")[0] == 200, "a new window starts after the period"


def test_sessions_have_the_unauthenticated_limiter(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url, extra_toml="[WebServer.RateLimit]\nUnauthenticated = 2\nUnauthenticatedPeriod = '20s'\n")
    node.wait_http()
    assert [login(node.base_url, "wrong-password-123")[0] for _attempt in range(2)] == [401, 401]
    status, _headers, body = login(node.base_url)
    assert (status, body) == (429, "Limit exceeded")
    assert request(f"{node.base_url}/readyz")[0] == 200, "the other routes are not behind it"


def test_1x_env_rate_limit_names(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V1, db.url, extra_env={"AUTHENTICATED_RATE_LIMIT": "2", "AUTHENTICATED_RATE_LIMIT_PERIOD": "1m"})
    node.wait_http()
    assert [request(f"{node.base_url}/readyz")[0] for _attempt in range(3)] == [200, 200, 429]


# -- cookies --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "secure"), [(V2, None), (V2, False), (V1, None), (V1, False)])
def test_session_cookie_secure_flag(db: Db, sim_factory: SimFactory, version: str, secure: bool | None) -> None:
    node = sim_factory.start(version, db.url, secure_cookies=secure)
    node.wait_http()
    status, headers, _body = login(node.base_url)
    assert status == 200
    attributes = [part.strip() for part in headers["Set-Cookie"].split(";")]
    assert ("Secure" in attributes) is (secure is None), "SecureCookies defaults to true"


# -- shutdown -------------------------------------------------------------------------------------------------------
def test_release_past_the_grace_period_is_bounded_by_the_query_timeout(sim_factory: SimFactory) -> None:
    server = start_postgres("nodeops-test-pg-paused")
    try:
        name = server.create_database()
        extra = "[Database]\nDefaultQueryTimeout = '2s'\n"
        node = sim_factory.start(V2, server.url(name), shutdown_grace="1s", extra_toml=extra, extra_env={"SIM_SHUTDOWN_DELAY": "30"})
        node.wait_http()
        subprocess.run(["docker", "pause", server.container], check=True, capture_output=True)
        try:
            sent = time.monotonic()
            node.terminate()
            assert node.wait_exit(15) == 255
            elapsed = (node.exited_at or time.monotonic()) - sent
            assert 2.5 <= elapsed <= 6.0, f"grace 1s + query timeout 2s bound the exit, took {elapsed:.1f}s"
            assert "Error trying to release lease on cancelled ctx" in node.log_text()
        finally:
            subprocess.run(["docker", "unpause", server.container], check=False, capture_output=True)
    finally:
        server.stop()


# -- WebServer.ListenIP: a net.IP, listened on as "<ip.String()>:<port>" (cmd/shell.go server.run) -------------------
COPTS_PORT = 17812  # this test's own port (the copts range)


def test_listen_ip_that_is_no_ip_fails_boot_before_the_database(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url, http_port=COPTS_PORT, extra_toml="[WebServer]\nListenIP = 'localhost'\n")
    assert node.wait_exit() == 1
    assert "failed to decode config TOML: toml: invalid IP address: localhost" in node.log_text()
    assert not db.has_table("lease_lock"), "refused before the database is touched"


def test_ipv6_listen_ip_never_listens_but_the_node_runs(db: Db, sim_factory: SimFactory) -> None:
    node = sim_factory.start(V2, db.url, http_port=COPTS_PORT, extra_toml="[WebServer]\nListenIP = '::1'\n")
    node.wait_booted()
    line = node.wait_for_line("Error starting server: failed to run plaintext HTTP server")
    assert f"listen tcp: address ::1:{COPTS_PORT}: too many colons in address" in line.text, line.text
    assert f"Listening and serving HTTP on ::1:{COPTS_PORT}" in node.log_text()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", COPTS_PORT), timeout=1).close()
    # it keeps running and holding the lease (the server is retried every StartTimeout)
    assert node.running and node.active
