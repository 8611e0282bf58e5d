# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The observer's pure logic: which samples are kept, lease gaps, release kinds, two-holder and service-gap detection,
unknown /readyz answers, and the HTTP sampling budget derived from the node's rate limit."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils._observer import (
    ChangeRecorder,
    advisory_transitions,
    db_key,
    db_timeline,
    http_budget,
    lease_holder,
    lease_in_use,
    lease_transitions,
    node_rate_limit,
    readiness,
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


def adv(now: float, holder: str | None, inst: dict[str, str]) -> dict[str, t.Any]:
    """A 1.x advisorylock-mode sample: no lease row, the advisory holder and the connected instances."""
    return db(now, adv=[holder] if holder else [], inst=inst)


BOTH = {A: "1.2.0", B: "1.2.1"}


def test_advisorylock_timeline_holder_is_the_advisory_holder() -> None:
    records = [adv(0.0, A, BOTH), adv(1.0, None, {B: "1.2.1"}), adv(1.4, B, {B: "1.2.1"})]
    assert not lease_in_use(records)
    assert [(s["holder"], s["advisory"], s["version"]) for s in db_timeline(records)] == [(A, A, "1.2.0"), (None, None, None), (B, B, "1.2.1")]


def test_advisory_transition_after_the_old_session_ended() -> None:
    records = [adv(0.0, A, BOTH), adv(0.9, A, BOTH), adv(0.95, None, {B: "1.2.1"}), adv(1.5, None, {B: "1.2.1"}), adv(1.55, B, {B: "1.2.1"})]
    (tr,) = advisory_transitions(records)
    assert (tr["lock"], tr["from"], tr["to"], tr["from_version"], tr["to_version"]) == ("advisory", A, B, "1.2.0", "1.2.1")
    assert (tr["released"], tr["released_at"], tr["first_seen_at"], tr["exact"]) == ("session_ended", 0.95, 1.55, False)
    assert tr["lease_gap"] == pytest.approx(0.65)


def test_advisory_transition_while_the_old_instance_is_still_connected_is_an_unlock() -> None:
    (tr,) = advisory_transitions([adv(0.0, A, BOTH), adv(0.05, B, BOTH)])
    assert tr["released"] == "unlocked"
    assert tr["lease_gap"] == pytest.approx(0.05)


def test_advisory_holder_coming_back_is_no_transition() -> None:
    assert advisory_transitions([adv(0.0, A, BOTH), adv(0.5, None, BOTH), adv(1.0, A, BOTH)]) == []


def test_summary_names_the_lock_handed_over() -> None:
    advisory_only = summarize([adv(0.0, A, BOTH), adv(0.5, None, {B: "1.2.1"}), adv(1.0, B, {B: "1.2.1"})], DUR)
    assert advisory_only["lock"] == ["advisory"]
    assert advisory_only["lock_gaps"] == advisory_only["advisory_gaps"] == [1.0]
    assert advisory_only["lease_gaps"] == []
    assert [tr["lock"] for tr in advisory_only["transitions"]] == ["advisory"]
    # dual mode: the lease (graceful, 0.3 s) and then the advisory lock moved; the lease decides
    dual = summarize([db(0.0, A, 10.0, adv=[A]), db(0.5, A, 0.5, adv=[A]), db(0.8, B, 10.8, adv=[A]), db(1.0, B, 11.0, adv=[B])], DUR)
    assert dual["lock"] == ["lease", "advisory"]
    assert dual["lock_gaps"] == dual["lease_gaps"] == [0.3]
    assert [tr["lock"] for tr in dual["transitions"]] == ["lease"]
    lease_only = summarize([db(0.0, A, 10.0), db(0.5, A, 0.5), db(0.8, B, 10.8)], DUR)
    assert (lease_only["lock"], lease_only["advisory_gaps"]) == (["lease"], [])


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


# -- unknown answers (429 and the like) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "seen"),
    [(200, "up"), (503, "down"), (None, "down"), (429, "unknown"), (404, "unknown"), (502, "unknown"), (301, "unknown"), (500, "unknown")],
)
def test_readiness_of_one_answer(code: int | None, seen: str) -> None:
    assert readiness(code) == seen


def test_429_between_two_200s_opens_no_service_gap() -> None:
    records = [http(0.0, "p", 200), http(1.0, "p", 200), http(1.2, "p", 429), http(4.0, "p", 429), http(4.2, "p", 200), http(6.0, "p", 200)]
    summary = service_summary(records)
    assert summary["gaps"] == []
    assert summary["up"]["p"] == [{"from": 0.0, "to": 6.0, "seconds": 6.0}]
    assert summary["unknown"] == {"p": [{"from": 1.2, "to": 4.0, "codes": [429], "seconds": 2.8}]}


def test_unknown_answers_neither_open_nor_close_a_gap_in_a_handover() -> None:
    # The old instance is rate limited, then stops; the new one is rate limited before its first 200.
    records = [
        http(0.0, "old", 200),
        http(1.0, "old", 200),
        http(1.2, "old", 429),
        http(2.0, "old", None),
        http(2.2, "new", 429),
        http(2.9, "new", 404),
        http(3.0, "new", 200),
        http(4.0, "new", 200),
    ]
    summary = service_summary(records)
    # From the old instance's last 200 to the new one's first: the unknown answers count for neither side.
    assert summary["gaps"] == [{"from": 1.0, "to": 3.0, "before": "old", "after": "new", "seconds": 2.0}]
    assert summary["unknown"]["new"] == [{"from": 2.2, "to": 2.9, "codes": [429, 404], "seconds": 0.7}]
    assert summary["two_answering_seen"] is False


def test_a_429_is_not_down_where_a_503_is() -> None:
    for code, gap in ((429, []), (503, [2.0])):
        records = [http(0.0, "p", 200), http(1.0, "p", code), http(2.0, "p", 200)]
        assert [g["seconds"] for g in service_summary(records)["gaps"]] == gap


def test_summarize_counts_unknown_and_rate_limited_answers_per_instance() -> None:
    records = [
        http(0.0, "primary", 200),
        http(0.5, "primary", 429),
        {"k": "stats", "t": 1.0, "http_interval": 0.25, "http_samples": {"primary": 8, "secondary": 8}, "http_unknown": {"primary": 3, "secondary": 1},
         "http_rate_limited": {"primary": 3, "secondary": 0}},
    ]  # fmt: skip
    summary = summarize(records, DUR)
    assert summary["http_unknown"] == {"primary": 3, "secondary": 1}
    assert summary["http_rate_limited"] == {"primary": 3, "secondary": 0}
    assert summary["samples"]["http_interval"] == 0.25
    assert summarize([http(0.0, "p", 200)], DUR)["http_rate_limited"] == {}  # no stats yet: nothing counted


# -- the HTTP sampling budget -----------------------------------------------------------------------------------------


def test_rate_limit_defaults_are_the_real_nodes() -> None:
    assert node_rate_limit(None, None) == {"limit": 1000, "period": 60.0, "source": "default"}
    assert node_rate_limit({"Log": {"Level": "info"}}, {"SIM_BOOT_DELAY": "1"}) == {"limit": 1000, "period": 60.0, "source": "default"}


def test_rate_limit_from_the_operators_toml_and_1x_environment() -> None:
    toml = {"WebServer": {"RateLimit": {"Authenticated": 60, "AuthenticatedPeriod": "10s"}}}
    assert node_rate_limit(toml, {}) == {"limit": 60, "period": 10.0, "source": "config"}
    assert node_rate_limit({"WebServer": {"RateLimit": {"AuthenticatedPeriod": "2m"}}}, {}) == {"limit": 1000, "period": 120.0, "source": "config"}
    assert node_rate_limit({"WebServer": {"RateLimit": {"AuthenticatedPeriod": "1m30s"}}}, {})["period"] == 90.0
    assert node_rate_limit({}, {"AUTHENTICATED_RATE_LIMIT": "300"}) == {"limit": 300, "period": 60.0, "source": "env"}
    # Both set (an upgrade from 1.x environment to TOML): the stricter applies, whichever format the instance runs.
    assert node_rate_limit(toml, {"AUTHENTICATED_RATE_LIMIT": "600", "AUTHENTICATED_RATE_LIMIT_PERIOD": "1m"})["source"] == "config"
    assert node_rate_limit(toml, {"AUTHENTICATED_RATE_LIMIT": "30", "AUTHENTICATED_RATE_LIMIT_PERIOD": "10s"}) == {"limit": 30, "period": 10.0, "source": "env"}


@pytest.mark.parametrize(
    ("config", "env", "message"),
    [
        ({"WebServer": {"RateLimit": {"Authenticated": "1000"}}}, {}, "WebServer.RateLimit.Authenticated must be an integer"),
        ({"WebServer": {"RateLimit": {"Authenticated": True}}}, {}, "WebServer.RateLimit.Authenticated must be an integer"),
        ({"WebServer": {"RateLimit": {"AuthenticatedPeriod": 60}}}, {}, "AuthenticatedPeriod must be a duration string"),
        ({"WebServer": {"RateLimit": {"AuthenticatedPeriod": "1 minute"}}}, {}, "WebServer.RateLimit.AuthenticatedPeriod '1 minute' is not a Go duration"),
        ({}, {"AUTHENTICATED_RATE_LIMIT_PERIOD": "1d"}, "AUTHENTICATED_RATE_LIMIT_PERIOD '1d' is not a Go duration"),
        ({"WebServer": {"RateLimit": "fast"}}, {}, "WebServer.RateLimit must be a table"),
        ({"WebServer": {"RateLimit": {"Authenticated": 0}}}, {}, "leaves no request for /readyz"),
        ({}, {"AUTHENTICATED_RATE_LIMIT": "lots"}, "AUTHENTICATED_RATE_LIMIT must be a whole number"),
    ],
)
def test_rate_limit_values_the_node_refuses_are_named(config: dict[str, t.Any], env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        node_rate_limit(config, env)


def test_budget_at_the_nodes_default_limit() -> None:
    budget = http_budget(1000, 60.0, boot_timeout=300)
    assert budget["handover_requests"] == 333
    assert budget["observer_interval"] == 0.222  # about 4.5 probes a second: the service gaps' resolution
    assert budget["gate_delay"] == 1.0
    assert budget["gate_retries"] == 300
    assert budget["observer_requests"] + budget["gate_requests"] <= 333


def _most_in_any_window(times: list[float], period: float) -> int:
    ordered = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - period:
            first += 1
        most = max(most, last - first + 1)
    return most


@pytest.mark.parametrize(("limit", "period"), [(1000, 60.0), (60, 10.0), (18, 60.0), (100, 1.0), (5000, 60.0), (1000, 3600.0), (200000, 60.0), (25, 0.5)])
@pytest.mark.parametrize("phase", [0.0, 0.37, 0.999])
def test_observer_and_gate_together_stay_within_a_third_of_the_limit_in_every_window(limit: int, period: float, phase: float) -> None:
    budget = http_budget(limit, period)
    run = 5 * period  # many windows: the bound does not depend on the run's length
    obs = [k * budget["observer_interval"] for k in range(int(run / budget["observer_interval"]) + 1)]
    gate = [phase * budget["gate_delay"] + k * budget["gate_delay"] for k in range(int(run / budget["gate_delay"]) + 1)]
    assert _most_in_any_window(obs, period) <= budget["observer_requests"]
    assert _most_in_any_window(gate, period) <= budget["gate_requests"]
    assert _most_in_any_window(obs + gate, period) <= budget["handover_requests"] <= limit / 3
    assert budget["observer_interval"] >= 0.05 and budget["gate_delay"] >= 1.0


def test_budget_of_a_small_limit_and_one_too_small_for_a_handover() -> None:
    small = http_budget(60, 10.0, boot_timeout=30)
    assert (small["handover_requests"], small["observer_interval"], small["gate_delay"], small["gate_retries"]) == (20, 0.715, 2.5, 12)
    with pytest.raises(ValueError, match="leaves the handover only 5 requests a period .* at least 18 per period"):
        http_budget(17, 60.0)
