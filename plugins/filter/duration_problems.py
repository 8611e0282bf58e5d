# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: duration_problems
short_description: Which of a Chainlink node's duration settings the node would refuse, each naming the fix
version_added: 0.1.0
description:
  - Checks every value of a mapping of variable name to duration with the rules of
    P(nodeops.chainlink.duration_seconds#filter) (Go's C(time.ParseDuration), no bare number but V(0), not negative) and
    returns one message per refused value, naming the variable and the fix. An empty list means all pass.
  - For a preflight that reports every problem at once instead of failing on the first.
options:
  _input:
    description: "Variable name (as the message names it) to its value, such as C({'chainlink_lease_duration': '10s'})."
    type: dict
    required: true
seealso:
  - plugin: nodeops.chainlink.duration_seconds
    plugin_type: filter
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Refuse lease settings the node would refuse
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join(' | ') }}"
  vars:
    __problems: >-
      {{ {'chainlink_lease_duration': chainlink_lease_duration,
          'chainlink_lease_refresh_interval': chainlink_lease_refresh_interval} | nodeops.chainlink.duration_problems }}
  # {'chainlink_lease_duration': 10} -> ["chainlink_lease_duration '10' has no unit (...): write it with a unit, like 10s"]
"""

RETURN = r"""
_value:
  description: One sentence per refused value (the variable, its value and the fix), in the input's order.
  type: list
  elements: str
"""

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.module_utils._node_rules import duration_problems as _duration_problems


def duration_problems(durations: t.Any) -> list[str]:
    """plugins/module_utils/_node_rules.py's duration_problems over a mapping of variable name to duration."""
    if not isinstance(durations, t.Mapping):
        raise AnsibleFilterError(f"duration_problems expects a dict of variable name to duration, got {type(durations).__name__}")
    return _duration_problems(durations)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"duration_problems": duration_problems}
