# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The http_budget filter: the limit read from the operator's settings, the budget derived from it, bad input named."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.filter import http_budget


def test_registered_under_its_name() -> None:
    assert set(http_budget.FilterModule().filters()) == {"http_budget"}


def test_limit_and_budget_in_one_result() -> None:
    config = {"WebServer": {"RateLimit": {"Authenticated": 60, "AuthenticatedPeriod": "10s"}}}
    result = http_budget.http_budget(config, {"SIM_BOOT_DELAY": "12s"}, 30)
    assert (result["limit"], result["period"], result["source"]) == (60, 10.0, "config")
    assert (result["observer_interval"], result["gate_delay"], result["gate_retries"], result["handover_requests"]) == (0.715, 2.5, 12, 20)
    assert http_budget.http_budget(None)["observer_interval"] == 0.222  # no settings: the node's default limit


@pytest.mark.parametrize(
    ("config", "env", "message"),
    [
        ([], None, "expects the TOML settings .* got list"),
        ({}, "AUTHENTICATED_RATE_LIMIT=5", "expects env .* got str"),
        ({"WebServer": {"RateLimit": {"Authenticated": "60"}}}, {}, "the nodes' HTTP rate limit: .*Authenticated must be an integer"),
        ({"WebServer": {"RateLimit": {"Authenticated": 12}}}, {}, "leaves the handover only 4 requests a period"),
    ],
)
def test_bad_input_is_named(config: object, env: object, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        http_budget.http_budget(config, env)
