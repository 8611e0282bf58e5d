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
    C(Database.BackupURL) in the C(secrets_extra) key of O(_input).
  - C(Database.AllowSimplePasswords) in the C(secrets_extra) key of O(_input) is refused, because release builds refuse it.
  - The keystore password follows the same rule; the API password also has at most 50 characters and does not contain
    the API email.
  - A TOML-configured node refuses every legacy (1.x) environment variable the real 2.x refuses, present even empty.
  - A TOML-configured node's environment may not carry a secret the node would read there (C(CL_DATABASE_URL),
    C(CL_PASSWORD_KEYSTORE) and the other C(CL_*) secrets), where C(docker inspect) would show it; the secrets file holds them.
  - The Docker stop timeout must be at least C(ShutdownGracePeriod) + C(Database.DefaultQueryTimeout) + 5 s.
  - From 2.3.0 (TOML), C(WebServer.ListenIP) (C(listen_ip), or C(WebServer.ListenIP) in C(config_extra)) must be an IPv4
    address - the node refuses a value that is not an IP at boot, and never listens on an empty one or an IPv6 one (it
    writes C(<ip>:<port>) without brackets). The same for C(WebServer.TLS.ListenIP) when TLS is on.
  - The extras (C(config_extra), C(secrets_extra), C(env_extra), C(container_options)) may not set what the node role
    sets itself (the lock and lease, the database URL, the HTTP port, listen address, TLS port, the container's network,
    user and privileges, a mounted Docker socket); each such key is named with the node_* variable to use instead.
options:
  _input:
    description:
      - The instance's settings, with keys C(config_format) (V(toml) or V(env)), C(database_url), C(keystore_password),
        C(api_email), C(api_password), C(secrets_extra), C(config_extra), C(env_extra), C(shutdown_grace_period),
        C(stop_timeout) and C(stop_timeout_name) (the variable named in the message), C(version), C(listen_ip),
        C(https_port) and C(container_options).
    type: dict
    required: true
  warnings:
    description:
      - Return instead what works but exposes the node, which the preflight warns about and deploys anyway (the
        operator's choice) - the API listening on every address of its Docker host. That is when C(WebServer.ListenIP)
        (or C(WebServer.TLS.ListenIP) with TLS on) is V(0.0.0.0), when the version has no C(ListenIP) (before 2.3.0, or
        1.x environment configuration) with host networking, or when bridge networking publishes the port on V(0.0.0.0).
      - For this, O(_input) also takes C(http_port), C(network_mode) and C(published_address).
    type: bool
    default: false
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

- name: Warn when the node's API would listen on every address of its Docker host
  ansible.builtin.debug:
    msg: "{{ __warnings | join(' | ') }}"
  when: __warnings | length > 0
  vars:
    __warnings: >-
      {{ {'version': '2.29.0', 'config_format': 'toml', 'listen_ip': node_listen_ip, 'http_port': 6688}
         | nodeops.chainlink.node_problems(warnings=true) }}
"""

RETURN = r"""
_value:
  description:
    - One sentence per broken rule (the rule and the fix); empty when every rule holds.
    - With O(warnings), one sentence per exposure (what, and the safer choice).
  type: list
  elements: str
"""

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.module_utils._node_rules import listen_warnings
from ansible_collections.nodeops.chainlink.plugins.module_utils._node_rules import node_problems as _node_problems


def node_problems(settings: t.Any, warnings: bool = False) -> list[str]:
    """The problems (or with warnings, the exposures) plugins/module_utils/_node_rules.py finds in one instance's settings."""
    if not isinstance(settings, t.Mapping):
        raise AnsibleFilterError(f"node_problems expects the instance's settings as a dict, got {type(settings).__name__}")
    return listen_warnings(settings) if warnings else _node_problems(settings)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"node_problems": node_problems}
