# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: monitor_targets
short_description: The pairs the exporter of nodeops.chainlink.monitor reads - database login, lock keys and instances
version_added: 0.1.0
description:
  - For each pair host, the pair as C(pair_model) computes it - its database URL, lease table and advisory lock key,
    and the address of each instance's HTTP port (only the lock holder answers there, which names the instances) -
    and every problem that keeps the exporter from reading the pair, each naming the fix.
  - A pair's C(chainlink_monitor_database_url), when set, is used instead of its C(chainlink_database_url), so the
    exporter logs in with a read-only role of its own (docs/monitoring.md gives the SQL).
positional: hosts
options:
  _input:
    description: The inventory hosts of the pairs to monitor (each with C(chainlink_instances)).
    type: list
    elements: str
    required: true
  hosts:
    description: The inventory's hosts and their variables (C(hostvars)).
    type: raw
    required: true
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: List what the exporter would read (the result holds database URLs - secrets)
  ansible.builtin.debug:
    msg: "{{ (groups['chainlink_pairs'] | nodeops.chainlink.monitor_targets(hostvars)).pairs | map(attribute='pair') }}"
"""

RETURN = r"""
_value:
  description:
    - C(pairs) - per pair C(pair), C(database_url) (a secret), C(lease_table), C(advisory_lock_id) and C(instances)
      (C(primary) and C(secondary), each C(host), C(port), C(container)); C(problems) - sentences naming the pair and
      the fix, empty when every pair can be read.
  type: dict
"""

import typing as t
from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.module_utils._pair import ROLES
from ansible_collections.nodeops.chainlink.plugins.module_utils._pair import pair_model as _pair_model


def monitor_targets(pairs: t.Any, hosts: t.Any) -> dict[str, t.Any]:
    """The exporter's pairs and the problems that keep it from reading them."""
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, t.Iterable):
        raise AnsibleFilterError(f"monitor_targets expects a list of the inventory's pair hosts, got {type(pairs).__name__}")
    if not isinstance(hosts, t.Mapping):
        raise AnsibleFilterError(f"monitor_targets expects hostvars as its argument, got {type(hosts).__name__}")
    out: list[dict[str, t.Any]] = []
    problems: list[str] = []
    for pair in pairs:
        host_vars = hosts.get(pair, {})
        defaults = {
            "database_url": host_vars.get("chainlink_monitor_database_url") or host_vars.get("chainlink_database_url") or "",
            "advisory_lock_id": host_vars.get("chainlink_advisory_lock_id"),
            "lease_table": host_vars.get("chainlink_lease_table") or "lease_lock",
        }
        model = _pair_model(host_vars.get("chainlink_instances"), str(pair), defaults, hosts)
        problems.extend(f"{pair}: {problem}" for problem in model["problems"])
        instances = {}
        for role in ROLES:
            inst = model["instances"][role]
            readyz = urlsplit(inst["readyz"]) if inst["readyz"] else None
            instances[role] = {"host": readyz.hostname if readyz else None, "port": inst["http_port"], "container": inst["container_name"]}
        out.append(
            {
                "pair": str(pair),
                "database_url": model["database"]["login_url"],
                "lease_table": model["database"]["lease_table"],
                "advisory_lock_id": model["database"]["advisory_lock_id"],
                "instances": instances,
            }
        )
    if not out:
        problems.append("no pair to monitor: run playbooks/monitor.yml on the pair hosts (group chainlink_pairs, or -e target_hosts=<pair>)")
    return {"pairs": out, "problems": problems}


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"monitor_targets": monitor_targets}
