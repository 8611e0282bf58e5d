# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: secret_values
short_description: The strings of settings that must never be shown
version_added: 0.1.0
description:
  - Every string of O(_input) (all secret), and of O(config) the URLs (an RPC URL often carries an API key in its path
    or query) and the values of keys naming a secret (password, secret, token, key, credential, auth), each in every
    form it may be printed in (a URL's password raw and percent-decoded, a C(password=) parameter), longest first.
  - The node role passes those of chainlink_config_extra to M(nodeops.chainlink.node_files), which masks them in the
    C(--diff) of C(config.toml).
options:
  _input:
    description: Secrets, every string of which counts (passwords, URLs, chainlink_secrets_extra).
    type: raw
    required: true
  config:
    description: Settings of which only URLs and secret-named values count (chainlink_config_extra, environment variables).
    type: raw
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: The values of chainlink_config_extra a diff must not show
  ansible.builtin.set_fact:
    __hidden: "{{ [] | nodeops.chainlink.secret_values(config=chainlink_config_extra) }}"
"""

RETURN = r"""
_value:
  description: The strings to mask, longest first, without repeats.
  type: list
  elements: str
"""

import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._redact import secret_values


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"secret_values": secret_values}
