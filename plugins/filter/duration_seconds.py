# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: duration_seconds
short_description: A Chainlink node's duration setting (a Go duration) in seconds
version_added: 0.1.0
description:
  - Reads a duration the way the node reads its duration settings (C(LeaseDuration), C(ShutdownGracePeriod), ...) -
    Go's C(time.ParseDuration) syntax, one or more numbers each with a unit V(ns), V(us), V(µs), V(ms), V(s), V(m) or
    V(h), such as V(10s), V(500ms) or V(1h2m3.5s), with no spaces - and returns it in seconds.
  - Refuses what the node refuses, so the collection is never more lenient than the node it configures - a bare number
    other than V(0) (the node wants a unit - write V(10s), not V(10)), a negative duration (Chainlink's configuration
    type refuses it), another unit (V(1d)) and anything else that is not a Go duration.
  - A value that is refused fails the task with a message naming O(name) and the fix, unless O(invalid) is given -
    then that value is returned instead, for a preflight that reports every problem at once
    (see P(nodeops.chainlink.duration_problems#filter) for the messages).
positional: name
options:
  _input:
    description: The duration, such as V(10s); an integer is read as its text (so only V(0) passes).
    type: raw
    required: true
  name:
    description: The variable named in the failure message.
    type: str
    default: the duration
  invalid:
    description:
      - Returned instead of failing when the input is not a duration the node accepts (for example V(-1) or
        V(none)). Not given - fail.
    type: raw
seealso:
  - plugin: nodeops.chainlink.duration_problems
    plugin_type: filter
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: The lease duration in seconds (fails naming chainlink_lease_duration when it is not a duration)
  ansible.builtin.debug:
    msg: "{{ chainlink_lease_duration | nodeops.chainlink.duration_seconds('chainlink_lease_duration') }}"
  # '1m30s' -> 90.0, '500ms' -> 0.5, '0' -> 0.0; '10' fails: it has no unit (write 10s)

- name: Compare two durations only when both are valid (a preflight reports the invalid ones itself)
  ansible.builtin.assert:
    that: __lease is none or __refresh is none or __refresh <= __lease / 2
  vars:
    __lease: "{{ chainlink_lease_duration | nodeops.chainlink.duration_seconds(invalid=none) }}"
    __refresh: "{{ chainlink_lease_refresh_interval | nodeops.chainlink.duration_seconds(invalid=none) }}"
"""

RETURN = r"""
_value:
  description: The duration in seconds (whole nanoseconds, as Go counts), or O(invalid) for a refused value when given.
  type: float
  sample: 90.0
"""

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.module_utils._node_rules import RuleError, parse_duration

_FAIL = object()


def duration_seconds(value: t.Any, name: str = "the duration", invalid: t.Any = _FAIL) -> t.Any:
    """plugins/module_utils/_node_rules.py's parse_duration: seconds, or `invalid` (when given) for a refused value."""
    try:
        return parse_duration(value, name)
    except RuleError as exc:
        if invalid is _FAIL:
            raise AnsibleFilterError(f"duration_seconds: {exc} (got {type(value).__name__})") from None
        return invalid


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"duration_seconds": duration_seconds}
