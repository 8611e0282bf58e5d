# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which app ID each running instance has: from its log, else (log rotated) from the database and its HTTP port."""

from __future__ import annotations

import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils import _identify, _lock

ACTIVE = "6b0e4c0e-2f9a-4d3b-9a51-3c1f0c5e9b7d"
STANDBY = "0c7d2d3e-5b5f-4f0a-8f5e-4b8e3a1b2c3d"
LONG_VERSION = "2.29.0-beta.20251020.abcdef"  # cuts application_name inside the app ID


def name(version: str, app_id: str) -> str:
    return f"Chainlink {version} |App|{app_id}"[:63]


def lock(version: str = "2.29.0", holder: str | None = ACTIVE, standby: bool = True, advisory_only: bool = False) -> dict[str, t.Any]:
    sessions = []
    if holder:
        sessions.append({"pid": 10, "application_name": name(version, holder), "client_addr": "127.0.0.1", "backend_start": "1"})
    if standby:
        sessions.append({"pid": 20, "application_name": name(version, STANDBY), "client_addr": "127.0.0.1", "backend_start": "2"})
    lease = {"client_id": holder, "expires_at": "x", "remaining_seconds": 5.0, "valid": True} if holder and not advisory_only else None
    advisory = {"pid": 10, "application_name": name(version, holder)} if holder and advisory_only else None
    raw = {"db_now": "now", "lease_table_exists": not advisory_only, "lease": lease, "sessions": sessions, "advisory": advisory, "db_version": version}
    return _lock.build_report(raw, _lock.DEFAULT_ADVISORY_LOCK_ID)


def seen(log: str | None, http: bool | None, running: bool = True) -> dict[str, t.Any]:
    return {"running": running, "log_app_id": log, "http_answers": http}


def test_app_ids_from_the_logs() -> None:
    ids = _identify.identify({"primary": seen(ACTIVE, None), "secondary": seen(STANDBY.upper(), None)}, lock())
    assert ids["primary"]["app_id"] == ACTIVE and ids["primary"]["holds_lease"] and ids["primary"]["connected"]
    assert ids["secondary"]["app_id"] == STANDBY and not ids["secondary"]["holds_lease"] and ids["secondary"]["connected"]
    assert {i["app_id_source"] for i in ids.values()} == {"log"}


def test_a_standby_whose_name_was_cut_is_found_by_prefix() -> None:
    report = lock(LONG_VERSION)
    standby_entry = next(i for i in report["instances"] if not i["holds_lease"])
    assert len(standby_entry["app_id"]) < 36  # only a prefix survived the 63-byte cut
    ids = _identify.identify({"primary": seen(ACTIVE, None), "secondary": seen(STANDBY, None)}, report)
    assert ids["secondary"]["connected"] and ids["secondary"]["instance"] == standby_entry
    assert ids["primary"]["holds_lease"] and ids["primary"]["instance"]["holds_lease"]


def test_rotated_logs_fall_back_to_the_database_and_http() -> None:
    ids = _identify.identify({"primary": seen(None, True), "secondary": seen(None, False)}, lock())
    assert ids["primary"]["app_id"] == ACTIVE and ids["primary"]["holds_lease"]
    assert ids["primary"]["app_id_source"] == _identify.SOURCE_HOLDER
    assert ids["secondary"]["app_id"] == STANDBY and ids["secondary"]["connected"] and not ids["secondary"]["holds_lease"]
    assert ids["secondary"]["app_id_source"] == _identify.SOURCE_STANDBY


def test_one_rotated_log_next_to_a_known_partner() -> None:
    ids = _identify.identify({"primary": seen(ACTIVE, None), "secondary": seen(None, False)}, lock(LONG_VERSION))
    # what survived the 63-byte cut of its application_name: that prefix exactly (never empty)
    prefix = name(LONG_VERSION, STANDBY)[:63].rsplit("|", 1)[1]
    assert prefix and STANDBY.startswith(prefix)
    assert ids["secondary"]["app_id"] == prefix
    assert ids["secondary"]["connected"] and ids["secondary"]["app_id_source"] == _identify.SOURCE_STANDBY


def test_a_single_instance_view_finds_itself_as_the_standby() -> None:
    ids = _identify.identify({"self": seen(None, False)}, lock())
    assert ids["self"]["app_id"] == STANDBY


def test_ambiguity_leaves_the_app_id_unknown() -> None:
    # two silent instances, one candidate: which one it is cannot be told
    ids = _identify.identify({"primary": seen(None, False), "secondary": seen(None, False)}, lock())
    assert ids["primary"]["app_id"] is None and ids["secondary"]["app_id"] is None
    # HTTP answers but nobody holds the lease
    ids = _identify.identify({"primary": seen(None, True)}, lock(holder=None))
    assert ids["primary"]["app_id"] is None and not ids["primary"]["holds_lease"]


def test_stopped_instances_have_no_app_id() -> None:
    ids = _identify.identify({"primary": seen(ACTIVE, None, running=False)}, lock())
    assert ids["primary"] == {"app_id": None, "app_id_source": None, "holds_lease": False, "holds_lock": False, "connected": False, "instance": {}}


def test_find_instance_matches_prefixes_only_from_the_start() -> None:
    report = {"instances": [{"app_id": STANDBY[:8]}]}
    assert _identify.find_instance(report, STANDBY) == {"app_id": STANDBY[:8]}
    assert _identify.find_instance(report, "ffff" + STANDBY[:8] + STANDBY[12:]) == {}
    assert _identify.find_instance(report, None) == {}


def test_advisorylock_mode_the_advisory_holder_holds_the_lock_not_a_lease() -> None:
    report = lock("1.2.1", advisory_only=True)
    ids = _identify.identify({"primary": seen(ACTIVE, None), "secondary": seen(STANDBY, None)}, report)
    assert ids["primary"]["holds_lock"] and not ids["primary"]["holds_lease"]
    assert ids["primary"]["instance"]["holds_advisory"]
    assert not ids["secondary"]["holds_lock"] and ids["secondary"]["connected"]


def test_advisorylock_mode_a_rotated_log_is_identified_from_http_and_the_advisory_holder() -> None:
    ids = _identify.identify({"primary": seen(None, True), "secondary": seen(None, False)}, lock("1.2.1", advisory_only=True))
    assert (ids["primary"]["app_id"], ids["primary"]["app_id_source"], ids["primary"]["holds_lock"]) == (ACTIVE, _identify.SOURCE_HOLDER, True)
    assert (ids["secondary"]["app_id"], ids["secondary"]["app_id_source"], ids["secondary"]["holds_lock"]) == (STANDBY, _identify.SOURCE_STANDBY, False)


# -- states: the one place an instance's state word is decided ------------------------------------------------------


def container(version: str | None = "2.29.0", running: bool = True, image: str = "smartcontract/chainlink:2.29.0") -> dict[str, t.Any]:
    labels = {_identify.VERSION_LABEL: version} if version else {}
    return {"State": {"Running": running, "StartedAt": "2026-12-06T05:00:00.1Z"}, "Config": {"Image": image, "Labels": labels}}


def box(c: dict[str, t.Any] | None, log: str | None = None, http: bool | None = None) -> dict[str, t.Any]:
    return {"container": c or {}, "log_app_id": log, "http_answers": http}


def test_every_state_word_and_its_status_word() -> None:
    got = _identify.states(
        {
            "holder": box(container(), ACTIVE),
            "standby": box(container(), STANDBY),
            "booting": box(container(), None, http=False),
            "down": box(container(running=False)),
            "gone": box(None),
        },
        lock(),
    )
    assert {n: (s["state"], s["role"]) for n, s in got.items()} == {
        "holder": ("active", "active"),
        "standby": ("waiting", "standby"),
        # running, no app ID in its log, no free session in the database for it: neither holding nor waiting
        "booting": ("unknown", "starting"),
        "down": ("stopped", "stopped"),
        "gone": ("absent", "absent"),
    }
    assert got["holder"]["version"] == "2.29.0" and got["holder"]["started_at"] == "2026-12-06T05:00:00.1Z"
    assert got["gone"]["version"] is None and got["gone"]["image"] is None


def test_a_silent_standby_is_waiting_by_the_database() -> None:
    got = _identify.states({"primary": box(container(), ACTIVE), "secondary": box(container(), None, http=False)}, lock())
    assert got["secondary"]["state"] == "waiting" and got["secondary"]["app_id"] == STANDBY


def test_holding_an_inconsistent_lock_is_not_active() -> None:
    report = lock()
    report["consistent"] = False
    got = _identify.states({"primary": box(container(), ACTIVE)}, report)
    assert got["primary"]["holds_lock"] and got["primary"]["state"] != "active"


def test_the_version_falls_back_to_the_image_tag_and_a_registry_port_is_no_tag() -> None:
    tagged = _identify.states({"a": box(container(None, image="registry.local:5000/chainlink:2.28.0"), ACTIVE)}, lock())
    untagged = _identify.states({"a": box(container(None, image="registry.local:5000/chainlink"), ACTIVE)}, lock())
    assert tagged["a"]["version"] == "2.28.0" and untagged["a"]["version"] is None
