# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""monitor_targets: what the exporter reads per pair, from the inventory through pair_model."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.filter.monitor_targets import monitor_targets

URL = "postgresql://chainlink:secret-Passw0rd-16@db:5432/pair_one"
MONITOR_URL = "postgresql://pair_monitor:monitor-Passw0rd-16@db:5432/pair_one"


def hosts() -> dict[str, dict[str, object]]:
    instances = {
        "primary": {"docker_host": "docker-a", "http_port": 6688},
        "secondary": {"docker_host": "docker-b", "http_port": 6698, "http_host": "192.0.2.2", "container_name": "two"},
    }
    return {
        "docker-a": {},
        "docker-b": {},
        "pair-one": {"chainlink_instances": instances, "chainlink_database_url": URL, "chainlink_advisory_lock_id": 42},
        "pair-two": {"chainlink_instances": instances, "chainlink_database_url": URL, "chainlink_monitor_database_url": MONITOR_URL},
        "broken": {"chainlink_instances": {"primary": {"docker_host": "docker-a", "http_port": 1}}},
    }


def test_pairs_with_their_login_keys_and_instances() -> None:
    result = monitor_targets(["pair-one", "pair-two"], hosts())
    assert result["problems"] == []
    one, two = result["pairs"]
    assert one == {
        "pair": "pair-one",
        "database_url": URL,
        "lease_table": "lease_lock",
        "advisory_lock_id": 42,
        "instances": {
            "primary": {"host": "127.0.0.1", "port": 6688, "container": "pair-one-primary"},
            "secondary": {"host": "192.0.2.2", "port": 6698, "container": "two"},
        },
    }
    # the monitor's own read-only login wins over the nodes' URL; the node's default advisory key
    assert two["database_url"] == MONITOR_URL and two["advisory_lock_id"] == 1027321974924625846


def test_problems_name_the_pair_and_the_fix() -> None:
    problems = monitor_targets(["broken"], hosts())["problems"]
    assert any(p.startswith("broken: chainlink_instances must define exactly two instances") for p in problems)
    assert any(p.startswith("broken: the pair has no database URL") for p in problems)
    assert monitor_targets([], hosts())["problems"] == [
        "no pair to monitor: run playbooks/monitor.yml on the pair hosts (group chainlink_pairs, or -e target_hosts=<pair>)"
    ]
    with pytest.raises(AnsibleFilterError, match="list of the inventory's pair hosts"):
        monitor_targets("pair-one", hosts())
