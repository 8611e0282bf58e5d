# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: instance_states
short_description: Each instance's state in its pair (active, waiting, unknown, stopped, absent) from its container, log and the lock
version_added: 0.1.0
description:
  - The one place where an instance's state is decided; the handover's plan and the node role's C(state) entry point
    (and so C(status.yml)) read it.
  - V(active) - running and holding the lock while the lock is consistent (in 1.x dual mode the lease and the advisory
    lock held by one instance); V(waiting) - running and connected to the database, holding nothing; V(unknown) -
    running but neither (starting, crash-looping, misconfigured); V(stopped); V(absent).
  - App IDs come from each instance's log, or when the log was rotated from the database and the HTTP port, as
    P(nodeops.chainlink.identify_instances#filter) finds them.
positional: lock
options:
  _input:
    description:
      - Instance name to C({container, log_app_id, http_answers}). C(container) is Docker's inspect data (empty or
        V(null) when the container does not exist); C(http_answers) is V(null) when the port was not probed.
    type: dict
    required: true
  lock:
    description: The result of M(nodeops.chainlink.lock_info) for the pair's database.
    type: dict
    required: true
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Say what each instance of a pair is
  ansible.builtin.debug:
    msg: >-
      {{ {'primary': {'container': primary_info.container, 'log_app_id': primary_app_id, 'http_answers': none},
          'secondary': {'container': secondary_info.container, 'log_app_id': none, 'http_answers': false}}
         | nodeops.chainlink.instance_states(lock) }}
"""

RETURN = r"""
_value:
  description:
    - Instance name to C(state) (V(active), V(waiting), V(unknown), V(stopped), V(absent)), C(role) (the words
      C(status.yml) prints for them - V(active), V(standby), V(starting), V(stopped), V(absent)), C(version) (the
      role's version label, else the image tag), C(image), C(started_at), and the fields of
      P(nodeops.chainlink.identify_instances#filter) (C(app_id), C(app_id_source), C(holds_lease), C(holds_lock),
      C(connected), C(instance)).
  type: dict
"""

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.module_utils._identify import input_problem, states


def instance_states(containers: t.Any, lock: t.Any) -> dict[str, dict[str, t.Any]]:
    """plugins/module_utils/_identify.py's states(), with the inputs checked."""
    problem = input_problem("instance_states", containers, lock)
    if problem:
        raise AnsibleFilterError(problem)
    return states(containers, lock)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"instance_states": instance_states}
