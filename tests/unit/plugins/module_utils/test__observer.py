# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The observer's pure logic: which samples are kept, lease gaps, release kinds, two-holder and service-gap detection."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils._observer import (
    ChangeRecorder,
    db_key,
    db_timeline,
    lease_holder,
    lease_transitions,
    service_summary,
    split_lock_seconds,
    summarize,
)

A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"
C = "cccccccc-0000-4000-8000-000000000003"
DUR = 10.0


def db(now: float, holder: str | None = None, exp: float | None = None, inst: dict[str, str] | None = None, adv: list[str] | None = None) -> dict[str, t.Any]:
    lease = {"id": holder, "exp": exp} if holder is not None and exp is not None else None
    return {"k": "db", "t": now, "now": now, "lease": lease, "adv": adv or [], "inst": inst if inst is not None else ({holder: "2.29.0"} if holder else {})}


def http(ts: float, name: str, code: int | None) -> dict[str, t.Any]:
    return {"k": "http", "t": ts, "name": name, "code": code}


# -- ChangeRecorder ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "written"),
    [
        ([1, 1, 1, 1], [0]),  # one state: only its first sample until flushed
        ([1, 1, 2, 2, 2, 3], [0, 1, 2, 4, 5]),  # each change writes the last sample of the old state, then the new one
        ([1, 2, 1, 2], [0, 1, 2, 3]),  # flapping: every sample is a change
        ([1, 1, 1, 2], [0, 2, 3]),
    ],
)
def test_change_recorder_keeps_both_ends_of_each_state(keys: list[int], written: list[int]) -> None:
    recorder = ChangeRecorder()
    out: list[dict[str, t.Any]] = []
    for index, key in enumerate(keys):
        out += recorder.feed(key, {"i": index})
    assert [r["i"] for r in out] == written


def test_change_recorder_flush_writes_the_pending_last_sample_once() -> None:
    recorder = ChangeRecorder()
    recorder.feed("x", {"i": 0})
    recorder.feed("x", {"i": 1})
    assert recorder.flush() == [{"i": 1}]
    assert recorder.flush() == []


def test_db_key_ignores_sample_time_but_not_refreshes_or_validity() -> None:
    assert db_key(db(1.0, A, 11.0)) == db_key(db(1.5, A, 11.0))
    assert db_key(db(1.0, A, 11.0)) != db_key(db(2.0, A, 12.0))  # a refresh is a change (keeps the first expires_at)
    assert db_key(db(1.0, A, 11.0)) != db_key(db(12.0, A, 11.0))  # expired now


# -- lease holder and timeline ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "holder"),
    [
        (db(5.0, A, 10.0), A),
        (db(10.0, A, 10.0), A),  # the node frees the lease only once now() has passed expires_at
        (db(10.1, A, 10.0), None),
        (db(5.0), None),
    ],
)
def test_lease_holder(record: dict[str, t.Any], holder: str | None) -> None:
    assert lease_holder(record) == holder


def test_timeline_segments_holder_and_advisory() -> None:
    records = [db(0.0, A, 10.0, adv=[A]), db(1.0, A, 11.0, adv=[A]), db(1.5, A, 1.4, adv=[A]), db(1.6, A, 1.4), db(2.0, B, 12.0), db(2.5, B, 12.0, adv=[B])]
    segments = db_timeline(records)
    assert [(s["holder"], s["advisory"]) for s in segments] == [(A, A), (None, A), (None, None), (B, None), (B, B)]
    assert segments[0]["seconds"] == 1.0
    assert segments[0]["version"] == "2.29.0"


# -- transitions ----------------------------------------------------------------------------------------------------


def test_graceful_handover_gap_is_exact_from_the_rows_timestamps() -> None:
    # A refreshes, releases at 20.3 (expires_at moved back to now()), B acquires at 20.9 (expires_at = 30.9).
    records = [db(19.0, A, 29.0), db(20.0, A, 30.0), db(20.35, A, 20.3), db(20.95, B, 30.9, inst={A: "2.28.0", B: "2.29.0"}), db(22.0, B, 32.0)]
    (tr,) = lease_transitions(records, DUR)
    assert tr["from"] == A and tr["to"] == B
    assert tr["released"] == "graceful"
    assert tr["released_at"] == 20.3
    assert tr["acquired_at"] == pytest.approx(20.9)
    assert tr["lease_gap"] == pytest.approx(0.6)
    assert tr["exact"] is True
    assert tr["overlap"] is False
    assert tr["old_alive_after_takeover"] is False
    assert tr["to_version"] == "2.29.0"


def test_release_between_two_samples_is_still_recognised_as_graceful() -> None:
    # The release and the take-over fell between two samples: B's acquisition (40.5) is long before A's expiry (49.9).
    records = [db(40.0, A, 49.9), db(40.6, B, 50.5)]
    (tr,) = lease_transitions(records, DUR)
    assert tr["released"] == "graceful"
    assert tr["exact"] is False
    assert tr["lease_gap"] == pytest.approx(0.5)  # upper bound: from A's last valid sample


def test_expiry_after_a_kill_is_reported_as_expired_with_the_real_gap() -> None:
    # A killed after its refresh at 50 (expires 60); its row stays; B takes it at 60.7.
    records = [db(50.0, A, 60.0), db(55.0, A, 60.0, inst={}), db(60.05, A, 60.0, inst={}), db(60.75, B, 70.7, inst={B: "2.29.0"})]
    (tr,) = lease_transitions(records, DUR)
    assert tr["released"] == "expired"
    assert tr["released_at"] == 60.0
    assert tr["lease_gap"] == pytest.approx(0.7)
    assert tr["old_alive_after_takeover"] is False  # A's sessions were gone


def test_old_holder_still_connected_after_its_lease_ran_out_is_two_holders() -> None:
    # A frozen (no refresh, still connected): B takes the expired lease while A may still be working.
    records = [db(50.0, A, 60.0), db(60.05, A, 60.0, inst={A: "2.29.0"}), db(60.75, B, 70.7, inst={A: "2.29.0", B: "2.29.0"})]
    summary = summarize(records, DUR)
    assert summary["transitions"][0]["old_alive_after_takeover"] is True
    assert summary["two_holders_seen"] is True


def test_acquisition_before_the_old_lease_ended_is_an_overlap() -> None:
    # Not possible under the node's upsert; what the observer must flag if clocks or a second writer make it happen.
    records = [db(10.0, A, 20.0), db(10.5, A, 10.4), db(10.6, B, 20.3)]
    (tr,) = lease_transitions(records, DUR)
    assert tr["overlap"] is True
    assert summarize(records, DUR)["two_holders_seen"] is True


def test_missed_refresh_then_same_holder_is_not_a_transition() -> None:
    records = [db(0.0, A, 10.0), db(10.2, A, 10.0), db(10.4, A, 20.4), db(11.0, A, 21.0)]
    assert lease_transitions(records, DUR) == []


def test_two_handovers_there_and_back() -> None:
    records = [db(0.0, A, 10.0), db(1.0, A, 1.0), db(1.5, B, 11.4), db(5.0, B, 15.0), db(5.2, B, 5.1), db(6.0, A, 15.9)]
    # A came back under a new app ID in reality; the same ID here checks that gaps are computed per transition.
    gaps = [tr["lease_gap"] for tr in lease_transitions(records, DUR)]
    assert gaps == [pytest.approx(0.4), pytest.approx(0.8)]


def test_without_lease_duration_gaps_are_upper_bounds_from_sample_times() -> None:
    records = [db(0.0, A, 10.0), db(1.0, A, 0.9), db(1.5, B, 11.4)]
    (tr,) = lease_transitions(records, None)
    assert tr["acquired_at"] is None
    assert tr["exact"] is False
    assert tr["lease_gap"] == pytest.approx(0.6)  # from the observed release (0.9) to B first seen (1.5)
    assert tr["released"] == "graceful"


def test_first_holder_of_the_run_is_not_a_transition() -> None:
    assert lease_transitions([db(0.0), db(1.0, A, 11.0), db(2.0, A, 12.0)], DUR) == []


def test_split_lock_seconds_counts_lease_and_advisory_on_different_instances() -> None:
    records = [db(0.0, A, 10.0, adv=[A]), db(1.0, B, 11.0, adv=[A]), db(1.3, B, 11.0, adv=[B]), db(2.0, B, 12.0, adv=[B])]
    assert split_lock_seconds(records) == pytest.approx(0.3)


# -- HTTP -----------------------------------------------------------------------------------------------------------


def test_service_gap_from_old_stops_answering_to_new_answers() -> None:
    records = [
        http(0.0, "primary", 200),
        http(0.0, "secondary", None),
        http(5.0, "primary", 200),
        http(5.05, "primary", None),
        http(7.0, "secondary", None),
        http(7.05, "secondary", 200),
        http(9.0, "secondary", 200),
    ]
    summary = service_summary(records)
    assert summary["gaps"] == [{"from": 5.0, "to": 7.05, "before": "primary", "after": "secondary", "seconds": 2.05}]
    assert summary["max_gap"] == 2.05
    assert summary["two_answering_seen"] is False
    assert summary["up"]["primary"] == [{"from": 0.0, "to": 5.0, "seconds": 5.0}]


def test_two_instances_answering_at_once_is_seen() -> None:
    records = [http(0.0, "primary", 200), http(1.0, "secondary", 200), http(2.0, "primary", 200), http(2.1, "primary", 503), http(3.0, "secondary", 200)]
    summary = service_summary(records)
    assert summary["two_answering_seen"] is True
    assert summary["overlaps"][0]["instances"] == ["primary", "secondary"]
    assert summarize(records, DUR)["two_holders_seen"] is True


@pytest.mark.parametrize("code", [503, None])
def test_not_ready_and_refused_both_count_as_not_answering(code: int | None) -> None:
    records = [http(0.0, "p", 200), http(1.0, "p", code), http(2.0, "p", 200)]
    assert service_summary(records)["gaps"][0]["seconds"] == 2.0


def test_summarize_reports_errors_stats_and_end() -> None:
    records = [
        db(0.0, A, 10.0),
        {"k": "err", "t": 1.0, "src": "db", "msg": "server closed the connection"},
        {"k": "stats", "t": 2.0, "db_samples": 40, "db_max_interval": 0.06},
        {"k": "end", "t": 2.0, "reason": "owner_gone"},
    ]
    summary = summarize(records, DUR)
    assert summary["errors"] == 1
    assert summary["last_error"] == "server closed the connection"
    assert summary["samples"] == {"db_samples": 40, "db_max_interval": 0.06}
    assert summary["ended"] == "owner_gone"
    assert summary["two_holders_seen"] is False
