# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pair model: every derived value of an instance from the inventory, and every problem with its fix."""

from __future__ import annotations

import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.filter.pair_model import pair_model
from ansible_collections.nodeops.chainlink.plugins.module_utils._node_rules import managed_problems, node_problems

URL = "postgresql://cl:db-Passw0rd-0123456@127.0.0.1:5432/pair_one?sslmode=disable"
HOSTS: dict[str, t.Any] = {
    "docker-a": {"chainlink_config_root": "/srv/a"},
    "docker-b": {"chainlink_docker_url": "ssh://ops@b", "chainlink_config_root": "/srv/b"},
    "docker-c": {},
}


def model(instances: t.Any, **kwargs: t.Any) -> dict[str, t.Any]:
    return pair_model(
        instances, "pair-one", kwargs.pop("image", "smartcontract/chainlink"), kwargs.pop("version", "2.29.0"), URL, kwargs.pop("hosts", HOSTS), **kwargs
    )


GOOD = {"primary": {"docker_host": "docker-a", "http_port": 6688}, "secondary": {"docker_host": "docker-b", "http_port": "6688"}}


def test_every_derived_value_of_both_instances() -> None:
    pair = model(GOOD)
    assert pair["problems"] == []
    assert pair["instances"]["primary"] == {
        "pair": "pair-one",
        "role": "primary",
        "container_name": "pair-one-primary",
        "docker_host": "docker-a",
        "docker_url": "",
        "http_port": 6688,
        "readyz": "http://127.0.0.1:6688/readyz",
        "config_dir": "/srv/a/pair-one-primary",
        "image": "smartcontract/chainlink",
        "version": "2.29.0",
        "database_url": URL,
        "database_check_host": "pair-one",
    }
    secondary = pair["instances"]["secondary"]
    assert secondary["docker_url"] == "ssh://ops@b" and secondary["config_dir"] == "/srv/b/pair-one-secondary" and secondary["http_port"] == 6688


def test_instance_values_win_over_the_pair_defaults() -> None:
    instances = {
        "primary": {"docker_host": "docker-c", "http_port": 7000, "container_name": "cl-a", "http_host": "127.0.0.3"},
        "secondary": {"docker_host": "docker-c", "http_port": 7010},
    }
    pair = model(instances, http_host="127.0.0.2")
    primary, secondary = pair["instances"]["primary"], pair["instances"]["secondary"]
    assert primary["container_name"] == "cl-a" and primary["readyz"] == "http://127.0.0.3:7000/readyz"
    assert primary["config_dir"] == "/srv/chainlink/cl-a"
    assert secondary["readyz"] == "http://127.0.0.2:7010/readyz"
    assert pair["problems"] == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"secondary": {"docker_host": "docker-b", "http_port": 6698, "database_url": URL.replace("pair_one", "other")}}, "must share ONE database"),
        ({"secondary": {"docker_host": "docker-a", "http_port": 6698, "container_name": "pair-one-primary"}}, "give them distinct container_name values"),
        ({"secondary": {"docker_host": "docker-a", "http_port": 6688}}, "give the secondary another http_port (e.g. 6698; not 6689"),
        ({"secondary": {"docker_host": "docker-b", "http_port": 6688, "version": "2.28.0"}}, "a pair runs one image and version"),
        ({"secondary": {"docker_host": "docker-z", "http_port": 6688}}, "docker_host docker-z is not in the inventory"),
        ({"secondary": {"http_port": 6688}}, "each instance needs docker_host"),
        ({"secondary": {"docker_host": "docker-b", "http_port": "http"}}, "each instance needs http_port"),
        ({"secondary": {"docker_host": "docker-b", "http_port": 70000}}, "each instance needs http_port"),
    ],
)
def test_each_problem_names_the_fix(change: dict[str, t.Any], expected: str) -> None:
    found = model({**GOOD, **change})["problems"]
    assert len(found) == 1 and expected in found[0], found


def test_a_wrong_instance_list_is_named_and_both_instances_still_come_back() -> None:
    pair = model({"primary": GOOD["primary"]})
    assert pair["problems"][0] == "chainlink_instances must define exactly two instances, primary and secondary (found: primary)"
    assert sorted(pair["instances"]) == ["primary", "secondary"]
    assert "found: str" in model("primary_only")["problems"][0]
    assert pair_model(GOOD, "pair-one", "img", "2.29.0", "", HOSTS)["problems"] == [
        "the pair has no database URL: set chainlink_database_url for pair-one (an ansible-vault value works)"
    ]


def test_no_secret_in_any_problem() -> None:
    other = URL.replace("pair_one", "other")
    found = model({**GOOD, "secondary": {"docker_host": "docker-b", "http_port": 6688, "database_url": other}})["problems"]
    assert "db-Passw0rd" not in " ".join(found) and "127.0.0.1:5432/pair_one" in found[0]


def test_bad_arguments_are_named() -> None:
    with pytest.raises(AnsibleFilterError, match="the pair's name"):
        pair_model(GOOD, "")
    with pytest.raises(AnsibleFilterError, match="hostvars"):
        pair_model(GOOD, "p", hosts=["docker-a"])


@pytest.mark.parametrize("version", ["latest", "v2.29.0", "", "2.29", "2.29.0 "])
def test_a_version_that_is_no_release_tag_is_named_before_anything_compares_it(version: str) -> None:
    pair = model(GOOD, version=version)
    found = pair["problems"]
    assert len(found) == 1 and found[0].startswith(f"chainlink_version {version!r} is not a Chainlink release tag"), found
    assert pair["version_problem"] == found[0], "status.yml refuses with the same sentence"


@pytest.mark.parametrize("version", ["2.29.0", "2.29.0-beta.1", "1.11.0"])
def test_a_release_tag_has_no_version_problem(version: str) -> None:
    assert model(GOOD, version=version)["version_problem"] is None


@pytest.mark.parametrize("version", ["1.0.1", "1.0.0-rc.1", "0.10.3"])
def test_a_release_older_than_the_lease_is_refused_naming_the_oldest(version: str) -> None:
    pair = model(GOOD, version=version)
    assert pair["problems"] == [pair["version_problem"]]
    assert pair["version_problem"].startswith(f"chainlink_version {version} is older than 1.1.0, the first release with the database lease")


@pytest.mark.parametrize("version", ["1.1.0", "1.1.0-rc.1", "1.10.0"])
def test_the_oldest_release_and_later_are_accepted(version: str) -> None:
    assert model(GOOD, version=version)["version_problem"] is None


def test_no_version_given_checks_none() -> None:
    pair = pair_model(GOOD, "pair-one", "img", None, URL, HOSTS)
    assert pair["problems"] == [] and pair["instances"]["primary"]["version"] is None and pair["version_problem"] is None
    assert model(GOOD, version="2.29.0-beta.1")["problems"] == []


def test_the_database_settings_every_database_module_shares() -> None:
    assert model(GOOD)["database"] == {"login_url": URL, "lease_table": "lease_lock", "advisory_lock_id": 1027321974924625846}
    custom = model(GOOD, lease_table="cl.lease_lock", advisory_lock_id="42")
    assert custom["database"] == {"login_url": URL, "lease_table": "cl.lease_lock", "advisory_lock_id": 42} and custom["problems"] == []


def test_an_advisory_key_that_is_no_integer_is_named() -> None:
    bad = model(GOOD, advisory_lock_id="forty-two")
    assert bad["problems"] == ["chainlink_advisory_lock_id 'forty-two' is not an integer: set the 64-bit advisory lock key the pair's nodes use"]


def test_a_collision_with_another_pair_on_a_shared_docker_host_is_named() -> None:
    others = {
        # same Docker host, another port, but the container name of this pair's primary
        "pair-two": {
            "primary": {"docker_host": "docker-a", "http_port": 7001, "container_name": "pair-one-primary"},
            "secondary": {"docker_host": "docker-c", "http_port": 7002},
        },
        # same port as this pair's secondary on docker-b
        "pair-three": {"primary": {"docker_host": "docker-b", "http_port": 6688}, "secondary": {"docker_host": "docker-c", "http_port": 7003}},
        # the same ports on other Docker hosts: no collision
        "pair-four": {"primary": {"docker_host": "docker-c", "http_port": 6688}, "secondary": {"docker_host": "docker-c", "http_port": 6698}},
    }
    hosts = {**HOSTS, **{name: {"chainlink_instances": specs} for name, specs in others.items()}, "docker-only": {}}
    got = pair_model(GOOD, "pair-one", "img", "2.29.0", URL, hosts, fleet=[*others, "docker-only"])["problems"]
    assert got == [
        "the secondary's HTTP port 6688 on Docker host docker-b is also pair pair-three's (primary):"
        " give each pair its own (chainlink_instances: container_name, http_port)",
        "the primary's container name pair-one-primary on Docker host docker-a is also pair pair-two's (primary):"
        " give each pair its own (chainlink_instances: container_name, http_port)",
        "the primary's config directory /srv/a/pair-one-primary on Docker host docker-a is also pair pair-two's (primary):"
        " give each pair its own (chainlink_instances: container_name, http_port)",
    ]
    # a pair is never in conflict with itself
    assert pair_model(GOOD, "pair-one", "img", "2.29.0", URL, {**HOSTS, "pair-one": {"chainlink_instances": GOOD}}, fleet=["pair-one"])["problems"] == []
    with pytest.raises(AnsibleFilterError, match="fleet as a list"):
        pair_model(GOOD, "pair-one", fleet="pair-two")


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({}, "pair-one"),  # no inventory host given: the pair's name
        ({"host": "pair-host"}, "pair-host"),  # the pair's inventory host: the controller for a local pair host
        ({"host": "pair-host", "database_check_host": ""}, "pair-host"),  # empty is the default
        ({"host": "pair-host", "database_check_host": "docker-b"}, "docker-b"),  # a Docker host that reaches the database
    ],
)
def test_the_database_checks_run_on_the_named_host_or_the_pair_host(kwargs: dict[str, t.Any], where: str) -> None:
    pair = model(GOOD, **kwargs)
    assert pair["problems"] == []
    assert pair["database_check_host"] == where
    assert {i["database_check_host"] for i in pair["instances"].values()} == {where}


def test_a_database_check_host_outside_the_inventory_is_refused() -> None:
    problems = model(GOOD, host="pair-host", database_check_host="db-runner")["problems"]
    assert problems == [
        "chainlink_database_check_host db-runner is not in the inventory: name an inventory host that reaches the pair's database"
        " (one of its Docker hosts, say), or leave it empty to run the database checks from the controller"
    ]


# -- extras that would unsay what the roles set ---------------------------------------------------------------------

UNSAYING = [
    ({"config_extra": {"Database": {"Lock": {"Enabled": False}}}}, "chainlink_config_extra sets Database.Lock.Enabled (use chainlink_lock_enabled)"),
    ({"config_extra": {"Database": {"Lock": {"LeaseDuration": "1s"}}}}, "Database.Lock.LeaseDuration (use chainlink_lease_duration)"),
    ({"config_extra": {"WebServer": {"HTTPPort": 7000}}}, "WebServer.HTTPPort (use http_port in chainlink_instances)"),
    ({"config_extra": {"WebServer": {"ListenIP": "0.0.0.0"}}}, "WebServer.ListenIP (use chainlink_listen_ip)"),
    ({"config_extra": {"WebServer": {"TLS": {"HTTPSPort": 6689}}}}, "WebServer.TLS.HTTPSPort (use chainlink_https_port)"),
    # a table of the role's given as a plain value would replace the whole table when merged
    (
        {"config_extra": {"Database": {"Lock": "off"}}},
        "Database.Lock (use chainlink_lock_enabled / chainlink_lease_duration / chainlink_lease_refresh_interval)",
    ),
    ({"secrets_extra": {"Database": {"URL": "postgresql://other"}}}, "chainlink_secrets_extra sets Database.URL (use chainlink_database_url)"),
    ({"env_extra": {"CL_CONFIG": "[Database.Lock]\nEnabled = false"}}, "chainlink_env_extra sets CL_CONFIG (use chainlink_config_extra)"),
    ({"config_format": "env", "env_extra": {"DATABASE_LOCKING_MODE": "none"}}, "chainlink_env_extra sets DATABASE_LOCKING_MODE (use chainlink_locking_mode)"),
    ({"container_options": {"network_mode": "bridge"}}, "network_mode (use chainlink_network_mode)"),
    ({"container_options": {"networks": [{"name": "other"}]}}, "networks (use chainlink_network_mode)"),
    ({"container_options": {"user": "0"}}, "user (not settable: the image's non-root user"),
    ({"container_options": {"privileged": True}}, "privileged (use chainlink_cap_add"),
    ({"container_options": {"ports": ["0.0.0.0:6688:6688"]}}, "ports (use chainlink_published_address / http_port in chainlink_instances)"),
    (
        {"container_options": {"volumes": ["/var/run/docker.sock:/var/run/docker.sock"]}},
        "mounts volume /var/run/docker.sock:/var/run/docker.sock (a Docker socket",
    ),
    ({"container_options": {"volumes": ["/elsewhere:/chainlink:ro"]}}, "(the role mounts the config directory at /chainlink)"),
]


@pytest.mark.parametrize(("extras", "expected"), UNSAYING)
def test_extras_may_not_set_what_the_roles_set(extras: dict[str, t.Any], expected: str) -> None:
    [problem] = model(GOOD, extras=extras)["problems"]
    assert expected in problem
    volume = "volumes" in extras.get("container_options", {})
    assert problem.endswith(": remove it" if volume else "remove it there and set the variable named instead")


def test_extras_that_set_nothing_the_roles_set_pass() -> None:
    extras = {
        "config_extra": {"WebServer": {"RateLimit": {"Authenticated": 5}, "TLS": {"CertPath": "/certs/c.pem"}}, "Database": {"DefaultQueryTimeout": "30s"}},
        "secrets_extra": {"Database": {"BackupURL": "postgresql://backup"}, "Password": {"VRF": "x"}},
        "env_extra": {"SIM_BOOT_DELAY": "1s", "CHAINLINK_PORT": "7000"},  # a 2.x node's 1.x names are the node's own refusal
        "container_options": {"shm_size": "16m", "ulimits": ["nofile:4096:8192"], "volumes": ["/srv/certs:/certs:ro"]},
    }
    assert model(GOOD, extras=extras)["problems"] == []
    # the 1.x names are the role's only where the environment configures the node
    assert "CHAINLINK_PORT (use http_port in chainlink_instances)" in model(GOOD, version="1.10.0", extras=extras)["problems"][0]


def test_the_node_role_alone_names_its_own_variables() -> None:
    [problem] = managed_problems("toml", {"Database": {"Lock": {"Enabled": False}}}, prefix="node_")
    assert problem.startswith("node_config_extra sets Database.Lock.Enabled (use node_lock_enabled)")
    [problem] = managed_problems("toml", container_options={"log_opt": {}, "cap_drop": []}, prefix="node_")
    assert "cap_drop (use node_cap_drop), log_opt (use node_log_options)" in problem


def test_extras_must_be_a_dict() -> None:
    with pytest.raises(AnsibleFilterError, match="extras as a dict"):
        model(GOOD, extras=["Database"])


# -- names and paths, checked before any file is written ------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "../etc", "pair one", "/pair-one", "pair\nx", "-pair"])
def test_a_container_name_docker_refuses_is_a_problem(name: str) -> None:
    pair = model({"primary": {"docker_host": "docker-a", "http_port": 6688, "container_name": name}, "secondary": GOOD["secondary"]})
    [problem] = pair["problems"]
    assert problem.startswith(f"the primary's container_name '{name}' is not a Docker container name")


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("srv/chainlink", "is not an absolute path below '/'"),
        ("/", "is not an absolute path below '/'"),
        ("/srv/../etc", "is not a normalised path (no '.', '..', doubled or trailing '/'): write it as /etc"),
        ("/srv/chainlink/", "write it as /srv/chainlink"),
        ("//srv", "write it as /srv"),
    ],
)
def test_a_config_root_that_is_not_an_absolute_normalised_path_is_a_problem(root: str, expected: str) -> None:
    [problem] = model(GOOD, hosts={**HOSTS, "docker-a": {"chainlink_config_root": root}})["problems"]
    assert problem.startswith(f"chainlink_config_root of Docker host docker-a '{root}'")
    assert expected in problem


def test_the_node_role_alone_checks_its_name_and_directory() -> None:
    found = node_problems({"container_name": "x", "config_dir": "/srv/x/../y", "database_url": URL, "keystore_password": "k" * 16})
    assert [p for p in found if p.startswith(("node_container_name", "node_config_dir"))] == [
        "node_container_name 'x' is not a Docker container name: at least two characters, a letter or digit first, then letters, digits, '_', '.' or '-'",
        "node_config_dir '/srv/x/../y' is not a normalised path (no '.', '..', doubled or trailing '/'): write it as /srv/y",
    ]
