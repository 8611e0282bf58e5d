# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: handover_rescue
short_description: How a failed takeover restores a safe state, from the pair observed again
version_added: 0.1.0
description:
  - After a takeover failed (the old active instance stopped, the standby did not prove it took over), decides from the
    pair observed again (each instance's app ID from its current run) and the lock read right before any stop whether
    to stop the standby, start the old instance again and prove it took the lock back.
  - Never stops the holder of the lock; when nothing could be read, starts the old instance without stopping anything
    (both instances obey the lock).
positional: from, to, from_version, recheck
options:
  _input:
    description: The pair state as the handover role's detection gives it, or V(null) when it could not be read.
    type: dict
    required: true
  from:
    description: The instance the takeover stopped.
    type: str
    required: true
  to:
    description: The standby that did not prove it took over.
    type: str
    required: true
  from_version:
    description: The version O(from) runs (it can take the lock back only when the database allows that version).
    type: str
    required: true
  recheck:
    description: M(nodeops.chainlink.lock_info)'s result read right before any stop; V(null) or a failed read stops nothing.
    type: dict
  schema_before:
    description:
      - The database's C(schema_version) (M(nodeops.chainlink.lock_info)) when the plan was made. When the pair observed
        again shows a higher one, the new version migrated part-way before it failed, and the old one is not started
        again (case V(schema_moved)).
    type: int
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Decide how to restore the pair
  ansible.builtin.set_fact:
    rescue: "{{ pair_state | nodeops.chainlink.handover_rescue('primary', 'secondary', '2.28.0', lock_now) }}"
"""

RETURN = r"""
_value:
  description:
    - C(case) (one of unknown, to_holds, to_may_hold, from_holds, from_returns, db_newer, schema_moved, two_holders),
      C(stop_to), C(start_from), C(prove_from).
  type: dict
"""

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.module_utils._handover import rescue


def handover_rescue(state: t.Any, frm: str, to: str, from_version: t.Any, recheck: t.Any = None, schema_before: t.Any = None) -> dict[str, t.Any]:
    """plugins/module_utils/_handover.py rescue(); state None: the pair could not be read."""
    if state is not None and not isinstance(state, dict):
        raise AnsibleFilterError(f"handover_rescue expects the pair state as a dict or null, got {type(state).__name__}")
    version = None if from_version is None else str(from_version)
    return rescue(state, frm, to, version, recheck if isinstance(recheck, dict) else None, schema_before=schema_before)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"handover_rescue": handover_rescue}
