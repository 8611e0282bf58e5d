# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input to playbooks/deploy.yml: every preflight rule refuses the pair with a message that names the problem
and the fix, before any container or file changes.

All bad pairs go through one ansible-playbook run (one pair host per case, each failing on its own), which keeps
this module fast; each case is then checked on its own. Further tests start a real pair (chainlink-sim on the
test PostgreSQL) and check the refusals that need a running pair or a foreign lock holder.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
import typing as t
from pathlib import Path

import psycopg2
import pytest

from tests.support.playbook import PlaybookRun, run_playbook
from tests.support.postgres import PostgresServer, free_port
from tests.support.sim import SimNode

SIM_IMAGE = "nodeops-lab/chainlink-sim"
SUITE = "nodeops.test.suite"


def require_images(*versions: str) -> None:
    for version in versions:
        ref = f"{SIM_IMAGE}:{version}"
        if subprocess.run(["docker", "image", "inspect", ref], capture_output=True, check=False).returncode != 0:
            raise RuntimeError(f"image {ref} is missing: run 'lab/lab images' first")


def inventory(pairs: dict[str, dict[str, t.Any]], config_root: Path, suite: str) -> dict[str, t.Any]:
    """A lab-shaped inventory: pairs on docker-a (this machine), short lease settings, a test label."""
    return {
        "all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
            "children": {
                "docker_hosts": {"hosts": {"docker-a": {"chainlink_config_root": str(config_root)}}},
                "chainlink_pairs": {
                    "vars": {
                        "chainlink_image": SIM_IMAGE,
                        "chainlink_version": "2.29.0",
                        "chainlink_listen_ip": "127.0.0.1",
                        "chainlink_lease_duration": "3s",
                        "chainlink_lease_refresh_interval": "500ms",
                        "chainlink_shutdown_grace_period": "2s",
                        "chainlink_keystore_password": "roles-test-keystore-password",
                        "chainlink_api_email": "admin@nodeops.test",
                        "chainlink_api_password": "roles-test-api-password",
                        "chainlink_container_labels": {"nodeops.test": "true", SUITE: suite},
                    },
                    "hosts": pairs,
                },
            },
        }
    }


def pair_vars(name: str, database_url: str, ports: tuple[int, int], **extra: t.Any) -> dict[str, t.Any]:
    return {
        "chainlink_database_url": database_url,
        "chainlink_instances": {
            "primary": {"docker_host": "docker-a", "container_name": f"nodeops-roles-{name}-primary", "http_port": ports[0]},
            "secondary": {"docker_host": "docker-a", "container_name": f"nodeops-roles-{name}-secondary", "http_port": ports[1]},
        },
        **extra,
    }


def containers(label: str) -> list[dict[str, t.Any]]:
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True, check=True).stdout.split()
    if not ids:
        return []
    out = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, check=True).stdout
    return t.cast("list[dict[str, t.Any]]", json.loads(out))


def remove_containers(label: str) -> None:
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True, check=False).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)


# case -> (pair vars to change, text the refusal must contain); the base pair is valid (tested below)
BAD_CASES: dict[str, tuple[dict[str, t.Any], str]] = {
    "two_databases": ({"secondary": {"database_url": "OTHER_DB"}}, "must share ONE database"),
    "same_name": ({"secondary": {"container_name": "SAME_NAME"}}, "give them distinct container_name values"),
    "same_port": ({"secondary": {"http_port": "SAME_PORT"}}, "give the secondary another http_port"),
    "split_versions": ({"secondary": {"version": "2.28.0"}}, "a pair runs one image and version"),
    "one_instance": ({"instances": "primary_only"}, "must define exactly two instances, primary and secondary"),
    "lock_disabled": ({"chainlink_lock_enabled": False}, "the database lock is off (node_lock_enabled: false)"),
    "locking_mode_none": ({"chainlink_version": "1.11.0", "chainlink_locking_mode": "none"}, "node_locking_mode: none"),
    "refresh_above_half": ({"chainlink_lease_duration": "2s", "chainlink_lease_refresh_interval": "1500ms"}, "is more than half of LeaseDuration 2s"),
    # the node releases its lease after ShutdownGracePeriod, for up to Database.DefaultQueryTimeout (10 s by default)
    "stop_timeout_short": (
        {"chainlink_shutdown_grace_period": "5s", "chainlink_stop_timeout": 15},
        "node_stop_timeout 15s is below ShutdownGracePeriod 5s + Database.DefaultQueryTimeout (default 10s) 10s + 5s margin",
    ),
    "stop_timeout_query_timeout": (
        {"chainlink_stop_timeout": 20, "chainlink_config_extra": {"Database": {"DefaultQueryTimeout": "30s"}}},
        "+ Database.DefaultQueryTimeout 30s + 5s margin",
    ),
    "log_file_size_not_a_size": (
        {"chainlink_log_file_max_size": "100 MiB"},
        "node_log_file_max_size (chainlink_log_file_max_size) '100 MiB' is not a file size the node reads",
    ),
    "not_a_duration": ({"chainlink_lease_duration": "10 seconds"}, "node_lease_duration '10 seconds' is not a Go duration: write it like 10s"),
    # the node reads its durations with Go's time.ParseDuration, which refuses a bare number (but 0) and Chainlink a negative
    "duration_bare_number": ({"chainlink_lease_duration": 10}, "node_lease_duration '10' has no unit (the node refuses a bare number"),
    "duration_negative": ({"chainlink_advisory_lock_check_interval": "-1s"}, "node_advisory_lock_check_interval '-1s' is negative, which the node refuses"),
    "legacy_env_v2": ({"chainlink_env_extra": {"LEASE_LOCK_DURATION": "10s"}}, "which a TOML-configured node refuses at boot"),
    # not only the lock variables: every name of the real legacy.env
    "legacy_env_any": ({"chainlink_env_extra": {"LOG_LEVEL": "debug", "SECURE_COOKIES": ""}}, "node_env_extra sets LOG_LEVEL, SECURE_COOKIES, which a"),
    "db_password_short": ({"chainlink_database_url": "WEAK_DB"}, "the database URL's password does not meet the node's rules (it is shorter than 16"),
    "db_password_missing": ({"chainlink_database_url": "NO_PASSWORD_DB"}, "password is required"),
    # extras merged last would unsay what the roles write: the lock off, another port, another database (one pair for
    # all three extras; tests/unit/plugins/module_utils/test__pair.py has each key)
    "extra_lock_off": (
        {
            "chainlink_config_extra": {"Database": {"Lock": {"Enabled": False}}, "WebServer": {"HTTPPort": 6688}},
            "chainlink_secrets_extra": {"Database": {"URL": "OTHER_DB"}},
            "chainlink_env_extra": {"CL_CONFIG": "[Database.Lock]\nEnabled = false"},
        },
        "chainlink_config_extra sets Database.Lock.Enabled (use chainlink_lock_enabled), WebServer.HTTPPort (use http_port in"
        " chainlink_instances), which the roles decide themselves (there it would silently override them, or undo the container's"
        " isolation): remove it there and set the variable named instead | chainlink_secrets_extra sets Database.URL (use"
        " chainlink_database_url), which the roles decide themselves (there it would silently override them, or undo the"
        " container's isolation): remove it there and set the variable named instead | chainlink_env_extra sets CL_CONFIG",
    ),
    "allow_simple_passwords": ({"chainlink_secrets_extra": {"Database": {"AllowSimplePasswords": True}}}, "insecure configs are not allowed on secure builds"),
    "keystore_password_short": ({"chainlink_keystore_password": "short-keystore"}, "the keystore password does not meet the node's rules"),
    "api_password_contains_email": ({"chainlink_api_password": "pw-admin@nodeops.test-1"}, "it contains the API email"),
    "api_password_too_long": ({"chainlink_api_password": "p" * 51}, "it is longer than 50 characters"),
    "version_not_a_tag": ({"chainlink_version": "2.29"}, "chainlink_version '2.29' is not a Chainlink release tag"),
    # garbage that made a version comparison fail with a template error before the pair's own rule read it
    "version_latest": ({"chainlink_version": "latest"}, "chainlink_version 'latest' is not a Chainlink release tag: write MAJOR.MINOR.PATCH"),
    # a pre-release tag passes the version rule: only its (absent) image is refused
    "version_prerelease": ({"chainlink_version": "2.29.0-beta.1"}, "nodeops-lab/chainlink-sim:2.29.0-beta.1 is not present on Docker host docker-a"),
    "env_format_v2": ({"chainlink_config_format": "env"}, "reads only TOML"),
    # two pairs of one inventory on one Docker host with one container name (and so one config directory)
    "other_pair_collision": (
        {"primary": {"container_name": "nodeops-roles-version_latest-primary"}},
        "the primary's container name nodeops-roles-version_latest-primary on Docker host docker-a is also pair version_latest's (primary)",
    ),
    "no_keystore_password": ({"chainlink_keystore_password": ""}, "node_keystore_password is empty"),
    "image_missing": ({"chainlink_image": "nodeops-test/no-such-image"}, "is not present on Docker host docker-a"),
    "database_unreachable": ({"chainlink_database_url": "UNREACHABLE"}, "its database does not answer"),
    # not a preflight rule but the same promise: a database whose lease a node outside the pair keeps
    # refreshing is refused after one lease period, before anything starts
    "foreign_holder": ({"chainlink_database_url": "FOREIGN"}, "another node uses this database"),
    # likewise: the database already saw a newer version (the foreign node's 2.29.0), which 2.28.0 cannot boot on
    "older_than_database": ({"chainlink_database_url": "NEWER_DB", "chainlink_version": "2.28.0"}, "newer than 2.28.0"),
}


# case -> the secret its refusal must not contain
SECRETS = {
    "db_password_short": "weak-pw",
    "keystore_password_short": "short-keystore",
    "api_password_contains_email": "pw-admin@nodeops.test-1",
}


def bad_pair(case: str, urls: dict[str, str], index: int) -> dict[str, t.Any]:
    change = BAD_CASES[case][0]
    ports = (16650 + 2 * index, 16651 + 2 * index)
    result = pair_vars(case, urls["BASE"], ports)
    placeholders = {**urls, "SAME_NAME": result["chainlink_instances"]["primary"]["container_name"], "SAME_PORT": ports[0]}
    for role in ("primary", "secondary"):
        for key, value in change.get(role, {}).items():
            result["chainlink_instances"][role][key] = placeholders.get(value, value)
    if change.get("instances") == "primary_only":
        del result["chainlink_instances"]["secondary"]
    for key, value in change.items():
        if key.startswith("chainlink_"):
            result[key] = urls.get(value, value) if isinstance(value, str) else value
    return result


@pytest.fixture(scope="module")
def bad_run(pg_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[PlaybookRun, Path, str]]:
    require_images("2.29.0", "2.28.0", "1.11.0")
    work = tmp_path_factory.mktemp("bad-pairs")
    database = pg_server.create_database("roles_bad")
    foreign_db = pg_server.create_database("roles_foreign")
    suite = f"roles-bad-{database}"
    urls = {
        "BASE": pg_server.url(database, sslmode="disable"),
        "OTHER_DB": pg_server.url(f"{database}_other", sslmode="disable"),
        "UNREACHABLE": f"postgresql://postgres:{pg_server.password}@127.0.0.1:{free_port()}/nothing?sslmode=disable",
        "WEAK_DB": f"postgresql://postgres:weak-pw@127.0.0.1:{pg_server.port}/{database}?sslmode=disable",
        "NO_PASSWORD_DB": f"postgresql://postgres@127.0.0.1:{pg_server.port}/{database}?sslmode=disable",
        "FOREIGN": pg_server.url(foreign_db, sslmode="disable"),
    }
    newer_db = pg_server.create_database("roles_newer")
    urls["NEWER_DB"] = pg_server.url(newer_db, sslmode="disable")
    foreign = SimNode.start("2.29.0", urls["FOREIGN"])
    try:
        # a 2.29.0 node booted once on NEWER_DB (recording its version) and stopped, releasing its lease
        earlier = SimNode.start("2.29.0", urls["NEWER_DB"])
        try:
            earlier.wait_booted(20)
        finally:
            assert earlier.stop() == 0
        foreign.wait_booted(20)
        pairs = {case: bad_pair(case, urls, i) for i, case in enumerate(BAD_CASES)}
        run = run_playbook("deploy.yml", inventory(pairs, work / "config", suite), work)
        # the foreign node was not disturbed
        assert foreign.running
        assert f"held by app {foreign.app_id}" in run.failures().get("foreign_holder", "")
        yield run, work, suite
    finally:
        foreign.stop()
        remove_containers(f"{SUITE}={suite}")
        pg_server.drop_database(database)
        pg_server.drop_database(foreign_db)
        pg_server.drop_database(newer_db)


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_preflight_refuses_bad_input(bad_run: tuple[PlaybookRun, Path, str], case: str) -> None:
    run = bad_run[0]
    assert run.rc != 0
    message = run.failures().get(case, "")
    assert BAD_CASES[case][1] in message, message or run.stderr[-2000:]
    assert "Nothing was changed" in message or "nothing was changed" in message, message
    assert run.stats(case)["changed"] == 0
    if case in SECRETS:
        assert SECRETS[case] not in message and SECRETS[case] not in json.dumps(run.report)


def test_refused_pairs_changed_nothing(bad_run: tuple[PlaybookRun, Path, str]) -> None:
    """Every bad pair failed, none of them has a container, and no file was written for any."""
    run, work, suite = bad_run
    assert set(run.failures()) == set(BAD_CASES)
    assert containers(f"{SUITE}={suite}") == []
    assert not (work / "config").exists()


@pytest.fixture(scope="module")
def good_pair(pg_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[dict[str, t.Any], Path, str]]:
    """A valid pair on its own database, deployed; removed afterwards. Tests using it run in file order."""
    require_images("2.29.0")
    work = tmp_path_factory.mktemp("good-pair")
    database = pg_server.create_database("roles_good")
    suite = f"roles-good-{database}"
    toml_db = pg_server.create_database("roles_v1toml")
    name = f"good-{database[-6:]}"
    pairs = {name: pair_vars(name, pg_server.url(database, sslmode="disable"), (16690, 16691))}
    try:
        # deployed alongside, then taken out of the inventory: a late-1.x pair configured with TOML files
        pairs["v1toml"] = pair_vars("v1toml", pg_server.url(toml_db, sslmode="disable"), (16694, 16695))
        pairs["v1toml"].update(chainlink_version="1.11.0", chainlink_config_format="toml")
        run = run_playbook("deploy.yml", inventory(pairs, work / "config", suite), work)
        assert run.rc == 0, run.failures() or run.stderr[-2000:]
        del pairs["v1toml"]
        yield inventory(pairs, work / "config", suite), work, suite
    finally:
        remove_containers(f"{SUITE}={suite}")
        pg_server.drop_database(database)
        pg_server.drop_database(toml_db)


def test_late_1x_pair_runs_from_toml_files(good_pair: tuple[dict[str, t.Any], Path, str]) -> None:
    """1.11.0 with chainlink_config_format toml: global -c/-s flags, secrets in files, no DATABASE_URL in the env."""
    work, suite = good_pair[1:]
    by_name = {c["Name"].lstrip("/"): c for c in containers(f"{SUITE}={suite}")}
    primary = by_name["nodeops-roles-v1toml-primary"]
    assert primary["Config"]["Cmd"][:5] == ["-c", "/chainlink/config.toml", "-s", "/chainlink/secrets.toml", "local"]
    env_names = {item.split("=", 1)[0] for item in primary["Config"]["Env"]}
    assert not {"DATABASE_URL", "DATABASE_LOCKING_MODE", "CL_DATABASE_URL"} & env_names
    files = {p.name: p.stat().st_mode & 0o777 for p in (work / "config" / "nodeops-roles-v1toml-primary").iterdir()}
    assert files == {"config.toml": 0o640, "secrets.toml": 0o600, ".password": 0o600, ".api": 0o600}
    # the node's own debug log file is bounded (the node's default would be 5120mb in the container's writable layer)
    config = tomllib.loads((work / "config" / "nodeops-roles-v1toml-primary" / "config.toml").read_text())
    assert config["Log"]["File"] == {"MaxSize": "100mb"}
    assert all(by_name[f"nodeops-roles-v1toml-{role}"]["State"]["Running"] for role in ("primary", "secondary"))


def snapshot(pair: str, config_root: Path) -> dict[str, t.Any]:
    return {
        "containers": sorted((c["Name"], c["Id"], c["State"]["StartedAt"], c["State"]["Running"]) for c in containers(f"nodeops.chainlink.pair={pair}")),
        "files": sorted((str(p), p.stat().st_mtime_ns) for p in config_root.rglob("*") if p.is_file()),
    }


def test_running_pair_is_left_alone_when_its_inventory_changes(good_pair: tuple[dict[str, t.Any], Path, str]) -> None:
    inv, work = good_pair[:2]
    pair = next(iter(inv["all"]["children"]["chainlink_pairs"]["hosts"]))
    before = snapshot(pair, work / "config")
    assert len(before["containers"]) == 2 and all(c[3] for c in before["containers"])

    hostvars = inv["all"]["children"]["chainlink_pairs"]["hosts"][pair]
    require_images("2.28.0")
    hostvars.update(chainlink_lease_duration="4s", chainlink_version="2.28.0")
    run = run_playbook("deploy.yml", inv, work)
    message = run.failures().get(pair, "")
    assert run.rc != 0
    assert "is running and its inventory differs from it" in message, message
    assert "files config.toml" in message and "container settings" in message and "image" in message, message
    # what differs is named (the key, never its value), and so is the command that rolls it out
    assert "config.toml: Database.Lock.LeaseDuration" in message and "4s" not in message, message
    assert "playbooks/reconfigure.yml" in message and "use playbooks/upgrade.yml" in message and "Nothing was changed" in message, message
    assert snapshot(pair, work / "config") == before

    # back to the deployed inventory: accepted, and nothing changes
    del hostvars["chainlink_lease_duration"], hostvars["chainlink_version"]
    run = run_playbook("deploy.yml", inv, work)
    assert run.rc == 0 and run.stats(pair)["changed"] == 0, run.failures()
    assert snapshot(pair, work / "config") == before


STOP_ONE = """
- name: Stop one instance through the pair's instance entry point (as the handover does)
  hosts: chainlink_pairs
  gather_facts: false
  tasks:
    - name: Stop it gracefully
      ansible.builtin.include_role:
        name: nodeops.chainlink.pair
        tasks_from: instance
      vars:
        pair_instance_role: "{{ role }}"
        pair_node_action: stop
"""


def status(inv: dict[str, t.Any], work: Path, pair: str) -> dict[str, t.Any]:
    run = run_playbook("status.yml", inv, work)
    assert run.rc == 0, run.failures()
    return t.cast("dict[str, t.Any]", run.fact(pair, "pair_status"))


def stop_instance(inv: dict[str, t.Any], work: Path, pair: str, role: str) -> dict[str, t.Any]:
    playbook = work / "stop-one.yml"
    playbook.write_text(STOP_ONE)
    run = run_playbook(str(playbook), inv, work, "-e", f"role={role}")
    assert run.rc == 0, run.failures()
    return t.cast("dict[str, t.Any]", run.fact(pair, "pair_results")[role]["stop"])


TLS_ERROR = "failed to run TLS server"


def docker_log(container: str) -> str:
    proc = subprocess.run(["docker", "logs", container], capture_output=True, text=True, check=True)
    return proc.stdout + proc.stderr


def test_defaults_run_no_tls_listener_and_cookies_that_work_over_plain_http(good_pair: tuple[dict[str, t.Any], Path, str]) -> None:
    """The collection's defaults: WebServer.TLS.HTTPSPort = 0 (the node's own 6689 without a certificate logs a TLS
    error every StartTimeout) and SecureCookies = false (else no login over an SSH tunnel), in both instances."""
    inv, work = good_pair[:2]
    pair = next(iter(inv["all"]["children"]["chainlink_pairs"]["hosts"]))
    for role in ("primary", "secondary"):
        container = f"nodeops-roles-{pair}-{role}"
        config = tomllib.loads((work / "config" / container / "config.toml").read_text())
        assert config["WebServer"]["TLS"] == {"HTTPSPort": 0}
        assert config["WebServer"]["SecureCookies"] is False
        assert TLS_ERROR not in docker_log(container)
    # the v1.11 TOML pair of the same run gets the same keys
    v1 = tomllib.loads((work / "config" / "nodeops-roles-v1toml-primary" / "config.toml").read_text())
    assert (v1["WebServer"]["TLS"], v1["WebServer"]["SecureCookies"]) == ({"HTTPSPort": 0}, False)


# handover input the node would refuse or could not honour -> texts the refusal must contain; nothing may change
HANDOVER_REFUSALS: dict[str, tuple[str, tuple[str, ...]]] = {
    "stop_timeout_kills_before_the_release": (
        "handover_stop_timeout=12",
        (
            "handover_stop_timeout 12s is below ShutdownGracePeriod 2s + Database.DefaultQueryTimeout (default 10s) 10s + 5s margin",
            "set chainlink_stop_timeout to at least 17",
        ),
    ),
    # the handover used to read a bare number as seconds; the node refuses it, so the preflight does, naming the fix
    "lease_duration_without_a_unit": ("chainlink_lease_duration=10", ("chainlink_lease_duration '10' has no unit", "like 10s")),
    # the handover's preflight reads the pair's extras as the pair role does: none may switch the lock off
    "extras_switch_the_lock_off": (
        '{"chainlink_config_extra": {"Database": {"Lock": {"Enabled": false}}}}',
        ("chainlink_config_extra sets Database.Lock.Enabled (use chainlink_lock_enabled)",),
    ),
}


@pytest.mark.parametrize("case", HANDOVER_REFUSALS)
def test_handover_refuses_unsafe_input_unchanged(good_pair: tuple[dict[str, t.Any], Path, str], case: str) -> None:
    extra, expected = HANDOVER_REFUSALS[case]
    inv, work = good_pair[:2]
    pair = next(iter(inv["all"]["children"]["chainlink_pairs"]["hosts"]))
    before = snapshot(pair, work / "config")
    run = run_playbook("switchover.yml", inv, work, "-e", extra, "-e", f"handover_report_dir={work}/reports")
    message = json.dumps(run.report)
    assert run.rc != 0
    for text in expected:
        assert text in message, message[-2000:]
    assert snapshot(pair, work / "config") == before


def pair_query(inv: dict[str, t.Any], pair: str, sql: str, *args: t.Any) -> list[tuple[t.Any, ...]]:
    url = inv["all"]["children"]["chainlink_pairs"]["hosts"][pair]["chainlink_database_url"]
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall()
    conn.close()
    return rows


def truncate_log(container: str) -> None:
    """Cut a container's log as logrotate's copytruncate does: Docker keeps writing, the early lines are gone."""
    path = subprocess.run(["docker", "inspect", "-f", "{{.LogPath}}", container], capture_output=True, text=True, check=True).stdout.strip()
    Path(path).write_bytes(b"")


def test_rotated_logs_fall_back_to_the_database(good_pair: tuple[dict[str, t.Any], Path, str]) -> None:
    """With neither instance's log holding its boot or waiting line, status.yml and the handover's detection still
    tell the active instance and the standby, from the lease holder, the sessions and which HTTP port answers."""
    inv, work = good_pair[:2]
    pair = next(iter(inv["all"]["children"]["chainlink_pairs"]["hosts"]))
    for role in ("primary", "secondary"):
        truncate_log(f"nodeops-roles-{pair}-{role}")
        log = docker_log(f"nodeops-roles-{pair}-{role}")
        assert "Chainlink booted" not in log and "waiting for lease" not in log

    report = status(inv, work, pair)
    assert (report["active"], report["standby"], report["standby_connected"], report["flags"]) == ("primary", "secondary", True, [])
    primary, secondary = report["instances"]["primary"], report["instances"]["secondary"]
    assert primary["app_id_source"].startswith("database: lock holder") and primary["holds_lease"]
    # a waiting standby logs its line again at tryCount 1, 2, 4, 8, ... (as the real node does), so its log may hold a
    # fresh one; if not, the database names it (the one connected instance that is not the holder). Either way the
    # source must be the right one: a line the log gave is still there (lines are only added after the cut).
    if secondary["app_id_source"] == "log":
        assert "waiting for lease" in docker_log(f"nodeops-roles-{pair}-secondary")
    else:
        assert secondary["app_id_source"].startswith("database: the one connected instance"), secondary
    assert secondary["role"] == "standby" and secondary["connected"] and primary["app_id"] != secondary["app_id"]
    waiting = pair_query(inv, pair, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s", f"%|{secondary['app_id'][:8]}%")
    assert waiting[0][0] >= 1

    # the handover's detection (check mode: the plan only) sees the same, and plans a real switchover
    for role in ("primary", "secondary"):
        truncate_log(f"nodeops-roles-{pair}-{role}")
    run = run_playbook("switchover.yml", inv, work, "--check", "-e", f"handover_report_dir={work}/reports")
    assert run.rc == 0, run.failures()
    state = run.fact(pair, "__handover_state")
    assert (state["instances"]["primary"]["state"], state["instances"]["secondary"]["state"]) == ("active", "waiting")
    assert state["instances"]["primary"]["app_id"] == primary["app_id"]
    assert state["instances"]["secondary"]["app_id"] == secondary["app_id"]
    assert "from the database: lock holder" in json.dumps(run.report)


def test_status_flags_and_graceful_stops(good_pair: tuple[dict[str, t.Any], Path, str]) -> None:
    """status.yml on a healthy pair, then after each instance is stopped through the instance entry point."""
    inv, work = good_pair[:2]
    pair = next(iter(inv["all"]["children"]["chainlink_pairs"]["hosts"]))
    healthy = status(inv, work, pair)
    assert (healthy["active"], healthy["standby"], healthy["standby_connected"], healthy["flags"]) == ("primary", "secondary", True, [])
    assert healthy["active_version"] == "2.29.0" and healthy["db_version"] == "2.29.0" and healthy["lease_state"] == "held"
    assert 0 < healthy["lease_remaining"] <= 3

    # a waiting standby stopped by SIGTERM exits 1 ("stopped" while waiting), well within the stop timeout
    stopped = stop_instance(inv, work, pair, "secondary")
    assert (stopped["was_running"], stopped["exit_code"], stopped["graceful"], stopped["killed"]) == (True, 1, True, False)
    assert status(inv, work, pair)["flags"] == ["standby_missing"]

    # the active node releases its lease on SIGTERM and exits 0
    stopped = stop_instance(inv, work, pair, "primary")
    assert (stopped["exit_code"], stopped["graceful"]) == (0, True)
    after = status(inv, work, pair)
    assert after["active"] is None and set(after["flags"]) == {"no_holder", "standby_missing"}
    assert after["lease_state"] == "expired"
