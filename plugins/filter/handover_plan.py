# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: handover_plan
short_description: The steps a pair's handover still needs, from the pair's observed state
version_added: 0.1.0
description:
  - Computes, from the state the handover role observed (which instance holds the lock, which waits, which versions
    run), the steps an upgrade or a switchover still needs. A pair that is already done gets no step, and a pair left
    half-way by an interrupted run gets only the remaining steps.
  - Refuses (an empty plan with the reason in C(error)) when no instance or two instances are active, when the target
    version is older than the database's recorded version, or when a new instance would ignore the lock the active one
    holds and no bridge exists.
positional: action
options:
  _input:
    description: The pair state, C({instances - {name - {state, version, container_name}}, db_version}).
    type: dict
    required: true
  action:
    description: V(upgrade) or V(switchover).
    type: str
    required: true
  version:
    description: Target version (upgrade).
    type: str
  direction:
    description: V(over) (to the non-preferred instance) or V(back) (to the preferred one), for a switchover.
    type: str
    default: over
  preferred:
    description: The instance that should hold the lock in normal operation.
    type: str
    default: primary
  hand_back:
    description: After an upgrade, hand the lock back to O(preferred).
    type: bool
    default: true
  restart_old:
    description: Bring each stopped instance back as the waiting standby.
    type: bool
    default: true
  locking_mode:
    description:
      - The inventory's 1.x locking mode (C(chainlink_locking_mode)); with it, the plan compares the locks the active
        instance holds (C(holder_locks) in the state) with those each new instance would take.
      - When they share none (a 1.x V(advisorylock) pair to 2.x or to V(lease)), the plan begins with the advisory-lock
        bridge (both instances restarted in V(dual) on the running version, through a proven handover), or is refused
        with the safe way named where no bridge exists. Omitted, no such comparison.
    type: str
  requested_format:
    description: The inventory's C(chainlink_config_format) (V(auto), V(env), V(toml)), for which locks a version takes.
    type: str
    default: auto
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Plan the upgrade of a pair
  ansible.builtin.debug:
    msg: "{{ pair_state | nodeops.chainlink.handover_plan('upgrade', version='2.29.0') }}"
"""

RETURN = r"""
_value:
  description: C(steps) (list of C(start)/C(handover) steps), C(lines) (the steps in words), C(done) and C(error).
  type: dict
"""

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.module_utils._handover import describe, plan


def handover_plan(state: t.Any, action: str, **options: t.Any) -> dict[str, t.Any]:
    """The plan of plugins/module_utils/_handover.py, with the steps in words (options: version, direction, preferred, hand_back, restart_old)."""
    if not isinstance(state, dict):
        raise AnsibleFilterError(f"handover_plan expects the pair state as a dict, got {type(state).__name__}")
    if options.get("version") is not None:
        options["version"] = str(options["version"])
    try:
        result = plan(state, action, **options)
    except TypeError as exc:
        options_named = "version, direction, preferred, hand_back, restart_old, locking_mode and requested_format"
        raise AnsibleFilterError(f"handover_plan: {exc}; the options are {options_named}") from None
    result["lines"] = describe(result["steps"], state.get("instances") or {})
    return result


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"handover_plan": handover_plan}
