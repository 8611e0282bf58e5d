# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: http_budget
short_description: How often a handover may probe a Chainlink instance's /readyz within the node's rate limit
version_added: 0.1.0
description:
  - The real node answers C(/readyz) behind its authenticated rate limiter - C(WebServer.RateLimit.Authenticated)
    requests per C(AuthenticatedPeriod) per client address (default 1000 per 1m), then HTTP 429. Reads that limit from
    the TOML the operator merges into the node's config (C(chainlink_config_extra)) and, for 1.x environment
    configuration, from C(AUTHENTICATED_RATE_LIMIT) / C(AUTHENTICATED_RATE_LIMIT_PERIOD) in the extra environment; the
    node's defaults where unset, the stricter of the two where both are set.
  - Returns the observer's probe interval and the health gate's poll delay such that both together send each instance
    at most a third of its limit in any window of the limit's period, however long the run.
  - Fails, naming the setting and the fix, when a value has a type the node refuses or the limit leaves the handover
    fewer than four requests a period.
positional: env, boot_timeout
options:
  _input:
    description: The TOML settings merged into the node's config (C(chainlink_config_extra)), or null.
    type: dict
    required: true
  env:
    description: The extra environment of the instances (C(chainlink_env_extra) combined with C(handover_env_extra)).
    type: dict
    default: {}
  boot_timeout:
    description: Seconds the health gate may wait for C(/readyz) 200, to size its retries.
    type: float
    default: 300
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Work out the sampling budget of a pair whose nodes allow 60 requests per 10 s
  ansible.builtin.debug:
    msg: "{{ {'WebServer': {'RateLimit': {'Authenticated': 60, 'AuthenticatedPeriod': '10s'}}} | nodeops.chainlink.http_budget }}"
  # observer_interval 0.715, gate_delay 2.5: at most 14 + 5 of the 20 requests a third of the limit allows per 10 s
"""

RETURN = r"""
_value:
  description:
    - C(limit), C(period) (seconds) and C(source) (V(default), V(config) or V(env)) of the limit applied.
    - C(handover_requests) (a third of the limit), C(observer_interval) and C(observer_requests), C(gate_delay),
      C(gate_requests) and C(gate_retries); the requests are the most each poller can send in one window.
  type: dict
"""

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.module_utils._observer import http_budget as budget
from ansible_collections.nodeops.chainlink.plugins.module_utils._observer import node_rate_limit


def http_budget(config: t.Any, env: t.Any = None, boot_timeout: t.Any = 300) -> dict[str, t.Any]:
    """The rate limit of plugins/module_utils/_observer.py's node_rate_limit, and the budget http_budget derives from it."""
    if config is not None and not isinstance(config, dict):
        raise AnsibleFilterError(f"http_budget expects the TOML settings (chainlink_config_extra) as a dict, got {type(config).__name__}")
    if env is not None and not isinstance(env, dict):
        raise AnsibleFilterError(f"http_budget expects env (chainlink_env_extra) as a dict, got {type(env).__name__}")
    try:
        limit = node_rate_limit(config, env)
        return {**limit, **budget(limit["limit"], limit["period"], float(boot_timeout))}
    except ValueError as exc:
        raise AnsibleFilterError(f"the nodes' HTTP rate limit: {exc}") from None


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"http_budget": http_budget}
