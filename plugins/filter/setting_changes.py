# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: setting_changes
short_description: The names of the settings that differ between what an instance runs and what the inventory renders
version_added: 0.1.0
description:
  - Compares an instance's files (the TOML C(config.toml) and C(secrets.toml) key by key, other files as a whole) and
    its container environment (variable by variable) with what the node role would write now.
  - Returns names only (C(config.toml - Log.Level), C(secrets.toml - Database.URL), C(env - LOG_LEVEL)), never a
    value, so the result may be printed even where the files hold secrets.
  - The file comparison is the one M(nodeops.chainlink.node_files) returns as RV(nodeops.chainlink.node_files#module:settings)
    for the files it writes; the node role's plan takes the files from there and the environment from this filter.
positional: desired_files, current_env, desired_env
options:
  _input:
    description:
      - The current text of each file that differs, as a dict (its name to its text) or as the C(results) of
        M(ansible.builtin.slurp) in a loop over the names (base64 contents). A file without a current text counts as new.
    type: raw
    required: true
  desired_files:
    description: The text of each of those files as the node role renders it now.
    type: dict
    required: true
  current_env:
    description: The container's environment as Docker reports it (C(Config.Env), a list of C(NAME=value)); omit to compare no environment.
    type: list
    elements: str
  desired_env:
    description: The environment the node role sets (name to value).
    type: dict
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Say which settings of an instance differ from the inventory (names only)
  ansible.builtin.debug:
    msg: "{{ {'config.toml': current_config_text} | nodeops.chainlink.setting_changes({'config.toml': desired_config_text}) }}"
"""

RETURN = r"""
_value:
  description:
    - One C(<file> - <dotted key>) per TOML key added, removed or changed (C(<file> - layout only) when only comments or
      layout differ, C(<file>) for a file that is not TOML or does not parse), and C(env - <NAME>) per variable the role
      sets that the container lacks or holds with another value. Sorted; empty when nothing differs.
  type: list
  elements: str
"""

import base64
import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.module_utils._settings import env_changes, files_changes


def _texts(current: t.Any) -> t.Mapping[str, t.Any]:
    """File name to text, from a dict or from slurp's loop results (``item`` the name, ``content`` base64)."""
    if isinstance(current, t.Sequence) and not isinstance(current, str | bytes):
        return {
            str(r["item"]): base64.b64decode(r["content"]).decode("utf-8", "replace")
            for r in current
            if isinstance(r, t.Mapping) and "item" in r and "content" in r
        }
    return t.cast(t.Mapping[str, t.Any], current)


def setting_changes(current_files: t.Any, desired_files: t.Any, current_env: t.Any = None, desired_env: t.Any = None) -> list[str]:
    """The names of what differs between the instance as it runs and as the role would deploy it now."""
    current_files = _texts(current_files)
    for label, value in (("current files", current_files), ("desired_files", desired_files), ("desired_env", desired_env or {})):
        if not isinstance(value, t.Mapping):
            raise AnsibleFilterError(f"setting_changes expects {label} as a dict (file or variable name to text), got {type(value).__name__}")
    if current_env is not None and (isinstance(current_env, str | bytes) or not isinstance(current_env, t.Iterable)):
        raise AnsibleFilterError(f"setting_changes expects current_env as Docker's list of NAME=value, got {type(current_env).__name__}")
    changes = files_changes(
        {str(name): str(text) for name, text in current_files.items() if text is not None}, {str(name): str(text) for name, text in desired_files.items()}
    )
    if current_env is not None:
        changes.extend(env_changes((str(e) for e in current_env), desired_env or {}))
    return changes


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"setting_changes": setting_changes}
