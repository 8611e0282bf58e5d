# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Container options an operator expects (issue 13), through deploy.yml and upgrade.yml against the real Docker engine:
rotated logs, resource limits, no-new-privileges, no capabilities and a pass-through, set from the inventory, are on the
containers Docker runs (docker inspect) and stay there through an upgrade; the API listens on loopback unless the
inventory chooses every address, which the preflight warns about; and bad input (a ListenIP the node refuses or never
listens on, a log driver the proofs cannot read, an option the role sets itself, a garbage version) is refused by the
preflight with its own message before anything changes.

Own ranges: containers copts-*, HTTP ports 17800-17819 and 17822-17823, PostgreSQL on 17820, nothing on 17824.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
import typing as t
from pathlib import Path

import pytest

from tests.integration.roles.test_pair_preflight import SIM_IMAGE, containers, inventory, remove_containers, require_images, snapshot
from tests.support.playbook import PlaybookRun, run_playbook
from tests.support.postgres import PostgresServer, start_postgres

PG_PORT = 17820
LABEL = "nodeops.copts"
PAIR = "copts-a"
PAIR_PORTS = (17800, 17801)
WARNING_TASK = "Warn where the node's API listens on every address (an explicit choice; the default is loopback)"

# What the inventory sets (pair-wide chainlink_* variables) and what Docker must then run
OPTIONS = {
    "chainlink_memory": "256m",
    "chainlink_cpus": 0.5,
    "chainlink_pids_limit": 512,
    "chainlink_container_options": {"shm_size": "16m", "ulimits": ["nofile:4096:8192"]},
}
EXPECTED_HOST_CONFIG = {
    # defaults: json-file rotated at 50 MB x 5, no-new-privileges, every capability dropped
    "LogConfig": {"Type": "json-file", "Config": {"max-size": "50m", "max-file": "5"}},
    "SecurityOpt": ["no-new-privileges"],
    "CapDrop": ["ALL"],
    # from the inventory
    "Memory": 256 * 1024 * 1024,
    "NanoCpus": 500_000_000,
    "PidsLimit": 512,
    "ShmSize": 16 * 1024 * 1024,
    "Ulimits": [{"Name": "nofile", "Hard": 8192, "Soft": 4096}],
}


def pair_vars(name: str, database_url: str, ports: tuple[int, int], **extra: t.Any) -> dict[str, t.Any]:
    return {
        "chainlink_database_url": database_url,
        "chainlink_instances": {
            role: {"docker_host": "docker-a", "container_name": f"copts-{name}-{role}", "http_port": port}
            for role, port in zip(("primary", "secondary"), ports, strict=True)
        },
        **extra,
    }


def copts_inventory(pairs: dict[str, dict[str, t.Any]], work: Path, suite: str) -> dict[str, t.Any]:
    """The roles tests' lab-shaped inventory with this module's label, and without a listen address: the default holds."""
    inv = inventory(pairs, work / "config", suite)
    fleet = inv["all"]["children"]["chainlink_pairs"]["vars"]
    del fleet["chainlink_listen_ip"]
    fleet["chainlink_container_labels"] = {"nodeops.test": "true", LABEL: suite}
    return inv


def host_config(container: str) -> dict[str, t.Any]:
    out = subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True).stdout
    return t.cast("dict[str, t.Any]", json.loads(out)[0])


def listeners(port: int) -> list[str]:
    """The local addresses a TCP socket listens on at ``port`` (ss: host networking, so the node's own sockets)."""
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True).stdout
    return sorted({line.split()[3].rsplit(":", 1)[0] for line in out.splitlines() if line.split()[3].endswith(f":{port}")})


def task_messages(run: PlaybookRun, task: str) -> dict[str, str]:
    """Host -> msg of every run of the task named ``task`` (a role's task is reported as ``<role> : <name>``)."""
    return {
        host: str(result.get("msg", ""))
        for play in run.report.get("plays", [])
        for entry in play.get("tasks", [])
        if entry["task"]["name"].split(" : ", 1)[-1] == task
        for host, result in entry.get("hosts", {}).items()
        if not result.get("skipped")
    }


def failure_text(run: PlaybookRun, host: str) -> str:
    """Every failure message of ``host`` (a loop's per-item messages too), for asserting what the operator reads."""
    texts = []
    for play in run.report.get("plays", []):
        for entry in play.get("tasks", []):
            result = entry.get("hosts", {}).get(host, {})
            if result.get("failed"):
                texts.append(str(result.get("msg", "")))
                texts += [str(item.get("msg", "")) for item in result.get("results", []) if item.get("failed")]
    return " | ".join(texts)


@pytest.fixture(scope="module")
def copts_pg() -> t.Iterator[PostgresServer]:
    server = start_postgres("nodeops-copts-pg", port=PG_PORT)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def deployed(copts_pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[dict[str, t.Any], Path]]:
    """Pair copts-a on 2.28.0 with OPTIONS, deployed; removed afterwards. Tests using it run in file order."""
    require_images("2.28.0", "2.29.0")
    work = tmp_path_factory.mktemp("copts")
    database = copts_pg.create_database("copts")
    suite = f"copts-{database}"
    inv = copts_inventory({PAIR: pair_vars("a", copts_pg.url(database, sslmode="disable"), PAIR_PORTS, chainlink_version="2.28.0", **OPTIONS)}, work, suite)
    try:
        run = run_playbook("deploy.yml", inv, work)
        assert run.rc == 0, run.failures() or run.stderr[-2000:]
        # the default listen address: no warning
        assert task_messages(run, WARNING_TASK) == {}
        yield inv, work
    finally:
        remove_containers(f"{LABEL}={suite}")
        copts_pg.drop_database(database)


def assert_options(version: str) -> None:
    for role in ("primary", "secondary"):
        info = host_config(f"copts-a-{role}")
        assert info["Config"]["Labels"]["nodeops.chainlink.version"] == version and info["State"]["Running"]
        assert {key: info["HostConfig"][key] for key in EXPECTED_HOST_CONFIG} == EXPECTED_HOST_CONFIG
        assert not info["HostConfig"]["CapAdd"] and not info["HostConfig"]["Privileged"]


def test_options_land_on_the_containers(deployed: tuple[dict[str, t.Any], Path]) -> None:
    assert_options("2.28.0")


def test_api_listens_on_loopback_by_default(deployed: tuple[dict[str, t.Any], Path]) -> None:
    work = deployed[1]
    config = tomllib.loads((work / "config" / "copts-a-primary" / "config.toml").read_text())
    assert config["WebServer"]["ListenIP"] == "127.0.0.1"
    # the active instance serves on loopback only (the waiting standby serves nothing)
    assert listeners(PAIR_PORTS[0]) == ["127.0.0.1"]
    assert listeners(PAIR_PORTS[1]) == []


def test_a_second_deploy_changes_nothing(deployed: tuple[dict[str, t.Any], Path]) -> None:
    inv, work = deployed
    before = snapshot(PAIR, work / "config")
    run = run_playbook("deploy.yml", inv, work)
    assert run.rc == 0 and run.stats(PAIR)["changed"] == 0, run.failures()
    assert snapshot(PAIR, work / "config") == before


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("latest", "chainlink_version 'latest' is not a Chainlink release tag: write MAJOR.MINOR.PATCH as the image is tagged"),
        ("v2.29.0", "chainlink_version 'v2.29.0' is not a Chainlink release tag"),
        ("", "chainlink_version '' is not a Chainlink release tag"),
    ],
)
def test_upgrade_refuses_a_garbage_version(deployed: tuple[dict[str, t.Any], Path], version: str, expected: str) -> None:
    inv, work = deployed
    before = snapshot(PAIR, work / "config")
    run = run_playbook("upgrade.yml", inv, work, "-e", f"chainlink_version={version}", "-e", f"handover_report_dir={work}/reports")
    assert run.rc != 0
    text = failure_text(run, PAIR)
    assert expected in text and "no 'v', no 'latest'" in text, text or run.stderr[-2000:]
    assert "template error" not in text.lower() and "version comparison failed" not in text.lower(), text
    assert snapshot(PAIR, work / "config") == before


@pytest.mark.parametrize("version", ["latest", "v2.29.0"])
def test_status_names_a_garbage_version(deployed: tuple[dict[str, t.Any], Path], version: str) -> None:
    inv, work = deployed
    run = run_playbook("status.yml", inv, work, "-e", f"chainlink_version={version}")
    assert run.rc != 0
    text = failure_text(run, PAIR)
    assert f"chainlink_version '{version}' is not a Chainlink release tag" in text, text or run.stderr[-2000:]
    assert "template error" not in text.lower() and "version comparison failed" not in text.lower(), text


# a whole upgrade (about 40 s on an idle machine); the limit leaves room for a loaded one
@pytest.mark.timeout(900)
def test_upgrade_keeps_the_options(deployed: tuple[dict[str, t.Any], Path]) -> None:
    inv, work = deployed
    run = run_playbook("upgrade.yml", inv, work, "-e", "chainlink_version=2.29.0", "-e", f"handover_report_dir={work}/reports")
    assert run.rc == 0, run.failures() or run.stderr[-2000:]
    assert_options("2.29.0")
    assert listeners(PAIR_PORTS[0]) == ["127.0.0.1"]


# pair -> (its inventory changes, text its refusal must contain); each pair fails on its own in one deploy.yml run
BAD_CASES: dict[str, tuple[dict[str, t.Any], str]] = {
    "listen_not_an_ip": ({"chainlink_listen_ip": "localhost"}, "(chainlink_listen_ip) 'localhost' is not an IP address: the node refuses to boot"),
    "listen_ipv6": ({"chainlink_listen_ip": "::1"}, "'::1' is an IPv6 address: the node writes '<ip>:<port>' without brackets and never listens"),
    "listen_empty": ({"chainlink_listen_ip": ""}, "node_listen_ip (chainlink_listen_ip) is empty: the node decodes it to no address"),
    # the role writes ListenIP itself: the extras may not say otherwise (refused whatever its value, naming the variable)
    "listen_extra": (
        {"chainlink_config_extra": {"WebServer": {"ListenIP": "my-host"}}},
        "chainlink_config_extra sets WebServer.ListenIP (use chainlink_listen_ip)",
    ),
    "log_driver_none": ({"chainlink_log_driver": "none"}, "node_log_driver is none: the container would keep no log"),
    "log_cache_disabled": (
        {"chainlink_log_driver": "syslog", "chainlink_log_options": {"cache-disabled": "true"}},
        "node_log_driver syslog with cache-disabled: the Docker API reads this driver only through its dual logging cache",
    ),
    "option_the_role_sets": (
        {"chainlink_container_options": {"memory": "1g", "shm_size": "8m", "cap_drop": []}},
        "chainlink_container_options sets cap_drop (use chainlink_cap_drop), memory (use chainlink_memory), which the roles decide themselves",
    ),
    # options the role does not set but which would undo the container's isolation, and a mounted Docker socket
    "option_privileged_root": (
        {"chainlink_container_options": {"privileged": True, "user": "root", "volumes": ["/var/run/docker.sock:/var/run/docker.sock"]}},
        "chainlink_container_options sets privileged (use chainlink_cap_add (one capability, if one is needed)), user (not settable:"
        " the image's non-root user, which owns the node's files), which the roles decide themselves (there it would silently"
        " override them, or undo the container's isolation): remove it there and set the variable named instead |"
        " chainlink_container_options mounts volume /var/run/docker.sock:/var/run/docker.sock (a Docker socket gives the container",
    ),
    "memory_not_a_size": ({"chainlink_memory": "a lot"}, "node_memory 'a lot' is not a Docker memory size"),
}


@pytest.fixture(scope="module")
def bad_run(copts_pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[PlaybookRun, str]]:
    require_images("2.29.0")
    work = tmp_path_factory.mktemp("copts-bad")
    database = copts_pg.create_database("copts_bad")
    suite = f"copts-bad-{database}"
    url = copts_pg.url(database, sslmode="disable")
    # two HTTP ports per pair from 17802 (the last pair 17818-17819)
    pairs = {case: pair_vars(case.replace("_", "-"), url, (17802 + 2 * i, 17803 + 2 * i), **BAD_CASES[case][0]) for i, case in enumerate(BAD_CASES)}
    assert 17803 + 2 * (len(BAD_CASES) - 1) < 17820, "the bad cases outgrew their ports (17802-17819)"
    # every address, chosen explicitly: warned about, and then refused only for its database (nothing answers on 17824)
    pairs["listen_everywhere"] = pair_vars(
        "everywhere", "postgresql://postgres:copts-Database-Passw0rd@127.0.0.1:17824/none?sslmode=disable", (17822, 17823), chainlink_listen_ip="0.0.0.0"
    )
    try:
        run = run_playbook("deploy.yml", copts_inventory(pairs, work, suite), work)
        yield run, suite
    finally:
        remove_containers(f"{LABEL}={suite}")
        copts_pg.drop_database(database)


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_preflight_refuses_container_input(bad_run: tuple[PlaybookRun, str], case: str) -> None:
    run = bad_run[0]
    message = run.failures().get(case, "")
    assert BAD_CASES[case][1] in message, message or run.stderr[-2000:]
    assert "nothing was changed" in message.lower(), message
    assert run.stats(case)["changed"] == 0
    # a refused pair is not warned about: it never gets that far, and a valid one gets no warning either
    assert case not in task_messages(run, WARNING_TASK)


def test_listening_everywhere_is_warned_about(bad_run: tuple[PlaybookRun, str]) -> None:
    run, suite = bad_run
    warnings = task_messages(run, WARNING_TASK)
    assert list(warnings) == ["listen_everywhere"], run.failures().get("listen_everywhere")
    assert "node_listen_ip (chainlink_listen_ip) is '0.0.0.0': the node's API listens on every address of its Docker host" in warnings["listen_everywhere"]
    # a warning, not a refusal: the pair went on and stopped only at its database
    assert "its database does not answer" in run.failures()["listen_everywhere"]
    assert containers(f"{LABEL}={suite}") == []


NODE_PREFLIGHT = """
- name: The node role's own preflight, for a node deployed on its own
  hosts: docker-a
  gather_facts: false
  tasks:
    - name: Preflight one node
      ansible.builtin.include_role:
        name: nodeops.chainlink.node
        tasks_from: preflight
      vars:
        node_pair_name: copts-single
        node_image: "{{ image | default('nodeops-lab/chainlink-sim') }}"
        node_version: "{{ bad_version }}"
        node_http_port: 17819
        node_database_url: postgresql://chainlink:copts-Database-Passw0rd@127.0.0.1:17820/none
        node_keystore_password: copts-keystore-password
        node_api_email: admin@nodeops.test
        node_api_password: copts-api-password-0
        node_preflight_database: false
"""


@pytest.mark.parametrize("version", ["latest", "v2.29.0", ""])
def test_node_preflight_names_a_garbage_version(tmp_path: Path, version: str) -> None:
    """The node role on its own (no pair model in front of it) names the version and the fix, not a template error."""
    playbook = tmp_path / "node-preflight.yml"
    playbook.write_text(NODE_PREFLIGHT)
    run = run_playbook(str(playbook), copts_inventory({}, tmp_path, "copts-single"), tmp_path, "-e", json.dumps({"bad_version": version}))
    message = run.failures().get("docker-a", "")
    assert run.rc != 0
    assert f"node_version '{version}' is not a Chainlink 1.x or 2.x image tag" in message, message or run.stderr[-2000:]
    assert "set chainlink_version (or node_version) to a release such as 2.29.0" in message


def test_node_preflight_refuses_dropped_capabilities_for_a_root_image(tmp_path: Path) -> None:
    """A -root image variant could not read its 0600 files (owned by uid 14933) without DAC_OVERRIDE."""
    require_images("2.29.0")
    root_image = "copts-root/chainlink-sim"
    build = subprocess.run(
        ["docker", "build", "--network", "host", "-t", f"{root_image}:2.29.0", "-"],
        input=f"FROM {SIM_IMAGE}:2.29.0\nUSER root\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    playbook = tmp_path / "node-preflight.yml"
    playbook.write_text(NODE_PREFLIGHT)
    inv = copts_inventory({}, tmp_path, "copts-single")
    try:
        run = run_playbook(str(playbook), inv, tmp_path, "-e", json.dumps({"bad_version": "2.29.0", "image": root_image}))
        message = run.failures().get("docker-a", "")
        assert f"image {root_image}:2.29.0 runs as root, and node_cap_drop drops DAC_OVERRIDE" in message, message or run.stderr[-2000:]
        # with the capabilities kept, the same image passes this rule
        run = run_playbook(str(playbook), inv, tmp_path, "-e", json.dumps({"bad_version": "2.29.0", "image": root_image, "chainlink_cap_drop": []}))
        assert run.rc == 0, run.failures() or run.stderr[-2000:]
    finally:
        subprocess.run(["docker", "rmi", f"{root_image}:2.29.0"], capture_output=True, check=False)
