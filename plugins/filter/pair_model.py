# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: pair_model
short_description: One Chainlink pair from the inventory, computed once - its instances with every derived value, and its problems
version_added: 0.1.0
description:
  - From a pair's C(chainlink_instances) and its pair-wide defaults, returns the two instances (C(primary) and
    C(secondary), always both) with their container name, Docker host and Docker URL, HTTP port, readiness URL, config
    directory, image, version and database URL, and every problem that makes the pair unsafe to deploy or hand over,
    each naming the fix (never a secret).
  - The pair and handover roles both read the pair through this filter, so no value of an instance is derived twice.
positional: pair, image, version, database_url, hosts, http_host
options:
  _input:
    description:
      - The pair's instances (C(chainlink_instances)) - C(primary) and C(secondary), each with C(docker_host),
        C(http_port) and optionally C(container_name), C(image), C(version), C(database_url), C(http_host).
    type: raw
    required: true
  pair:
    description: The pair's name (its inventory host), the prefix of the default container names.
    type: str
    required: true
  image:
    description: The pair's image (C(chainlink_image)), unless an instance sets its own.
    type: str
  version:
    description:
      - The pair's version (C(chainlink_version)), unless an instance sets its own; it must be a release tag such as
        V(2.29.0). Null when the caller keeps the versions that run (a switchover), and then none is checked.
    type: str
  database_url:
    description: The pair's database URL (C(chainlink_database_url)), unless an instance sets its own.
    type: str
  hosts:
    description:
      - The inventory's hosts and their variables (C(hostvars)); a Docker host's C(chainlink_docker_url) and
        C(chainlink_config_root) are read from it.
    type: raw
  http_host:
    description: The address the instances' HTTP ports answer on, seen from the controller (an instance's C(http_host) wins).
    type: str
    default: 127.0.0.1
  lease_table:
    description: The table of the nodes' lease (C(lease_lock), also in 1.x).
    type: str
    default: lease_lock
  advisory_lock_id:
    description: The 1.x advisory lock key of the pair's nodes (C(chainlink_advisory_lock_id)); V(null) for the node's default.
    type: raw
  host:
    description:
      - The pair's inventory host (C(inventory_hostname)), where the database checks run unless O(database_check_host)
        names another host; the pair's name when omitted.
    type: str
  database_check_host:
    description:
      - The inventory host that runs the pair's database checks (C(lock_info), C(lock_observer) and the PostgreSQL
        administration), C(chainlink_database_check_host); empty for O(host), the controller when the pair host has
        C(ansible_connection=local). Name a Docker host when only the Docker hosts reach the database; its Python then
        needs psycopg2.
    type: str
  extras:
    description:
      - The pair's extras and how its instances are configured - C(config_format) (C(chainlink_config_format)),
        C(config_extra), C(secrets_extra), C(env_extra) and C(container_options) (the C(chainlink_*) variables). Where
        one sets what the roles set themselves (the lock and lease settings, the database URL, the HTTP port, listen
        address, TLS port, the container's network, user, privileges, a mounted Docker socket...), that is a problem
        naming the variable to use instead.
    type: dict
  fleet:
    description:
      - The inventory hosts of the other pairs (each with C(chainlink_instances) in O(hosts)); a container name, HTTP
        port or config directory this pair shares with one of them on a Docker host is a problem.
    type: list
    elements: str
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Show where the pair's instances run
  ansible.builtin.debug:
    msg: "{{ (chainlink_instances | nodeops.chainlink.pair_model(inventory_hostname, chainlink_image, chainlink_version,
              chainlink_database_url, hostvars)).instances }}"
"""

RETURN = r"""
_value:
  description:
    - C(name); C(instances) - C(primary) and C(secondary), each with C(pair), C(role), C(container_name), C(docker_host),
      C(docker_url), C(http_port) (null when missing or not a port), C(readyz), C(config_dir), C(image), C(version),
      C(database_url), C(database_check_host) (the node role's C(node_instance)); C(database_check_host), the inventory
      host the database checks run on; C(database) - C(login_url), C(lease_table), C(advisory_lock_id),
      what every module that reads the pair's database takes (the action group C(nodeops.chainlink.database), set with
      C(module_defaults)); C(problems) - a list of sentences, empty for a consistent pair; C(version_problem) - the
      one of them about a version that is no release tag, else null (C(status.yml) refuses only that).
  type: dict
"""

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.module_utils._pair import pair_model as _pair_model


def pair_model(
    instances: t.Any,
    pair: str,
    image: t.Any = "",
    version: t.Any = "",
    database_url: t.Any = "",
    hosts: t.Any = None,
    http_host: str = "127.0.0.1",
    lease_table: str = "lease_lock",
    advisory_lock_id: t.Any = None,
    fleet: t.Any = None,
    host: t.Any = None,
    database_check_host: t.Any = None,
    extras: t.Any = None,
) -> dict[str, t.Any]:
    """The pair of plugins/module_utils/_pair.py."""
    if not isinstance(pair, str) or not pair:
        raise AnsibleFilterError(f"pair_model needs the pair's name as its first argument, got {pair!r}")
    if hosts is not None and not isinstance(hosts, t.Mapping):
        raise AnsibleFilterError(f"pair_model expects hosts as the inventory's hostvars (a mapping), got {type(hosts).__name__}")
    defaults = {
        "image": image,
        "version": None if version is None else str(version),
        "database_url": database_url,
        "http_host": http_host,
        "lease_table": lease_table,
        "advisory_lock_id": advisory_lock_id,
        "host": host,
        "database_check_host": database_check_host,
        "extras": extras if isinstance(extras, t.Mapping) else {},
    }
    if extras is not None and not isinstance(extras, t.Mapping):
        raise AnsibleFilterError(
            f"pair_model expects extras as a dict (config_extra, secrets_extra, env_extra, container_options), got {type(extras).__name__}"
        )
    hosts = hosts if hosts is not None else {}
    if fleet is not None and (isinstance(fleet, (str, bytes)) or not isinstance(fleet, t.Iterable)):
        raise AnsibleFilterError(f"pair_model expects fleet as a list of the inventory's pair hosts, got {type(fleet).__name__}")
    # the other pairs' instances, as each pair host's chainlink_instances says (hosts without it are not pairs)
    others = {}
    for name in fleet or []:
        host_vars = hosts.get(name) if name in hosts else None
        if name != pair and isinstance(host_vars, t.Mapping) and "chainlink_instances" in host_vars:
            others[name] = host_vars["chainlink_instances"]
    return _pair_model(instances, pair, defaults, hosts, others)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"pair_model": pair_model}
