# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: identify_instances
short_description: Each running instance's app ID and place in the lock, from its log or else the database
version_added: 0.1.0
description:
  - Takes the app ID each running instance logged (its booted or waiting line) and finds the instance in O(lock), where
    app IDs cut short in C(application_name) (63 bytes) match by prefix.
  - When an instance's log no longer holds either line (log rotation), falls back to the database and the instance's
    HTTP port, since only the lock holder serves HTTP. An instance whose port answers is the lease holder. An instance
    whose port does not answer is the one connected instance that is neither the holder nor another instance's. The
    result says where each app ID came from (C(app_id_source)).
positional: lock
options:
  _input:
    description: Instance name to C({running, log_app_id, http_answers}); C(http_answers) is V(null) when not probed.
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
- name: Identify a pair's instances
  ansible.builtin.debug:
    msg: >-
      {{ {'primary': {'running': true, 'log_app_id': primary_app_id, 'http_answers': none},
          'secondary': {'running': true, 'log_app_id': none, 'http_answers': false}}
         | nodeops.chainlink.identify_instances(lock) }}
"""

RETURN = r"""
_value:
  description:
    - Instance name to C(app_id) (or V(null)), C(app_id_source) (V(log), a sentence naming the database fallback, or
      V(null)), C(holds_lease), C(holds_lock) (the lease holder, or without a valid lease the advisory holder),
      C(connected) and C(instance) (the entry of O(lock)'s C(instances), or an empty dict).
  type: dict
"""

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.module_utils._identify import identify, input_problem


def identify_instances(instances: t.Any, lock: t.Any) -> dict[str, dict[str, t.Any]]:
    """plugins/module_utils/_identify.py's identify(), with the inputs checked."""
    problem = input_problem("identify_instances", instances, lock)
    if problem:
        raise AnsibleFilterError(problem)
    return identify(instances, lock)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"identify_instances": identify_instances}
