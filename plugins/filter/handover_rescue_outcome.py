# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: handover_rescue_outcome
short_description: A failed takeover's summary and next step, from what its rescue decided and did
version_added: 0.1.0
description:
  - Words for the handover report and the failure message, from the decision of P(nodeops.chainlink.handover_rescue#filter)
    and whether the old instance was proven back in service.
positional: names, error, restored
options:
  _input:
    description: The decision of P(nodeops.chainlink.handover_rescue#filter).
    type: dict
    required: true
  names:
    description: C(phase), C(from), C(to), C(from_container) and C(to_container).
    type: dict
    required: true
  error:
    description: Why the takeover failed.
    type: str
    required: true
  restored:
    description: Whether the old instance was proven to hold the lock and serve again.
    type: bool
    required: true
  restore_error:
    description: Why starting or proving the old instance failed.
    type: str
  db_version:
    description: The version that last migrated the database.
    type: str
  frm_version:
    description: The version the old instance runs.
    type: str
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Say what happened
  ansible.builtin.debug:
    msg: "{{ (rescue | nodeops.chainlink.handover_rescue_outcome(names, 'no takeover', true)).summary }}"
"""

RETURN = r"""
_value:
  description: C(summary) and C(next).
  type: dict
"""

import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._handover import rescue_outcome


def handover_rescue_outcome(decision: t.Any, names: t.Any, error: t.Any, restored: t.Any, **details: t.Any) -> dict[str, str]:
    """plugins/module_utils/_handover.py rescue_outcome()."""
    return rescue_outcome(decision, names, str(error), bool(restored), **{k: (None if v in (None, "") else str(v)) for k, v in details.items()})


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"handover_rescue_outcome": handover_rescue_outcome}
