# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The duration filters: Go's time.ParseDuration as the node reads its duration settings, no more lenient than the node."""

from __future__ import annotations

import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.filter import duration_problems, duration_seconds


def test_filters_are_registered_under_their_names() -> None:
    assert set(duration_seconds.FilterModule().filters()) == {"duration_seconds"}
    assert set(duration_problems.FilterModule().filters()) == {"duration_problems"}


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7ns", 7e-9),
        ("250us", 250e-6),
        ("250\u00b5s", 250e-6),  # µ MICRO SIGN
        ("250\u03bcs", 250e-6),  # μ GREEK SMALL LETTER MU: Go takes both
        ("500ms", 0.5),
        ("10s", 10.0),
        ("2m", 120.0),
        ("3h", 10800.0),
        ("1h2m3.5s", 3723.5),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        (".5s", 0.5),
        ("1.s", 1.0),
        ("+5s", 5.0),
        ("1s500ms", 1.5),
        ("0", 0.0),
        (0, 0.0),
        ("-0", 0.0),
        ("0s", 0.0),
        ("1.5ns", 1e-9),  # whole nanoseconds, as Go counts
        ("2562047h", 2562047 * 3600.0),
    ],
)
def test_duration_seconds_reads_go_durations(value: t.Any, seconds: float) -> None:
    assert duration_seconds.duration_seconds(value) == pytest.approx(seconds, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("10", "duration '10' has no unit (the node refuses a bare number, only 0 may go without one): write it with a unit, like 10s"),
        ("1.5", "'1.5' has no unit"),
        (10, "'10' has no unit"),
        (2.5, "'2.5' has no unit"),
        ("-5s", "'-5s' is negative, which the node refuses"),
        ("-1h2m", "is negative"),
        ("", "duration '' is not a Go duration: write it like 10s, 500ms or 1m30s"),
        ("-", "is not a Go duration"),
        ("s", "is not a Go duration"),
        (".s", "is not a Go duration"),
        ("10x", "is not a Go duration"),
        ("1d", "is not a Go duration"),
        ("10S", "is not a Go duration"),
        ("10 seconds", "is not a Go duration"),
        ("1m 30s", "is not a Go duration"),
        (" 10s", "is not a Go duration"),
        ("10s ", "is not a Go duration"),
        ("1.5.5s", "is not a Go duration"),
        ("1h-5m", "is not a Go duration"),
        ("2562048h", "too long for a Go duration"),
        (True, "is True, not a duration"),
        (None, "is None, not a duration"),
        (["10s"], "not a duration"),
    ],
)
def test_duration_seconds_refuses_what_the_node_refuses(value: t.Any, reason: str) -> None:
    with pytest.raises(AnsibleFilterError) as refused:
        duration_seconds.duration_seconds(value, "chainlink_lease_duration")
    assert "chainlink_lease_duration " in str(refused.value) and reason in str(refused.value)
    assert duration_seconds.duration_seconds(value, "chainlink_lease_duration", invalid=None) is None
    assert duration_seconds.duration_seconds(value, invalid=-1) == -1


def test_duration_seconds_names_the_input_type() -> None:
    with pytest.raises(AnsibleFilterError, match=r"^duration_seconds: the duration '10' has no unit .*\(got int\)$"):
        duration_seconds.duration_seconds(10)


def test_duration_problems_names_each_refused_variable_in_order() -> None:
    durations = {"node_lease_duration": "10", "node_lease_refresh_interval": "1s", "node_advisory_lock_check_interval": "1 second"}
    assert duration_problems.duration_problems(durations) == [
        "node_lease_duration '10' has no unit (the node refuses a bare number, only 0 may go without one): write it with a unit, like 10s",
        "node_advisory_lock_check_interval '1 second' is not a Go duration: write it like 10s, 500ms or 1m30s",
    ]
    assert duration_problems.duration_problems({"a": "10s", "b": "0", "c": "1h2m3.5s"}) == []
    assert duration_problems.duration_problems({}) == []


def test_duration_problems_names_bad_input() -> None:
    with pytest.raises(AnsibleFilterError, match="got list"):
        duration_problems.duration_problems(["10s"])
