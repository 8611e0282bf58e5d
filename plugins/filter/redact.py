# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: redact
short_description: Mask the inventory's secrets, and any URL or password= password, in a string or a structure
version_added: 0.1.0
description:
  - Returns the input with every secret replaced by C(********) in every string (dict keys included) - a module result
    before it is kept (a 1.x node's container, whose environment holds C(DATABASE_URL)), a failure message that quotes
    raw log lines, the handover report before it is printed and written.
  - The secrets are every string of O(secrets) and, of O(config), the URLs and the values of keys naming a secret (as the
    filter P(nodeops.chainlink.secret_values#filter) finds them), each in every form it may be printed in (a URL's
    password raw and percent-decoded, a C(password=) parameter).
  - Whatever the secrets given, a password in a URL's userinfo (C(scheme://user:PASSWORD@)) and a C(password=) value
    are masked too.
options:
  _input:
    description: What to mask (a string, or dicts and lists of them); other values pass unchanged.
    type: raw
    required: true
  secrets:
    description: Secrets, every string of which is masked (passwords, the database URL, chainlink_secrets_extra).
    type: raw
  config:
    description: Settings whose URLs and secret-named values are masked (chainlink_config_extra, environment variables).
    type: raw
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Fail with the module's message, without the database password
  ansible.builtin.fail:
    msg: "{{ __result.msg | nodeops.chainlink.redact([chainlink_database_url, chainlink_keystore_password]) }}"
  when: __result is failed

- name: Keep a container result without its environment's secrets
  ansible.builtin.set_fact:
    __container: "{{ __container | nodeops.chainlink.redact([node_database_url], config=node_env_extra) }}"
"""

RETURN = r"""
_value:
  description: The input with every secret masked; the same structure.
  type: raw
"""

import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._redact import redact as _redact
from ansible_collections.nodeops.chainlink.plugins.module_utils._redact import secret_values


def redact(data: t.Any, secrets: t.Any = None, config: t.Any = None) -> t.Any:
    """plugins/module_utils/_redact.py's redaction with the secrets found in secrets and config."""
    return _redact(data, secret_values(secrets, config))


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"redact": redact}
