# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: node_problems
short_description: What a real Chainlink node would refuse at boot in one instance's settings
version_added: 0.1.0
description:
  - Checks the rules the real node applies before it takes the lock, and returns one problem per broken rule, each naming
    the rule and the fix and never a secret's value. An empty list means the settings pass.
  - The database URL needs a password (its C(password=) parameter first, else the userinfo) of at least 16 characters
    without leading or trailing whitespace; a URL containing C(_test) is exempt, as in the node. The same for
    C(Database.BackupURL) in O(_input.secrets_extra).
  - C(Database.AllowSimplePasswords) in O(_input.secrets_extra) is refused, because release builds refuse it.
  - The keystore password follows the same rule; the API password also has at most 50 characters and does not contain
    the API email.
  - A TOML-configured node refuses every legacy (1.x) environment variable the real 2.x refuses, present even empty.
  - A TOML-configured node's environment may not carry a secret the node would read there (C(CL_DATABASE_URL),
    C(CL_PASSWORD_KEYSTORE) and the other C(CL_*) secrets), where C(docker inspect) would show it; the secrets file holds them.
  - The Docker stop timeout must be at least C(ShutdownGracePeriod) + C(Database.DefaultQueryTimeout) + 5 s.
options:
  _input:
    description:
      - The instance's settings, with keys C(config_format) (V(toml) or V(env)), C(database_url), C(keystore_password),
        C(api_email), C(api_password), C(secrets_extra), C(config_extra), C(env_extra), C(shutdown_grace_period),
        C(stop_timeout) and C(stop_timeout_name) (the variable named in the message).
    type: dict
    required: true
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Refuse settings the node would refuse
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join(' | ') }}"
  vars:
    __problems: >-
      {{ {'config_format': 'toml', 'database_url': node_database_url, 'keystore_password': node_keystore_password,
          'api_email': node_api_email, 'api_password': node_api_password, 'stop_timeout': node_stop_timeout}
         | nodeops.chainlink.node_problems }}
"""

RETURN = r"""
_value:
  description: One sentence per broken rule (the rule and the fix); empty when every rule holds.
  type: list
  elements: str
"""

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.module_utils._node_rules import node_problems as _node_problems


def node_problems(settings: t.Any) -> list[str]:
    """The problems plugins/module_utils/_node_rules.py finds in one instance's settings."""
    if not isinstance(settings, t.Mapping):
        raise AnsibleFilterError(f"node_problems expects the instance's settings as a dict, got {type(settings).__name__}")
    return _node_problems(settings)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"node_problems": node_problems}
