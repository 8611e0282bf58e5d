# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""log_wait's pure logic: line parsing (JSON, console with and without colours, plain), presets and the matcher."""

from __future__ import annotations

import json
import typing as t

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils._log_patterns import (
    PRESETS,
    Matcher,
    ParsedLine,
    PatternError,
    as_string_list,
    build_fail_on,
    build_patterns,
    parse_console_fields,
    parse_line,
    strip_ansi,
)

WAITING = "Another application is currently holding the database lease (or a previous instance exited uncleanly), waiting for lease to expire..."
ADVISORY_WAITING = "Another application holds the advisory lock, waiting..."
ESC = "\x1b"


def console(level: str, msg: str, caller: str, fields: dict[str, t.Any], ts: str = "2026-11-27T05:40:01Z", color: bool = False) -> str:
    """A line as the node's pretty console sink prints it (chainlink-node.md section 5), optionally coloured like fatih/color."""
    tag = f"[{level.upper()}]"
    if color:
        tag_text = f"{ESC}[37m{tag:<8}{ESC}[0m"
        caller_text = f"{ESC}[34m{caller}{ESC}[0m"
        pad = " " * max(32 - len(caller), 0)
        details = "".join(f"{ESC}[36m{k}{ESC}[0m={v} " for k, v in sorted(fields.items()))
        return f"{ts} {tag_text}{msg:<50} {caller_text}{pad}{details}"
    details = "".join(f"{k}={v} " for k, v in sorted(fields.items()))
    return f"{ts} {tag:<8}{msg:<50} {caller:<32}{details}"


def as_json(level: str, msg: str, caller: str, fields: dict[str, t.Any]) -> str:
    return json.dumps({"level": level, "ts": "2026-11-27T05:40:01.123Z", "logger": "RunNode.LockedDB.LeaseLock", "caller": caller, "msg": msg, **fields})


# --- parsing ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("color", [False, True], ids=["plain", "ansi"])
def test_console_line_gives_message_level_and_fields(color: bool) -> None:
    fields = {"appID": "8f0c1d5e-3b4a", "logger": "RunNode", "tryCount": 4, "version": "2.29.0@abcdef1"}
    line = console("info", WAITING, "pg/lease_lock.go:192", fields, color=color)
    parsed = parse_line(line)
    assert parsed.format == "console"
    assert parsed.msg == WAITING  # longer than the 50-character padding
    assert parsed.level == "info"
    assert parsed.fields == {"appID": "8f0c1d5e-3b4a", "logger": "RunNode", "tryCount": "4", "version": "2.29.0@abcdef1"}
    assert ESC not in parsed.text


def test_console_short_message_keeps_inner_spaces_and_drops_padding() -> None:
    parsed = parse_line(console("info", "Chainlink booted in 2.51s", "cmd/shell_local.go:412", {"appID": "a-1"}))
    assert parsed.msg == "Chainlink booted in 2.51s"
    assert parsed.fields == {"appID": "a-1"}


def test_console_values_with_spaces_run_to_the_next_key() -> None:
    parsed = parse_line(
        console(
            "warn",
            "DB connection was unexpectedly closed; checking out a new one",
            "pg/lease_lock.go:201",
            {"err": "driver: bad connection (retry later)", "logger": "x"},
        )
    )
    assert parsed.level == "warn"
    assert parsed.fields == {"err": "driver: bad connection (retry later)", "logger": "x"}


def test_console_line_without_caller_splits_at_the_padding() -> None:
    parsed = parse_line("2026-11-27T05:40:01.000Z [CRIT]  Shutdown grace period of 5s exceeded, closing DB and exiting...   appID=z ")
    assert parsed.msg == "Shutdown grace period of 5s exceeded, closing DB and exiting..."
    assert parsed.level == "crit"
    assert parsed.fields == {"appID": "z"}


def test_json_line_matches_msg_and_keeps_field_types() -> None:
    parsed = parse_line(as_json("info", WAITING, "pg/lease_lock.go:192", {"tryCount": 4, "appID": "8f0c"}))
    assert parsed.format == "json"
    assert parsed.msg == WAITING
    assert parsed.level == "info"
    assert parsed.fields == {"logger": "RunNode.LockedDB.LeaseLock", "tryCount": 4, "appID": "8f0c"}


def test_json_and_console_give_the_same_field_names() -> None:
    fields = {"appID": "a-1", "logger": "RunNode"}
    from_json = parse_line(json.dumps({"level": "info", "ts": "t", "caller": "c.go:1", "msg": "m", **fields}))
    from_console = parse_line(console("info", "m", "c.go:1", fields))
    assert from_json.fields == from_console.fields == fields


@pytest.mark.parametrize(
    ("line", "msg"),
    [
        ('{"message": "other app", "level": "INFO"}', "other app"),
        ('{"no": "message key"}', '{"no": "message key"}'),
        ("[1, 2]", "[1, 2]"),
        ("{not json", "{not json"),
    ],
)
def test_json_without_msg_or_broken_json(line: str, msg: str) -> None:
    assert parse_line(line).msg == msg


@pytest.mark.parametrize(
    ("line", "msg"),
    [
        ("2026/11/27 05:40:01 Graceful shutdown time: 5s", "2026/11/27 05:40:01 Graceful shutdown time: 5s"),
        (f"  {ESC}[31mplain red text{ESC}[0m  ", "plain red text"),
        ("\tat main.go:12 in a stack trace", "at main.go:12 in a stack trace"),
        ("", ""),
    ],
)
def test_plain_lines_are_matched_whole(line: str, msg: str) -> None:
    parsed = parse_line(line)
    assert (parsed.format, parsed.msg, parsed.level, parsed.fields) == ("plain", msg, None, {})


def test_multi_line_entries_are_parsed_line_by_line() -> None:
    # An error with a stack trace: the head line is console format, the continuation lines are plain.
    lines = [console("error", "Error trying to refresh database lease", "pg/lease_lock.go:230", {"err": "timeout"}), "goroutine 1 [running]:", "\tmain.go:12"]
    parsed = [parse_line(line) for line in lines]
    assert [p.format for p in parsed] == ["console", "plain", "plain"]
    assert parsed[0].fields == {"err": "timeout"}


def test_strip_ansi_removes_colour_and_cursor_codes() -> None:
    assert strip_ansi(f"{ESC}[1;31mred{ESC}[0m {ESC}[2Kx{ESC}c{ESC}]0;title\x07!") == "red x!"


def test_parse_console_fields_handles_dots_and_dashes_in_keys() -> None:
    assert parse_console_fields("a.b=1 c-d=two words e_f= ") == {"a.b": "1", "c-d": "two words", "e_f": ""}


# --- presets ------------------------------------------------------------------------------------------------------

PRESET_CASES = [
    ("standby_waiting", WAITING, True),
    ("standby_waiting", ADVISORY_WAITING, True),
    ("standby_waiting", "Taking initial lease...", False),
    ("booted", "Chainlink booted in 2.51s", True),
    ("booted", "Chainlink booted in 12s", True),
    ("booted", "Starting Chainlink Node 2.29.0 at commit abc", False),
    ("http_listening", "Listening and serving HTTP on port 6688", True),
    ("http_listening", "Listening and serving HTTP on 0.0.0.0:6688", True),
    ("http_listening", "Listening and serving HTTPS on 0.0.0.0:6689", False),
    ("lease_lost", "Another node has taken the lease, exiting immediately", True),
    ("lease_lost", "Another node has taken the lease, exiting", True),  # v1.1.x
    ("lease_lost", "Another node has taken the advisory lock, exiting immediately", True),
    ("lease_lost", "Error trying to refresh database lease", False),
    ("shutdown", "Shutting down due to terminated signal received...", True),
    ("shutdown", "Shutting down due to interrupt signal received...", True),
    ("shutdown", "Shutdown grace period of 5s exceeded, closing DB and exiting...", True),
    ("shutdown", "2026/11/27 05:40:01 Graceful shutdown time: 5.2s", True),
    ("shutdown", "InBackupHealthReport shutdown complete", False),
]


@pytest.mark.parametrize(("preset", "msg", "hit"), PRESET_CASES)
def test_presets_on_the_nodes_messages(preset: str, msg: str, hit: bool) -> None:
    (pattern,) = build_patterns([], [preset], "msg")
    assert pattern.search(parse_line(msg)) is hit


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_presets_match_the_message_not_the_fields(fmt: str) -> None:
    # A line whose field mentions the booted text must not count: presets are anchored on msg.
    fields = {"note": "Chainlink booted in 1.00s"}
    line = as_json("info", "Something else", "a.go:1", fields) if fmt == "json" else console("info", "Something else", "a.go:1", fields)
    (pattern,) = build_patterns([], ["booted"], "line")
    assert not pattern.search(parse_line(line))


def test_every_preset_has_patterns() -> None:
    assert set(PRESETS) == {"standby_waiting", "booted", "http_listening", "lease_lost", "shutdown"}
    assert all(PRESETS.values())


# --- options and matcher ------------------------------------------------------------------------------------------


def test_string_with_commas_stays_one_pattern() -> None:
    assert as_string_list("taken the lease, exiting", "regex") == ["taken the lease, exiting"]
    assert as_string_list(["a", 5], "regex") == ["a", "5"]
    assert as_string_list(None, "regex") == []


@pytest.mark.parametrize("value", [[{"a": 1}], [None], [True]])
def test_non_string_patterns_are_refused(value: list[t.Any]) -> None:
    with pytest.raises(PatternError, match=r"regex\[0\] must be a string"):
        as_string_list(value, "regex")


def test_invalid_regex_names_the_pattern_and_its_place() -> None:
    with pytest.raises(PatternError, match=r"regex\[1\]: 'a\(b'"):
        build_patterns(["ok", "a(b"], [], "msg")
    with pytest.raises(PatternError, match=r"fail_on\[0\]: '\[x'"):
        build_fail_on(["[x"], "msg")


def test_fail_on_preset_names_are_presets_other_entries_regexes() -> None:
    preset, regex = build_fail_on(["lease_lost", "lease_lost!"], "msg")
    assert preset.label == "preset lease_lost"
    assert regex.label == "regex 'lease_lost!'"


def test_match_on_line_sees_fields_match_on_msg_does_not() -> None:
    line = parse_line(as_json("info", WAITING, "pg/lease_lock.go:192", {"tryCount": 4}))
    assert build_patterns([r'"tryCount": 4'], [], "line")[0].search(line)
    assert not build_patterns([r'"tryCount": 4'], [], "msg")[0].search(line)


def lines(*msgs: str) -> list[ParsedLine]:
    return [parse_line(m) for m in msgs]


def test_matcher_any_counts_lines() -> None:
    matcher = Matcher(build_patterns(["tick", "tock"], [], "msg"), "any", 3, [])
    verdicts = [matcher.feed(line).matched for line in lines("tick", "noise", "tock", "tick tock")]
    assert verdicts == [True, False, True, True]
    assert matcher.done
    assert matcher.lines_matched == 3  # "tick tock" counts once


def test_matcher_all_needs_each_pattern_occurrences_times() -> None:
    matcher = Matcher(build_patterns(["^a$"], ["booted"], "msg"), "all", 2, [])
    for line in lines("a", "a", "Chainlink booted in 1.00s"):
        matcher.feed(line)
    assert not matcher.done
    assert matcher.progress() == "regex '^a$': 2 of 2, preset booted: 1 of 2"
    matcher.feed(parse_line("Chainlink booted in 2.00s"))
    assert matcher.done


def test_fail_on_wins_over_a_match_on_the_same_line() -> None:
    matcher = Matcher(build_patterns(["exiting"], [], "msg"), "any", 1, build_fail_on(["lease_lost"], "msg"))
    verdict = matcher.feed(parse_line("Another node has taken the lease, exiting immediately"))
    assert verdict.failed_by is not None and verdict.failed_by.label == "preset lease_lost"
    assert not verdict.matched and not matcher.done


@pytest.mark.parametrize(
    ("patterns", "mode", "occurrences", "text"),
    [
        (["x"], "any", 1, "regex 'x'"),
        (["x", "y"], "any", 2, "any of [regex 'x', regex 'y'] (2 occurrences)"),
        (["x", "y"], "all", 3, "all of [regex 'x', regex 'y'] (3 occurrences each)"),
    ],
)
def test_describe(patterns: list[str], mode: str, occurrences: int, text: str) -> None:
    assert Matcher(build_patterns(patterns, [], "msg"), mode, occurrences, []).describe() == text


@pytest.mark.parametrize(
    ("patterns", "mode", "occurrences", "error"),
    [([], "any", 1, "Nothing to wait for"), (["x"], "some", 1, "match must be"), (["x"], "any", 0, "occurrences must be at least 1")],
)
def test_matcher_refuses_bad_settings(patterns: list[str], mode: str, occurrences: int, error: str) -> None:
    with pytest.raises(PatternError, match=error):
        Matcher(build_patterns(patterns, [], "msg"), mode, occurrences, [])
