# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: handover_start_rescue
short_description: Whether a standby that failed its start step is stopped, read from the lock after the failure
version_added: 0.1.0
description:
  - Reads M(nodeops.chainlink.lock_info)'s result after a start step failed.
  - V(two_holders) when the lease and the advisory lock are held by two different sessions, one of them this instance
    (a node that knows only one lock booted beside the active one), two active nodes; this instance, which started
    last, is stopped.
  - V(other_holds) when the other instance, as last seen, holds the lock; this one is not needed and is stopped.
  - V(other_gone) or V(unknown) (no read) leave it running, as it may be the only one serving.
positional: instance_app_id, other_app_id
options:
  _input:
    description: M(nodeops.chainlink.lock_info)'s result (a failed read gives V(unknown)).
    type: dict
    required: true
  instance_app_id:
    description: The app ID the failed instance was last seen with (empty when it never logged one).
    type: str
    required: true
  other_app_id:
    description: The app ID of the other instance as last seen (the active one before the step).
    type: str
    required: true
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Decide whether to stop the instance
  ansible.builtin.set_fact:
    decision: "{{ lock_now | nodeops.chainlink.handover_start_rescue(new_app_id, active_app_id) }}"
"""

RETURN = r"""
_value:
  description: C(case) (two_holders, other_holds, other_gone, unknown), C(stop) (bool) and, for two_holders, C(holders).
  type: dict
"""

import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._handover import start_rescue


def handover_start_rescue(lock: t.Any, instance_app_id: t.Any, other_app_id: t.Any) -> dict[str, t.Any]:
    """plugins/module_utils/_handover.py start_rescue()."""
    return start_rescue(lock if isinstance(lock, dict) else None, instance_app_id, other_app_id)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"handover_start_rescue": handover_start_rescue}
