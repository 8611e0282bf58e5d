# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure parts of chainlink-sim's lock: retry-log cadence, jitter bounds, application_name, interval text."""

from __future__ import annotations

import random
import uuid

import pytest

from chainlink_sim import locks


def test_log_cadence_first_2000_tries() -> None:
    logged = [n for n in range(2001) if locks.should_log_retry(n)]
    assert logged == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000]


@pytest.mark.parametrize(("symmetric", "low", "high"), [(False, 1.0, 1.1), (True, 0.9, 1.1)])
def test_jitter_bounds(symmetric: bool, low: float, high: float) -> None:
    rng = random.Random(7)
    draws = [locks.jitter(1.0, symmetric, rng) for _draw in range(20000)]
    assert low <= min(draws) and max(draws) <= high
    # The whole range is used, not a constant.
    assert min(draws) < low + 0.005 and max(draws) > high - 0.005


def test_application_name_for_plain_version_keeps_the_uuid() -> None:
    app_id = str(uuid.uuid4())
    name = locks.application_name("2.29.0", app_id)
    assert name == f"Chainlink 2.29.0 |App|{app_id}" and len(name) == 58


def test_application_name_is_cut_to_63() -> None:
    app_id = str(uuid.uuid4())
    name = locks.application_name("2.29.0-beta.20251020-datastreams", app_id)
    assert len(name) == 63 and name.startswith("Chainlink 2.29.0-beta.20251020-datastreams |App|")
    assert app_id.startswith(name.split("|App|")[1])


def test_application_name_without_version() -> None:
    assert locks.application_name("", "x") == "Chainlink |App|x"


@pytest.mark.parametrize(("seconds", "text"), [(10.0, "10.000000 seconds"), (2.0, "2.000000 seconds"), (0.25, "0.250000 seconds")])
def test_interval_text_like_go_percent_f(seconds: float, text: str) -> None:
    assert locks.interval_text(seconds) == text


def test_lease_lock_refuses_refresh_above_half() -> None:
    from chainlink_sim.config import Config
    from chainlink_sim.log import Logger

    with pytest.raises(ValueError, match="refresh interval must be <= half the lease duration"):
        locks.LeaseLock(Config(lease_duration=2.0, lease_refresh=1.5), "id", "name", Logger(), True, lambda: None)
