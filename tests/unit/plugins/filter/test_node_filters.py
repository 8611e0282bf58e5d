# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filters over _node_rules and _identify: registered under their names, and bad input named by its type."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.filter import identify_instances, instance_states, node_problems, stop_timeout_problems
from ansible_collections.nodeops.chainlink.plugins.module_utils._node_rules import config_format


def test_filters_are_registered_under_their_names() -> None:
    assert set(node_problems.FilterModule().filters()) == {"node_problems"}
    assert set(stop_timeout_problems.FilterModule().filters()) == {"stop_timeout_problems"}
    assert set(identify_instances.FilterModule().filters()) == {"identify_instances"}


def test_node_problems_passes_good_settings_and_names_bad_input() -> None:
    assert node_problems.node_problems({"config_format": "toml", "stop_timeout": 20}) == []
    with pytest.raises(AnsibleFilterError, match="got list"):
        node_problems.node_problems([])


def test_stop_timeout_problems_with_positional_options() -> None:
    assert stop_timeout_problems.stop_timeout_problems(20) == []
    (problem,) = stop_timeout_problems.stop_timeout_problems(12, "handover_stop_timeout", "2s", "toml", {"Database": {"DefaultQueryTimeout": "6s"}})
    assert problem.startswith("handover_stop_timeout 12s is below ShutdownGracePeriod 2s + Database.DefaultQueryTimeout 6s + 5s margin")
    with pytest.raises(AnsibleFilterError, match="config_extra as a dict, got str"):
        stop_timeout_problems.stop_timeout_problems(20, "x", "5s", "toml", "Database")


def test_identify_instances_names_bad_input() -> None:
    with pytest.raises(AnsibleFilterError, match="got str"):
        identify_instances.identify_instances("primary", {})
    with pytest.raises(AnsibleFilterError, match="lock_info's result"):
        identify_instances.identify_instances({"primary": {"running": False}}, None)
    assert identify_instances.identify_instances({"primary": {"running": False}}, {})["primary"]["app_id"] is None


def test_instance_states_names_bad_input() -> None:
    assert set(instance_states.FilterModule().filters()) == {"instance_states"}
    with pytest.raises(AnsibleFilterError, match="dict of instance name"):
        instance_states.instance_states(["primary"], {})
    with pytest.raises(AnsibleFilterError, match="lock_info's result"):
        instance_states.instance_states({"primary": {"container": {}}}, None)
    assert instance_states.instance_states({"primary": {"container": None}}, {})["primary"]["state"] == "absent"


@pytest.mark.parametrize(
    ("version", "requested", "expected"),
    [
        ("2.29.0", "auto", "toml"),
        ("v2.0.0", "auto", "toml"),
        ("11.0.0", "auto", "toml"),
        ("1.13.0", "auto", "env"),
        ("1.13.0", "toml", "toml"),
        ("2.29.0", "env", "env"),
        ("latest", "auto", "env"),
        (None, "auto", "env"),
    ],
)
def test_config_format_is_decided_by_the_version_unless_asked(version: str | None, requested: str, expected: str) -> None:
    assert config_format(version, requested) == expected


def test_node_problems_warns_where_the_api_listens_on_every_address() -> None:
    settings = {"version": "2.29.0", "config_format": "toml", "listen_ip": "0.0.0.0", "http_port": 6688, "stop_timeout": 20}
    # a choice the node accepts: no problem, one warning
    assert node_problems.node_problems(settings) == []
    assert "listens on every address" in node_problems.node_problems(settings, warnings=True)[0]
    assert node_problems.node_problems({**settings, "listen_ip": "127.0.0.1"}, warnings=True) == []
