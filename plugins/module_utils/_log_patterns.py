# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""Pure log-line logic for log_wait: the node's message presets, line parsing (JSON, console, plain) and matching.

Nothing here does I/O, so every rule is unit-tested with plain strings.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing as t

# The node's messages (chainlink-node.md section 5), matched against the parsed message with re.search.
# Each preset covers 1.x and 2.x: the lease lines exist in both, the advisory-lock lines only in 1.x.
PRESETS: dict[str, tuple[str, ...]] = {
    "standby_waiting": (
        r"^Another application is currently holding the database lease\b.*waiting for lease to expire",
        r"^Another application holds the advisory lock, waiting",
    ),
    "booted": (r"^Chainlink booted in \d+(?:\.\d+)?s",),
    # Up to v2.2.x "... on port 6688"; from v2.3.0 "... on 0.0.0.0:6688".
    "http_listening": (r"^Listening and serving HTTP on (?:port \d+|\S+:\d+)",),
    "lease_lost": (
        # v1.1.x ends the line at "exiting"; "immediately" follows from v1.2.0
        r"^Another node has taken the lease, exiting\b",
        r"^Another node has taken the advisory lock, exiting immediately",
    ),
    "shutdown": (
        r"^Shutting down due to \w+ signal received",
        r"^Shutdown grace period of \S+ exceeded",
        # Printed through Go's standard log package, so the line carries that package's own date prefix.
        r"Graceful shutdown time: ",
    ),
}

MATCH_ON = ("msg", "line")

# CSI sequences (colours, cursor movement), OSC strings (titles, links) and the two-byte escapes.
_ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-~])")

# The node's "pretty console" line: RFC3339 timestamp, [LEVEL] padded to 8, message padded to 50, caller padded
# to 32, then sorted key=value pairs, each followed by one space (chainlink-node.md section 5, "Format").
_CONSOLE_HEAD_RE = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))\s+\[(?P<level>[A-Za-z]+)\]\s*(?P<rest>.*)$")
_CALLER_RE = re.compile(r"\s+(?P<caller>[^\s=]+\.go:\d+)(?=\s|$)")
_KEY_RE = re.compile(r"(?:^|(?<=\s))(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)=")
_PADDING_BEFORE_KEY_RE = re.compile(r"\s{2,}(?=[A-Za-z_][A-Za-z0-9_.\-]*=)")

# Keys that the console sink shows in its head, not among the key=value pairs; left out of JSON fields as well
# so that the same entry yields the same fields in both formats.
_HEAD_KEYS = frozenset({"level", "ts", "msg", "caller"})


class PatternError(ValueError):
    """A regex or preset the user gave cannot be used; the message names it and says how to fix it."""


class ParsedLine(t.NamedTuple):  # a tuple: one is built per log line, and tuples are the cheapest to build
    """What a log line says, independent of its format."""

    msg: str  # the message matched by default (ANSI codes stripped)
    text: str  # the whole line, ANSI codes stripped (matched with match_on=line)
    level: str | None
    fields: dict[str, t.Any]
    format: str  # json, console or plain


def strip_ansi(text: str) -> str:
    return _ANSI_RE.sub("", text) if "\x1b" in text else text


def parse_console_fields(details: str) -> dict[str, str]:
    """Parse the console sink's ``key=value key2=value 2 `` tail.

    Values are printed unquoted and may contain spaces, so a value runs up to the next `` key=``; a value that itself
    contains `` word=`` is therefore split there (the console format cannot tell the two apart).
    """
    fields: dict[str, str] = {}
    keys = list(_KEY_RE.finditer(details))
    for index, found in enumerate(keys):
        end = keys[index + 1].start() if index + 1 < len(keys) else len(details)
        fields[found.group("key")] = details[found.end() : end].rstrip()
    return fields


def _parse_json(text: str) -> ParsedLine | None:
    try:
        entry = json.loads(text)
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    msg = entry.get("msg", entry.get("message"))
    level = entry.get("level")
    fields = {key: value for key, value in entry.items() if key not in _HEAD_KEYS}
    return ParsedLine(
        msg=strip_ansi(msg if isinstance(msg, str) else text),
        text=text,
        level=level.lower() if isinstance(level, str) else None,
        fields=fields,
        format="json",
    )


def _parse_console(text: str) -> ParsedLine | None:
    head = _CONSOLE_HEAD_RE.match(text)
    if head is None:
        return None
    rest = head.group("rest")
    caller = _CALLER_RE.search(rest)
    if caller is not None:
        msg, details = rest[: caller.start()], rest[caller.end() :]
    else:
        # No caller: the message's padding (two or more spaces) separates it from the first key=value pair.
        gap = _PADDING_BEFORE_KEY_RE.search(rest)
        msg, details = (rest[: gap.start()], rest[gap.end() :]) if gap else (rest, "")
    return ParsedLine(msg=msg.strip(), text=text, level=head.group("level").lower(), fields=parse_console_fields(details), format="console")


def parse_line(raw: str) -> ParsedLine:
    """Parse one log line (without Docker's timestamp).

    - a JSON object: ``msg`` (or ``message``) is the message, the other keys except level/ts/caller are the fields;
    - the node's console format: the message part between ``[LEVEL]`` and the caller, fields from ``key=value``;
    - anything else: the whole line is the message, no fields.
    """
    text = strip_ansi(raw).strip()
    if text.startswith("{"):
        parsed = _parse_json(text)
        if parsed is not None:
            return parsed
    return _parse_console(text) or ParsedLine(msg=text, text=text, level=None, fields={}, format="plain")


def compile_regex(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise PatternError(
            f"Invalid regular expression in {where}: {pattern!r}: {exc}. Fix it (Python re syntax; escape literal '(' or '.' with a backslash)."
        ) from exc


@dataclasses.dataclass(frozen=True)
class Pattern:
    """One thing to look for: a user regex (searched in msg or the whole line) or a preset (always searched in msg)."""

    label: str
    regexes: tuple[re.Pattern[str], ...]
    on_msg: bool

    def search(self, line: ParsedLine) -> bool:
        subject = line.msg if self.on_msg else line.text
        return any(regex.search(subject) for regex in self.regexes)


def preset_pattern(name: str) -> Pattern:
    if name not in PRESETS:
        raise PatternError(f"Unknown preset {name!r}: choose one of {', '.join(sorted(PRESETS))}.")
    return Pattern(label=f"preset {name}", regexes=tuple(re.compile(r) for r in PRESETS[name]), on_msg=True)


def as_string_list(value: t.Any, option: str) -> list[str]:
    """Accept one string or a list of strings (numbers are taken as text); refuse anything else.

    The options are not declared as Ansible lists because Ansible splits a plain string at commas, which would turn
    the node's own message ``taken the lease, exiting`` into two unrelated patterns.
    """
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    result: list[str] = []
    for index, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise PatternError(f"{option}[{index}] must be a string (a regular expression), got {type(item).__name__}: {item!r}.")
        result.append(str(item))
    return result


def build_patterns(regexes: list[str], presets: list[str], match_on: str) -> list[Pattern]:
    patterns = [Pattern(label=f"regex {r!r}", regexes=(compile_regex(r, f"regex[{i}]"),), on_msg=match_on == "msg") for i, r in enumerate(regexes)]
    patterns.extend(preset_pattern(name) for name in presets)
    return patterns


def build_fail_on(entries: list[str], match_on: str) -> list[Pattern]:
    """fail_on entries: a preset name means that preset, anything else is a regex."""
    return [
        preset_pattern(entry) if entry in PRESETS else Pattern(f"regex {entry!r}", (compile_regex(entry, f"fail_on[{i}]"),), match_on == "msg")
        for i, entry in enumerate(entries)
    ]


class Verdict(t.NamedTuple):
    """What one line meant: it hit a fail_on pattern, it counted towards the wait, or neither."""

    failed_by: Pattern | None = None
    matched: bool = False


_NO_MATCH = Verdict()
_MATCHED = Verdict(matched=True)


class Matcher:
    """Counts matches: ``any`` needs ``occurrences`` lines matching any pattern, ``all`` needs that many per pattern.

    A line counts once per pattern it matches. fail_on is checked first, so a line matching both ends the wait
    with failure.
    """

    def __init__(self, patterns: list[Pattern], mode: str, occurrences: int, fail_on: list[Pattern]) -> None:
        if not patterns:
            raise PatternError("Nothing to wait for: give regex or preset.")
        if mode not in ("any", "all"):
            raise PatternError(f"match must be 'any' or 'all', got {mode!r}.")
        if occurrences < 1:
            raise PatternError(f"occurrences must be at least 1, got {occurrences}.")
        self.patterns = patterns
        self.mode = mode
        self.occurrences = occurrences
        self.fail_on = fail_on
        self.counts = [0] * len(patterns)
        self.lines_matched = 0

    def feed(self, line: ParsedLine) -> Verdict:
        for pattern in self.fail_on:
            if pattern.search(line):
                return Verdict(failed_by=pattern)
        hits = [index for index, pattern in enumerate(self.patterns) if pattern.search(line)]
        if not hits:
            return _NO_MATCH
        for index in hits:
            self.counts[index] += 1
        self.lines_matched += 1
        return _MATCHED

    @property
    def done(self) -> bool:
        if self.mode == "any":
            return self.lines_matched >= self.occurrences
        return all(count >= self.occurrences for count in self.counts)

    def describe(self) -> str:
        """What the wait is for, e.g. ``any of [preset booted, regex 'x'] (2 occurrences)``."""
        labels = ", ".join(p.label for p in self.patterns)
        what = labels if len(self.patterns) == 1 else f"{self.mode} of [{labels}]"
        times = "" if self.occurrences == 1 else f" ({self.occurrences} occurrences{' each' if self.mode == 'all' and len(self.patterns) > 1 else ''})"
        return what + times

    def progress(self) -> str:
        if self.mode == "any":
            return f"{self.lines_matched} of {self.occurrences} matching lines seen"
        return ", ".join(f"{p.label}: {c} of {self.occurrences}" for p, c in zip(self.patterns, self.counts, strict=True))
