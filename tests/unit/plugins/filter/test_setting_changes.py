# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""setting_changes: what differs between a running instance and the inventory, by name and never by value."""

from __future__ import annotations

import base64

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.filter.setting_changes import setting_changes

CONFIG = """# Chainlink 2.29.0 configuration
ShutdownGracePeriod = "5s"

[Log]
Level = "info"

[[EVM]]
ChainID = "1"

[[EVM.Nodes]]
Name = "primary"
WSURL = "wss://user:rpc-secret-key@rpc.example/ws"
"""
SECRETS = '[Database]\nURL = "postgresql://u:db-Passw0rd-secret@127.0.0.1:5432/cl"\n\n[Password]\nKeystore = "keystore-Passw0rd-1"\n'


def test_names_the_toml_keys_that_changed_were_added_or_removed() -> None:
    desired = CONFIG.replace('Level = "info"', 'Level = "debug"\nJSONConsole = true').replace('ShutdownGracePeriod = "5s"\n', "")
    assert setting_changes({"config.toml": CONFIG}, {"config.toml": desired}) == [
        "config.toml: Log.JSONConsole",
        "config.toml: Log.Level",
        "config.toml: ShutdownGracePeriod",
    ]


def test_arrays_of_tables_are_compared_element_by_element_and_values_never_appear() -> None:
    desired_config = CONFIG.replace("rpc-secret-key", "rpc-other-key")
    desired_secrets = SECRETS.replace("db-Passw0rd-secret", "db-Passw0rd-rotated")
    changes = setting_changes({"config.toml": CONFIG, "secrets.toml": SECRETS}, {"config.toml": desired_config, "secrets.toml": desired_secrets})
    assert changes == ["config.toml: EVM[0].Nodes[0].WSURL", "secrets.toml: Database.URL"]
    assert not any(secret in " ".join(changes) for secret in ("rpc-other-key", "rpc-secret-key", "db-Passw0rd"))
    # one more node in the list: the list is named, not its elements
    more = CONFIG + '\n[[EVM.Nodes]]\nName = "backup"\nWSURL = "wss://b"\n'
    assert setting_changes({"config.toml": CONFIG}, {"config.toml": more}) == ["config.toml: EVM[0].Nodes"]


def test_a_comment_or_layout_change_is_named_as_such_and_a_type_change_is_a_change() -> None:
    assert setting_changes({"config.toml": CONFIG}, {"config.toml": "# managed\n" + CONFIG}) == ["config.toml: layout only"]
    assert setting_changes({"config.toml": "A = 1\n"}, {"config.toml": "A = 1.0\n"}) == ["config.toml: A"]
    assert setting_changes({"config.toml": CONFIG}, {"config.toml": CONFIG}) == []


def test_files_that_are_new_not_toml_or_broken_are_named_whole() -> None:
    desired = {"config.toml": CONFIG, ".api": "admin@example.com\nnew-Passw0rd-012345\n", "secrets.toml": SECRETS}
    current = {"secrets.toml": "not [toml"}
    assert setting_changes(current, desired) == [".api", "config.toml", "secrets.toml"]


def test_reads_slurp_results_as_the_current_texts() -> None:
    slurped = [{"item": "config.toml", "content": base64.b64encode(CONFIG.encode()).decode(), "encoding": "base64"}, {"item": "skipped", "skipped": True}]
    assert setting_changes(slurped, {"config.toml": CONFIG.replace('"info"', '"warn"')}) == ["config.toml: Log.Level"]


def test_environment_variables_the_role_sets_are_compared_by_name() -> None:
    running = ["PATH=/usr/bin", "LOG_LEVEL=info", "DATABASE_URL=postgresql://u:old-secret@h/db", "CHAINLINK_PORT=6688"]
    desired = {"LOG_LEVEL": "debug", "DATABASE_URL": "postgresql://u:new-secret@h/db", "CHAINLINK_PORT": 6688, "FEATURE_X": "true"}
    assert setting_changes({}, {}, running, desired) == ["env: DATABASE_URL", "env: FEATURE_X", "env: LOG_LEVEL"]
    # no environment given: none compared
    assert setting_changes({}, {}, None, desired) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("text", {}), "expects current files as a dict"),
        (({}, ["config.toml"]), "expects desired_files as a dict"),
        (({}, {}, "A=1", {}), "expects current_env as Docker's list"),
    ],
)
def test_bad_input_is_named(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        setting_changes(*args)
