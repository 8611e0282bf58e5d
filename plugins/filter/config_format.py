# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: config_format
short_description: How a Chainlink instance of a version is configured, TOML files or 1.x environment variables
version_added: 0.1.0
description:
  - V(toml) for 2.x (always) and for 1.x when asked; V(env) for 1.x otherwise, its settings in environment variables.
  - The one rule the node role (which writes the files) and the handover (which reads where a setting lives) share.
positional: requested
options:
  _input:
    description: The Chainlink version, such as V(2.29.0) or V(1.10.0).
    type: str
    required: true
  requested:
    description: C(chainlink_config_format), V(auto) (by the version), V(toml) or V(env).
    type: str
    default: auto
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Say how the instance is configured
  ansible.builtin.debug:
    msg: "{{ '1.10.0' | nodeops.chainlink.config_format('auto') }}"  # env
"""

RETURN = r"""
_value:
  description: V(toml) or V(env).
  type: str
"""

import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._node_rules import config_format


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"config_format": config_format}
