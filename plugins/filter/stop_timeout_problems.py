# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: stop_timeout_problems
short_description: Whether a Docker stop timeout lets a Chainlink node release its lease on the way out
version_added: 0.1.0
description:
  - After C(ShutdownGracePeriod) the real node still releases its lease, bounded by C(Database.DefaultQueryTimeout)
    (10 s unless set), before it exits. A stop timeout below their sum plus a 5 s margin lets Docker SIGKILL the node
    before the release, and the standby then waits for the lease to expire.
  - Returns the problem (naming the rule and the smallest timeout that passes), or an empty list.
positional: name, grace_period, config_format, config_extra, env_extra
options:
  _input:
    description: The stop timeout in seconds.
    type: raw
    required: true
  name:
    description: The variable named in the message.
    type: str
    default: chainlink_stop_timeout
  grace_period:
    description: C(ShutdownGracePeriod), a Go duration.
    type: str
    default: 5s
  config_format:
    description: V(toml) reads C(Database.DefaultQueryTimeout) from O(config_extra), V(env) reads C(DATABASE_DEFAULT_QUERY_TIMEOUT) from O(env_extra).
    type: str
    default: toml
  config_extra:
    description: The TOML settings merged into the node's configuration (C(chainlink_config_extra)).
    type: dict
  env_extra:
    description: Extra environment variables of the node (C(chainlink_env_extra)).
    type: dict
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Refuse a stop timeout that kills the node before it releases its lease
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join(' | ') }}"
  vars:
    __problems: >-
      {{ handover_stop_timeout | nodeops.chainlink.stop_timeout_problems('handover_stop_timeout', '5s', 'toml',
         chainlink_config_extra | default({})) }}
"""

RETURN = r"""
_value:
  description: The problem in one sentence, or an empty list when the timeout is long enough.
  type: list
  elements: str
"""

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.module_utils._node_rules import DEFAULT_SHUTDOWN_GRACE_PERIOD
from ansible_collections.nodeops.chainlink.plugins.module_utils._node_rules import stop_timeout_problems as _stop_timeout_problems


def stop_timeout_problems(
    stop_timeout: t.Any,
    name: str = "chainlink_stop_timeout",
    grace_period: t.Any = DEFAULT_SHUTDOWN_GRACE_PERIOD,
    config_format: str = "toml",
    config_extra: t.Any = None,
    env_extra: t.Any = None,
) -> list[str]:
    """The problem plugins/module_utils/_node_rules.py finds with a stop timeout, if any."""
    for label, value in (("config_extra", config_extra), ("env_extra", env_extra)):
        if value is not None and not isinstance(value, t.Mapping):
            raise AnsibleFilterError(f"stop_timeout_problems expects {label} as a dict, got {type(value).__name__}")
    return _stop_timeout_problems(stop_timeout, name, grace_period, config_format, config_extra, env_extra)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"stop_timeout_problems": stop_timeout_problems}
