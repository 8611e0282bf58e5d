# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure parts of lock_info: application_name parsing, key split, state, instances, wait conditions."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils import _lock

APP = "6b0e4c0e-2f9a-4d3b-9a51-3c1f0c5e9b7d"
OTHER = "0c7d2d3e-5b5f-4f0a-8f5e-4b8e3a1b2c3d"


def chainlink_name(version: str, app_id: str, name: str = "App") -> str:
    """application_name as the node builds it (static.SetConsumerName), including its cut at 63 characters."""
    suffix = f" {version} " if version else " "
    return f"Chainlink{suffix}|{name}|{app_id}"[:63]


# -- application_name -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"Chainlink 2.29.0 |App|{APP}", _lock.AppName("2.29.0", "App", APP, False)),
        (f"Chainlink 1.11.0 |EventBroadcaster|{APP}"[:63], _lock.AppName("1.11.0", "EventBroadcaster", APP[:28], True)),
        (f"Chainlink |App|{APP}", _lock.AppName(None, "App", APP, False)),
        (f"Chainlink 2.29.0 |App|{APP.upper()}", _lock.AppName("2.29.0", "App", APP, False)),
        ("Chainlink 1.11.0 |App", _lock.AppName("1.11.0", "App", None, False)),
        # A long pre-release version pushes the end of the UUID past 63 characters: only a prefix is left.
        (chainlink_name("2.29.0-beta.20251020.abcdef", APP), _lock.AppName("2.29.0-beta.20251020.abcdef", "App", APP[:20], True)),
        # So long that even the separator is gone.
        (chainlink_name("9" * 70, APP), _lock.AppName("9" * 53, None, None, True)),
        ("psql", None),
        ("", None),
        (None, None),
        ("Chainlinkish |App|x", None),
        ("Chainlink 2.29.0 |App|not-a-uuid!", None),
        ("Chainlink 2.29.0", None),
    ],
)
def test_parse_application_name(value: str | None, expected: _lock.AppName | None) -> None:
    assert _lock.parse_application_name(value) == expected


def test_prefix_lengths_follow_the_63_character_cut() -> None:
    assert len("Chainlink 1.11.0 |EventBroadcaster|") + 28 == 63
    assert len("Chainlink 2.29.0-beta.20251020.abcdef |App|") + 20 == 63


def test_plain_version_names_keep_the_whole_uuid() -> None:
    name = chainlink_name("1.11.0", APP)
    assert len(name) == 58  # the spec's figure: room for the full UUID
    parsed = _lock.parse_application_name(name)
    assert parsed is not None
    assert parsed.app_id == APP
    assert not parsed.truncated


def test_exactly_63_characters_with_whole_uuid_is_not_truncated() -> None:
    name = chainlink_name("1.11.0-rc.1", APP)
    assert len(name) == 63
    parsed = _lock.parse_application_name(name)
    assert parsed is not None
    assert (parsed.app_id, parsed.truncated) == (APP, False)


@pytest.mark.parametrize(
    ("full", "seen", "expected"),
    [
        (APP, APP, True),
        (APP, APP[:20], True),
        (APP, APP.upper(), True),
        (APP, OTHER, False),
        (APP, OTHER[:20], False),
        (APP[:20], APP, False),  # a prefix never stands for a longer ID
        (None, APP, False),
        (APP, None, False),
        (APP, "", False),
    ],
)
def test_app_id_matches(full: str | None, seen: str | None, expected: bool) -> None:
    assert _lock.app_id_matches(full, seen) is expected


# -- identifiers and keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("lease_lock", ("lease_lock",)),
        ("public.lease_lock", ("public", "lease_lock")),
        ("Lease_Lock", ("lease_lock",)),
        ("_x$1", ("_x$1",)),
    ],
)
def test_parse_table_name(value: str, expected: tuple[str, ...]) -> None:
    assert _lock.parse_table_name(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('lease_lock"; DROP TABLE lease_lock; --', "not a valid name"),
        ("lease_lock; SELECT 1", "not a valid name"),
        ("a.b.c", "2 dots"),
        ("", "must be a table name"),
        ("1lease", "must start with a letter"),
        ('"Quoted"', "quoted identifiers are not supported"),
        ("public.", "not a valid name"),
        ("x" * 64, "63-character"),
    ],
)
def test_parse_table_name_rejects(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _lock.parse_table_name(value)


@pytest.mark.parametrize(
    ("key", "classid", "objid"),
    [
        (1027321974924625846, 239192036, 2840971190),  # the node's default, figures from the spec
        (0, 0, 0),
        (1, 0, 1),
        (2**32, 1, 0),
        (-1, 0xFFFFFFFF, 0xFFFFFFFF),
        (2**63 - 1, 0x7FFFFFFF, 0xFFFFFFFF),
        (-(2**63), 0x80000000, 0),
    ],
)
def test_split_advisory_key(key: int, classid: int, objid: int) -> None:
    assert _lock.split_advisory_key(key) == (classid, objid)
    assert _lock.join_advisory_key(classid, objid) == key


def test_default_key_hex() -> None:
    assert hex(_lock.DEFAULT_ADVISORY_LOCK_ID) == "0xe41c7e4a955c7b6"


@pytest.mark.parametrize("key", [2**63, -(2**63) - 1])
def test_split_advisory_key_rejects_out_of_range(key: int) -> None:
    with pytest.raises(ValueError, match="bigint range"):
        _lock.split_advisory_key(key)


# -- the lock query -------------------------------------------------------------------------------------------------

LEASE_ROW = (
    "(SELECT json_build_object('client_id', client_id, 'expires_at', expires_at,"
    " 'remaining_seconds', extract(epoch FROM expires_at - c.at), 'valid', expires_at >= c.at)"
    ' FROM "lease_lock" ORDER BY expires_at DESC LIMIT 1)'
)


def test_lock_statement_lease_only() -> None:
    statement, arguments = _lock.lock_statement("lease_lock", _lock.DEFAULT_ADVISORY_LOCK_ID)
    assert statement.startswith("SELECT json_build_object('db_now', c.at, 'lease_table_exists', to_regclass(%(lease_table)s) IS NOT NULL,")
    assert f"'lease', {LEASE_ROW}," in statement
    assert statement.endswith(
        " 'db_version', NULL::text, 'schema_version', NULL::bigint) AS report FROM pg_database d"
        " CROSS JOIN (SELECT clock_timestamp() AS at OFFSET 0) c WHERE d.datname = current_database()"
    )
    # what lock_info alone asks for is left out
    assert "login_role" not in statement and "node_versions" not in statement and "db_clock" not in statement and "expires_epoch" not in statement
    assert "goose_migrations" not in statement
    assert arguments == {"lease_table": "lease_lock", "versions_table": "node_versions", "classid": 239192036, "objid": 2840971190}


def test_lock_statement_advisory_key_is_a_bound_argument() -> None:
    statement, arguments = _lock.lock_statement("lease_lock", -1)
    assert (
        "'advisory', (SELECT json_build_object('pid', l.pid, 'application_name', a.application_name) FROM pg_locks l"
        " LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.database = d.oid"
        " AND l.classid::bigint = %(classid)s AND l.objid::bigint = %(objid)s AND l.objsubid = 1 AND l.granted LIMIT 1)"
    ) in statement
    assert (arguments["classid"], arguments["objid"]) == (0xFFFFFFFF, 0xFFFFFFFF)
    assert "4294967295" not in statement  # the key is sent as an argument, never pasted into the text
    with pytest.raises(ValueError, match="bigint range"):
        _lock.lock_statement("lease_lock", 2**63)


def test_lock_statement_without_the_lease_table_reads_no_row() -> None:
    statement, _arguments = _lock.lock_statement("lease_lock", 1, lease=False)
    assert "'lease', NULL::json," in statement
    assert '"lease_lock"' not in statement


def test_lock_statement_everything_lock_info_reads() -> None:
    statement, _arguments = _lock.lock_statement("lease_lock", 1, versions=True, access=True)
    for key in ("lease_table_readable", "versions_table_exists", "versions_table_readable", "read_all_stats", "login_role"):
        assert f"'{key}', " in statement
    assert "'db_version', (SELECT version::text FROM \"node_versions\" ORDER BY created_at DESC LIMIT 1)" in statement
    # goose's table is read only when it exists and may be read (a plain SELECT would fail the statement without it)
    assert "to_regclass(%(goose_table)s) IS NOT NULL AND has_table_privilege(to_regclass(%(goose_table)s)::oid, 'SELECT')" in statement
    assert _arguments["goose_table"] == "goose_migrations"
    assert _arguments["goose_query"] == 'SELECT max(version_id) AS m FROM "goose_migrations"'


def test_lock_statement_epochs_for_the_observer() -> None:
    statement, _arguments = _lock.lock_statement("lease_lock", 1, epochs=True)
    assert "'db_now', c.at, 'db_clock', extract(epoch FROM c.at)::float8," in statement
    # the same row as without epochs (latest expiry first), with its expiry in epoch seconds as well
    assert "'expires_at', expires_at, 'expires_epoch', extract(epoch FROM expires_at)::float8," in statement
    assert statement.count('FROM "lease_lock" ORDER BY expires_at DESC LIMIT 1') == 1


@pytest.mark.parametrize(
    ("table", "quoted", "regclass"),
    [
        ("lease_lock", '"lease_lock"', "lease_lock"),
        ("CL.Lease_Lock", '"cl"."lease_lock"', "cl.lease_lock"),  # unquoted names fold to lower case, as in SQL
        (("cl", "lease_lock"), '"cl"."lease_lock"', "cl.lease_lock"),  # parse_table_name's result
        ("x$1", '"x$1"', "x$1"),
    ],
)
def test_lock_statement_quotes_the_table(table: t.Any, quoted: str, regclass: str) -> None:
    statement, arguments = _lock.lock_statement(table, 1)
    assert f" FROM {quoted} ORDER BY expires_at DESC LIMIT 1)" in statement
    assert arguments["lease_table"] == regclass  # to_regclass() gets it as an argument


@pytest.mark.parametrize(
    "table",
    ['lease_lock" ; DROP TABLE lease_lock; --', "lease_lock; SELECT 1", ("lease_lock", 'x"y'), "a.b.c", ""],
)
def test_lock_statement_refuses_what_is_not_a_plain_name(table: t.Any) -> None:
    with pytest.raises(ValueError, match="lease_table"):
        _lock.lock_statement(table, 1)


def test_quote_identifier_doubles_quotes() -> None:
    assert _lock.quote_identifier("lease_lock") == '"lease_lock"'
    assert _lock.quote_identifier('a"b') == '"a""b"'


def test_normalize_app_id() -> None:
    assert _lock.normalize_app_id(APP.upper()) == APP
    assert _lock.normalize_app_id(f" {APP} ") == APP
    with pytest.raises(ValueError, match="not a UUID"):
        _lock.normalize_app_id("6b0e4c0e")


# -- versions -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("2.29.0", "2.28.0", 1),
        ("1.11.0", "2.0.0", -1),
        ("1.10.0", "1.9.9", 1),
        ("v2.29.0", "2.29.0", 0),
        ("2.29.0+build.7", "2.29.0", 0),
        ("2.29.0-rc1", "2.29.0", -1),
        ("2.29.0-beta.2", "2.29.0-beta.11", -1),
        ("2.29.0-beta", "2.29.0-beta.1", -1),
        ("2.29.0-alpha.1", "2.29.0-1", 1),  # numeric identifiers sort before alphanumeric ones
        ("2.29", "2.29.0", 0),
    ],
)
def test_compare_versions(first: str, second: str, expected: int) -> None:
    assert _lock.compare_versions(first, second) == expected
    assert _lock.compare_versions(second, first) == -expected


def test_compare_versions_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="'latest' is not a version"):
        _lock.compare_versions("latest", "2.29.0")


@pytest.mark.parametrize(
    ("wanted", "seen", "expected"),
    [("2.29.0", "2.29.0", True), ("v2.29.0", "2.29.0", True), ("2.29.0", "2.28.0", False), ("2.29.0", None, False), ("dev", "dev", True)],
)
def test_version_matches(wanted: str, seen: str | None, expected: bool) -> None:
    assert _lock.version_matches(wanted, seen) is expected


# -- state and report -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table_exists", "lease", "state"),
    [
        (False, None, "absent"),
        (True, None, "free"),
        (True, {"valid": True}, "held"),
        (True, {"valid": False}, "expired"),
    ],
)
def test_derive_state(table_exists: bool, lease: dict[str, t.Any] | None, state: str) -> None:
    assert _lock.derive_state(table_exists, lease) == state


def session(pid: int, name: str, start: str = "2025-11-27T05:00:00+00:00", addr: str | None = "127.0.0.1") -> dict[str, t.Any]:
    return {"pid": pid, "application_name": name, "client_addr": addr, "backend_start": start}


def raw(
    lease: dict[str, t.Any] | None = None, sessions: list[dict[str, t.Any]] | None = None, advisory: dict[str, t.Any] | None = None, table: bool = True
) -> dict[str, t.Any]:
    return {
        "db_now": "2025-11-27T05:31:00+00:00",
        "lease_table_exists": table,
        "lease": lease,
        "sessions": sessions or [],
        "advisory": advisory,
        "db_version": "2.29.0",
    }


def lease(client_id: str = APP, remaining: float = 8.5) -> dict[str, t.Any]:
    return {"client_id": client_id, "expires_at": "2025-11-27T05:31:08.5+00:00", "remaining_seconds": remaining, "valid": remaining >= 0}


def test_report_schema_version_is_an_integer_or_null() -> None:
    assert _lock.build_report(raw(), 1)["schema_version"] is None
    assert _lock.build_report({**raw(), "schema_version": 229}, 1)["schema_version"] == 229


def test_report_held_with_standby() -> None:
    sessions = [
        session(12, f"Chainlink 2.29.0 |App|{APP}", "2025-11-27T05:00:01+00:00"),
        session(11, f"Chainlink 2.29.0 |App|{APP}", "2025-11-27T05:00:00+00:00"),
        session(20, f"Chainlink 2.29.0 |App|{OTHER}", "2025-11-27T05:01:00+00:00", addr=None),
    ]
    report = _lock.build_report(raw(lease(), sessions), _lock.DEFAULT_ADVISORY_LOCK_ID)
    assert report["state"] == "held"
    assert report["lease"]["valid"] is True
    assert report["holder"] == {
        "app_id": APP,
        "version": "2.29.0",
        "application_name": f"Chainlink 2.29.0 |App|{APP}",
        "client_addr": "127.0.0.1",
        "pid": 11,  # the oldest session of the holder
        "backend_start": "2025-11-27T05:00:00+00:00",
        "locks": ["lease"],
    }
    assert report["consistent"] is True
    assert [(i["app_id"], i["connections"], i["pids"], i["holds_lease"]) for i in report["instances"]] == [(APP, 2, [11, 12], True), (OTHER, 1, [20], False)]
    assert report["advisory"] == {
        "lock_id": _lock.DEFAULT_ADVISORY_LOCK_ID,
        "classid": 239192036,
        "objid": 2840971190,
        "held": False,
        "pid": None,
        "app_id": None,
        "application_name": None,
    }


def test_report_expired_lease_has_no_holder_but_keeps_client_id() -> None:
    report = _lock.build_report(raw(lease(remaining=-3.25), [session(11, f"Chainlink 2.29.0 |App|{APP}")]), 1)
    assert report["state"] == "expired"
    assert report["holder"] is None
    assert report["lease"]["client_id"] == APP
    assert report["lease"]["remaining_seconds"] == -3.25
    assert report["instances"][0]["holds_lease"] is False


def test_report_holder_not_visible() -> None:
    report = _lock.build_report(raw(lease(), [session(20, f"Chainlink 2.29.0 |App|{OTHER}")]), 1)
    assert report["state"] == "held"
    assert report["holder"] is None
    assert report["lease"]["client_id"] == APP


def test_report_truncated_names_resolve_to_the_lease_holder() -> None:
    version = "2.29.0-beta.20251020.abcdef"
    sessions = [session(11, chainlink_name(version, APP)), session(12, chainlink_name(version, APP, "EventBroadcaster"))]
    report = _lock.build_report(raw(lease(), sessions), 1)
    assert report["holder"] is not None
    assert report["holder"]["app_id"] == APP
    assert report["holder"]["version"] == version
    assert len(report["instances"]) == 1
    assert report["instances"][0]["app_id"] == APP
    assert report["instances"][0]["connections"] == 2


def test_report_truncated_standby_keeps_its_prefix() -> None:
    version = "2.29.0-beta.20251020.abcdef"
    report = _lock.build_report(raw(lease(), [session(11, f"Chainlink 2.29.0 |App|{APP}"), session(20, chainlink_name(version, OTHER))]), 1)
    assert [i["app_id"] for i in report["instances"]] == [APP, OTHER[:20]]


def test_report_dual_mode_consistent_and_not() -> None:
    sessions = [session(11, f"Chainlink 1.11.0 |App|{APP}"), session(13, f"Chainlink 1.11.0 |App|{APP}"), session(20, f"Chainlink 1.11.0 |App|{OTHER}")]
    same = _lock.build_report(raw(lease(), sessions, {"pid": 13, "application_name": f"Chainlink 1.11.0 |App|{APP}"}), 1)
    assert same["consistent"] is True
    assert same["advisory"]["app_id"] == APP
    assert same["holder"] is not None
    assert same["holder"]["pid"] == 13  # the advisory session is the one to show
    assert same["holder"]["locks"] == ["lease", "advisory"]
    assert same["holder_app_id"] == APP
    assert same["instances"][0]["holds_advisory"] is True
    other = _lock.build_report(raw(lease(), sessions, {"pid": 20, "application_name": f"Chainlink 1.11.0 |App|{OTHER}"}), 1)
    assert other["consistent"] is False
    assert [(i["app_id"], i["holds_lease"], i["holds_advisory"]) for i in other["instances"]] == [(APP, True, False), (OTHER, False, True)]
    stranger = _lock.build_report(raw(lease(), sessions, {"pid": 99, "application_name": "psql"}), 1)
    assert stranger["consistent"] is False
    assert stranger["advisory"]["app_id"] is None


def test_report_only_advisory_in_use_is_consistent() -> None:
    report = _lock.build_report(raw(None, [session(20, f"Chainlink 1.11.0 |App|{OTHER}")], {"pid": 20, "application_name": "x"}, table=False), 1)
    assert report["state"] == "absent"
    assert report["advisory"]["held"] is True
    assert report["consistent"] is True
    # a session that is not a Chainlink instance cannot be the pair's holder
    assert report["holder"] is None
    assert report["holder_app_id"] is None


def test_report_advisorylock_mode_names_the_advisory_holder() -> None:
    sessions = [
        session(20, f"Chainlink 1.2.1 |App|{OTHER}", "2025-11-27T05:00:00+00:00"),
        session(21, f"Chainlink 1.2.1 |App|{OTHER}", "2025-11-27T05:00:02+00:00", addr="127.0.0.2"),
        session(30, f"Chainlink 1.2.1 |App|{APP}", "2025-11-27T05:01:00+00:00"),
    ]
    # an expired lease row left from an earlier lease-mode run does not count
    report = _lock.build_report(raw(lease(APP, remaining=-30), sessions, {"pid": 21, "application_name": f"Chainlink 1.2.1 |App|{OTHER}"}), 1)
    assert report["state"] == "expired"
    assert report["holder_app_id"] == OTHER
    assert report["holder"] == {
        "app_id": OTHER,
        "version": "1.2.1",
        "application_name": f"Chainlink 1.2.1 |App|{OTHER}",
        "client_addr": "127.0.0.2",
        "pid": 21,  # the session holding the key, not the oldest
        "backend_start": "2025-11-27T05:00:02+00:00",
        "locks": ["advisory"],
    }
    assert report["consistent"] is True
    assert [(i["app_id"], i["holds_lease"], i["holds_advisory"]) for i in report["instances"]] == [(OTHER, False, True), (APP, False, False)]


def test_report_advisory_holder_with_a_cut_name_is_a_prefix() -> None:
    version = "1.2.1-beta.20251020.abcdefabcdef"
    report = _lock.build_report(raw(None, [session(20, chainlink_name(version, OTHER))], {"pid": 20, "application_name": chainlink_name(version, OTHER)}), 1)
    assert OTHER.startswith(report["holder_app_id"]) and report["holder_app_id"] != OTHER
    assert _lock.wait_satisfied("holder", report, OTHER)
    assert not _lock.wait_satisfied("holder_changed", report, OTHER)
    assert _lock.wait_satisfied("holder_changed", report, APP)


@pytest.mark.parametrize(
    ("valid", "client_id", "advisory_held", "advisory_app_id", "app_id", "expected"),
    [
        (True, APP, True, APP, APP, ["lease", "advisory"]),
        (True, APP, False, None, APP, ["lease"]),
        (False, APP, True, APP, APP, ["advisory"]),
        (True, APP, True, OTHER, APP, ["lease"]),
        (True, APP, True, OTHER, OTHER, ["advisory"]),
        (False, None, False, None, APP, []),
    ],
)
def test_held_locks(valid: bool, client_id: str | None, advisory_held: bool, advisory_app_id: str | None, app_id: str, expected: list[str]) -> None:
    assert _lock.held_locks(valid, client_id, advisory_held, advisory_app_id, app_id) == expected


def test_outdated_instances() -> None:
    sessions = [session(11, f"Chainlink 2.28.0 |App|{APP}"), session(20, f"Chainlink 2.29.0 |App|{OTHER}")]
    report = _lock.build_report(raw(None, sessions), 1)
    assert [i["app_id"] for i in _lock.outdated_instances(report)] == [APP]


# -- waiting --------------------------------------------------------------------------------------------------------


def report_for(lease_row: dict[str, t.Any] | None, sessions: list[dict[str, t.Any]], advisory: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    return _lock.build_report(raw(lease_row, sessions, advisory), 1)


PAIR = [session(11, f"Chainlink 2.29.0 |App|{APP}"), session(20, f"Chainlink 2.28.0 |App|{OTHER}")]


@pytest.mark.parametrize(
    ("condition", "lease_row", "advisory", "app_id", "version", "expected"),
    [
        ("held", lease(), None, None, None, True),
        ("held", lease(remaining=-1), None, None, None, False),
        ("held", None, None, None, None, False),
        ("held", lease(), {"pid": 20, "application_name": f"Chainlink 2.28.0 |App|{OTHER}"}, None, None, False),  # dual mode, split
        ("free", lease(remaining=-1), None, None, None, True),
        ("free", None, None, None, None, True),
        ("free", lease(), None, None, None, False),
        ("free", lease(remaining=-1), {"pid": 20, "application_name": "x"}, None, None, False),
        ("holder", lease(), None, APP, None, True),
        ("holder", lease(), None, OTHER, None, False),
        ("holder", lease(), None, None, "2.29.0", True),
        ("holder", lease(), None, APP, "2.28.0", False),
        ("holder", lease(remaining=-1), None, APP, None, False),
        ("holder_changed", lease(), None, OTHER, None, True),
        ("holder_changed", lease(), None, APP, None, False),
        ("holder_changed", lease(OTHER, remaining=-1), None, APP, None, False),  # expired is not a new holder
        # 1.x advisorylock mode: no valid lease, the advisory key's session is the holder
        ("held", None, {"pid": 20, "application_name": f"Chainlink 2.28.0 |App|{OTHER}"}, None, None, True),
        ("holder", None, {"pid": 20, "application_name": f"Chainlink 2.28.0 |App|{OTHER}"}, OTHER, "2.28.0", True),
        ("holder", lease(remaining=-1), {"pid": 20, "application_name": f"Chainlink 2.28.0 |App|{OTHER}"}, APP, None, False),
        ("holder_changed", None, {"pid": 20, "application_name": f"Chainlink 2.28.0 |App|{OTHER}"}, APP, None, True),
        ("holder_changed", None, {"pid": 20, "application_name": f"Chainlink 2.28.0 |App|{OTHER}"}, OTHER, None, False),
        ("holder_changed", None, None, APP, None, False),
        ("connected", None, None, OTHER, None, True),
        ("connected", None, None, None, "2.28.0", True),
        ("connected", None, None, OTHER, "2.29.0", False),
        ("connected", None, None, "11111111-2222-3333-4444-555555555555", None, False),
    ],
)
def test_wait_satisfied(
    condition: str, lease_row: dict[str, t.Any] | None, advisory: dict[str, t.Any] | None, app_id: str | None, version: str | None, expected: bool
) -> None:
    assert _lock.wait_satisfied(condition, report_for(lease_row, PAIR, advisory), app_id, version) is expected


def test_wait_connected_matches_truncated_prefix() -> None:
    report = report_for(None, [session(20, chainlink_name("2.29.0-beta.20251020.abcdef", OTHER))])
    assert _lock.wait_satisfied("connected", report, OTHER)


def test_wait_satisfied_rejects_unknown_condition() -> None:
    with pytest.raises(ValueError, match="unknown wait_for condition 'nope'"):
        _lock.wait_satisfied("nope", report_for(None, []))


@pytest.mark.parametrize(
    ("condition", "lease_row", "sessions", "app_id", "advice"),
    [
        ("held", None, [], None, "No Chainlink instance is connected"),
        ("held", None, PAIR, None, "none holds the lease"),
        ("free", lease(), PAIR, None, f"Stop the holder {APP} gracefully"),
        ("holder_changed", lease(), PAIR[:1], APP, "no standby is connected"),
        ("holder_changed", lease(), PAIR, APP, "stop it gracefully (SIGTERM)"),
        ("holder_changed", lease(remaining=-1), PAIR, APP, "has not taken the lease yet"),
        ("holder", lease(), PAIR[:1], OTHER, "not connected"),
        ("holder", lease(), PAIR, OTHER, f"{APP} holds the lock"),
        ("connected", None, [], OTHER, "DATABASE_URL"),
    ],
)
def test_wait_advice(condition: str, lease_row: dict[str, t.Any] | None, sessions: list[dict[str, t.Any]], app_id: str | None, advice: str) -> None:
    assert advice in _lock.wait_advice(condition, report_for(lease_row, sessions), app_id)


def test_wait_advice_for_split_dual_mode_names_the_advisory_pid() -> None:
    report = report_for(lease(), PAIR, {"pid": 20, "application_name": f"Chainlink 2.28.0 |App|{OTHER}"})
    assert "pid 20" in _lock.wait_advice("held", report)


def test_describe_state() -> None:
    text = _lock.describe_state(report_for(lease(), PAIR))
    assert f"the lease is held by {APP} (version 2.29.0, pid 11), 8.5s left" in text
    assert f"connected instances: {APP} (2.29.0), {OTHER} (2.28.0)" in text
    assert "expired 3.0s ago" in _lock.describe_state(report_for(lease(remaining=-3), []))
    assert "no lease table" in _lock.describe_state(_lock.build_report(raw(table=False), 1))


def test_preconditions_of_stopping_the_active_instance() -> None:
    """Stopping the active instance needs the standby connected on the target version and holding nothing."""
    sessions = [session(11, f"Chainlink 2.28.0 |App|{APP}"), session(20, f"Chainlink 2.29.0 |App|{OTHER}")]
    report = _lock.build_report(raw(lease(), sessions), _lock.DEFAULT_ADVISORY_LOCK_ID)
    assert _lock.precondition_problems(report, waiting=OTHER, version="2.29.0") == []
    assert _lock.precondition_problems(report, waiting=OTHER, version="2.30.0") == [f"the standby {OTHER} is connected with version 2.29.0, not 2.30.0"]
    alone = _lock.build_report(raw(lease(), sessions[:1]), _lock.DEFAULT_ADVISORY_LOCK_ID)
    assert _lock.precondition_problems(alone, waiting=OTHER) == [f"the standby {OTHER} is not connected to the database"]
    # the standby already holds the lease: it is no standby, and the planned stop is not the handover it was planned as
    taken = _lock.build_report(raw(lease(OTHER), sessions), _lock.DEFAULT_ADVISORY_LOCK_ID)
    assert _lock.precondition_problems(taken, waiting=OTHER) == [f"the standby {OTHER} holds the lock already (it is not waiting)"]
    # the advisory-lock bridge: the dual standby took the free lease and waits for the advisory key the active holds
    bridge = _lock.build_report(raw(lease(OTHER), sessions, {"pid": 11, "application_name": f"Chainlink 2.28.0 |App|{APP}"}), _lock.DEFAULT_ADVISORY_LOCK_ID)
    assert bridge["consistent"] is False
    assert _lock.precondition_problems(bridge, waiting=OTHER, version="2.29.0") == []
    # holding the advisory key makes it the active one in any mode
    advisory = _lock.build_report(
        raw(None, sessions, {"pid": 20, "application_name": f"Chainlink 2.29.0 |App|{OTHER}"}, table=False), _lock.DEFAULT_ADVISORY_LOCK_ID
    )
    assert _lock.precondition_problems(advisory, waiting=OTHER) == [f"the standby {OTHER} holds the lock already (it is not waiting)"]


def test_preconditions_of_restarting_or_removing_an_instance() -> None:
    """Restarting or removing an instance needs it to hold neither lock now; an expired lease is no hold."""
    sessions = [session(11, f"Chainlink 2.29.0 |App|{APP}")]
    held = _lock.build_report(raw(lease(), sessions), _lock.DEFAULT_ADVISORY_LOCK_ID)
    assert _lock.precondition_problems(held, not_holder=APP) == [f"{APP} holds the lock now"]
    assert _lock.precondition_problems(held, not_holder=OTHER) == []
    expired = _lock.build_report(raw(lease(remaining=-1.0), sessions), _lock.DEFAULT_ADVISORY_LOCK_ID)
    assert _lock.precondition_problems(expired, not_holder=APP) == []
    # 1.x advisorylock mode: the session holding the advisory key is the holder
    advisory = _lock.build_report(raw(None, sessions, {"pid": 11, "application_name": f"Chainlink 2.29.0 |App|{APP}"}, table=False), 1)
    assert _lock.precondition_problems(advisory, not_holder=APP) == [f"{APP} holds the lock now"]
