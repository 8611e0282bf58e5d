# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The exporter's values of one pair, from lock_info's report (build_report) and the instances' HTTP probes."""

from __future__ import annotations

import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils import _lock, _pair_metrics

ACTIVE = "6b0e4c0e-2f9a-4d3b-9a51-3c1f0c5e9b7d"
STANDBY = "0c7d2d3e-5b5f-4f0a-8f5e-4b8e3a1b2c3d"
THIRD = "9a1b2c3d-0000-4000-8000-123456789abc"
LONG_VERSION = "2.29.0-beta.20251020.abcdef"  # cuts application_name inside the app ID


def session(pid: int, app_id: str, version: str = "2.29.0", start: str = "1") -> dict[str, t.Any]:
    return {"pid": pid, "application_name": f"Chainlink {version} |App|{app_id}"[:63], "client_addr": "127.0.0.1", "backend_start": start}


def report(
    holder: str | None = ACTIVE,
    sessions: list[dict[str, t.Any]] | None = None,
    advisory_pid: int | None = None,
    remaining: float = 7.5,
    schema_version: int | None = 250,
    table: bool = True,
) -> dict[str, t.Any]:
    if sessions is None:
        sessions = [session(10, ACTIVE), session(20, STANDBY, start="2")]
    lease = {"client_id": holder, "expires_at": "x", "remaining_seconds": remaining, "valid": remaining >= 0} if holder else None
    advisory = next(({"pid": s["pid"], "application_name": s["application_name"]} for s in sessions if s["pid"] == advisory_pid), None)
    raw = {
        "db_now": "now",
        "lease_table_exists": table,
        "lease": lease,
        "sessions": sessions,
        "advisory": advisory,
        "db_version": "2.29.0",
        "schema_version": schema_version,
    }
    return _lock.build_report(raw, _lock.DEFAULT_ADVISORY_LOCK_ID)


def test_build_report_passes_the_schema_version_through() -> None:
    assert report(schema_version=250)["schema_version"] == 250
    assert report(schema_version=None)["schema_version"] is None


def test_held_pair_with_its_standby() -> None:
    values = _pair_metrics.pair_values(report(), {"primary": True, "secondary": False})
    assert values["lock_held"] and not values["two_holders"] and values["standby_ready"]
    assert values["holder"] == {"app_id": ACTIVE, "version": "2.29.0", "instance": "primary"}
    assert values["instance_connected"] == {"primary": True, "secondary": True}
    assert {(i["instance"], i["holder"]) for i in values["instances"]} == {("primary", True), ("secondary", False)}
    assert values["lease_remaining_seconds"] == 7.5
    assert (values["db_version"], values["schema_version"]) == ("2.29.0", 250)


def test_secondary_holding_after_a_switchover() -> None:
    values = _pair_metrics.pair_values(report(holder=STANDBY), {"primary": False, "secondary": True})
    assert values["holder"]["instance"] == "secondary"
    assert {i["instance"]: i["holder"] for i in values["instances"]} == {"primary": False, "secondary": True}


def test_stopped_standby_is_not_ready() -> None:
    values = _pair_metrics.pair_values(report(sessions=[session(10, ACTIVE)]), {"primary": True, "secondary": False})
    assert not values["standby_ready"] and values["instance_connected"] == {"primary": True, "secondary": False}


def test_no_holder_means_lock_not_held_and_no_standby_readiness() -> None:
    values = _pair_metrics.pair_values(report(holder=None), {"primary": False, "secondary": False})
    assert not values["lock_held"] and values["holder"] is None and not values["standby_ready"]
    assert values["lease_remaining_seconds"] is None
    # an expired lease is no holder, and its remaining time is negative
    values = _pair_metrics.pair_values(report(remaining=-3.0), {"primary": False, "secondary": False})
    assert not values["lock_held"] and values["holder"] is None and values["lease_remaining_seconds"] == -3.0


def test_advisory_lock_only_counts_as_held() -> None:
    # 1.x advisorylock mode: no lease table, the advisory holder is the holder
    values = _pair_metrics.pair_values(report(holder=None, advisory_pid=10, table=False), {"primary": True, "secondary": False})
    assert values["lock_held"] and values["holder"]["app_id"] == ACTIVE and values["holder"]["instance"] == "primary"
    assert values["standby_ready"] and not values["two_holders"]


def test_two_holders_is_lock_infos_inconsistency() -> None:
    values = _pair_metrics.pair_values(report(advisory_pid=20), {"primary": True, "secondary": False})
    assert values["two_holders"] is True and values["lock_held"]


def test_an_instance_outside_the_inventory_is_unknown() -> None:
    sessions = [session(10, ACTIVE), session(20, STANDBY, start="2"), session(30, THIRD, start="3")]
    values = _pair_metrics.pair_values(report(sessions=sessions), {"primary": True, "secondary": False})
    # two silent candidates for one silent instance: identify() names neither
    assert {i["app_id"]: i["instance"] for i in values["instances"]} == {ACTIVE: "primary", STANDBY: "unknown", THIRD: "unknown"}
    assert values["instance_connected"] == {"primary": True, "secondary": False}
    assert values["standby_ready"]


def test_cut_app_ids_map_by_prefix() -> None:
    sessions = [session(10, ACTIVE, LONG_VERSION), session(20, STANDBY, LONG_VERSION, start="2")]
    values = _pair_metrics.pair_values(report(sessions=sessions), {"primary": True, "secondary": False})
    assert values["holder"]["instance"] == "primary" and values["holder"]["version"] == LONG_VERSION
    assert values["instance_connected"] == {"primary": True, "secondary": True}


def test_holder_changes_count_new_holders_only() -> None:
    changes = _pair_metrics.HolderChanges()
    seen = [changes.update(h) for h in (ACTIVE, ACTIVE, None, ACTIVE, STANDBY, None, STANDBY, ACTIVE, ACTIVE[:20])]
    assert seen == [False, False, False, False, True, False, False, True, False]
    assert changes.count == 2
