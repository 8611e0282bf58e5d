# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style)

from __future__ import annotations

DOCUMENTATION = r"""
name: to_toml
short_description: Render a mapping as the TOML a Chainlink node reads, so that the file changes only when a value does
version_added: 0.1.0
description:
  - Keys are sorted (case-insensitively), scalars and arrays first, then C([tables]), then C([[arrays of tables]]);
    strings are TOML basic strings - quotation mark, backslash and every control character escaped, other non-ASCII
    characters as C(\uXXXX), or C(\UXXXXXXXX) beyond the Basic Multilingual Plane (never a surrogate pair, which
    TOML refuses); a key that is not bare is quoted the same way.
  - The node role renders C(config.toml) and C(secrets.toml) with it.
options:
  _input:
    description: The settings, a mapping of TOML keys to values (tables as mappings, arrays of tables as lists of mappings).
    type: dict
    required: true
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Show the TOML of some settings
  ansible.builtin.debug:
    msg: "{{ {'Log': {'Level': 'info'}, 'WebServer': {'HTTPPort': 6688}} | nodeops.chainlink.to_toml }}"
"""

RETURN = r"""
_value:
  description: The TOML document (each table after a blank line).
  type: str
"""

import re
import typing as t

from ansible.errors import AnsibleFilterError

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


# The escapes TOML's basic strings share with JSON; every other control character (U+0000-U+001F, U+007F) as \uXXXX
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(text: str, where: str) -> str:
    r"""A TOML basic string: what TOML must escape escaped, other non-ASCII characters as \uXXXX (the Basic Multilingual
    Plane, as JSON writes them, so a file written before stays the same) or \UXXXXXXXX (beyond it: JSON's surrogate
    pairs are no characters to TOML, and a parser refuses them)."""
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        elif code < 0x7F:
            out.append(char)
        elif 0xD800 <= code <= 0xDFFF:
            raise AnsibleFilterError(
                f"to_toml: {where} holds U+{code:04X}, half of a UTF-16 surrogate pair and no character, which TOML cannot hold:"
                " give the text as the characters it means"
            )
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _key(name: t.Any, where: str = "a key") -> str:
    text = str(name)
    return text if BARE_KEY.match(text) else _string(text, f"the key {where}")


def _value(value: t.Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return _string(value, where)
    if isinstance(value, t.Mapping):
        return "{ " + ", ".join(f"{_key(k, f'{where}.{k}')} = {_value(v, f'{where}.{k}')}" for k, v in _sorted(value)) + " }"
    if isinstance(value, t.Sequence):
        return "[" + ", ".join(_value(v, f"{where}[]") for v in value) + "]"
    raise AnsibleFilterError(f"to_toml: {where} is {type(value).__name__} ({value!r}), which TOML cannot hold: give a string, number, boolean, list or table")


def _sorted(table: t.Mapping[t.Any, t.Any]) -> list[tuple[t.Any, t.Any]]:
    return sorted(table.items(), key=lambda item: str(item[0]).lower())


def _kind(value: t.Any) -> str:
    if isinstance(value, t.Mapping):
        return "table"
    if isinstance(value, t.Sequence) and not isinstance(value, str) and value and all(isinstance(v, t.Mapping) for v in value):
        return "tables"
    return "value"


def _table(table: t.Mapping[t.Any, t.Any], path: list[str]) -> str:
    items = _sorted(table)
    out = [f"{_key(k, '.'.join([*path, str(k)]))} = {_value(v, '.'.join([*path, str(k)]))}\n" for k, v in items if _kind(v) == "value"]
    for k, v in items:
        if _kind(v) == "table":
            key = _key(k, ".".join([*path, str(k)]))
            out.append(f"\n[{'.'.join([*path, key])}]\n" + _table(v, [*path, key]))
    for k, v in items:
        if _kind(v) == "tables":
            key = _key(k, ".".join([*path, str(k)]))
            out.extend(f"\n[[{'.'.join([*path, key])}]]\n" + _table(item, [*path, key]) for item in v)
    return "".join(out)


def to_toml(settings: t.Any) -> str:
    """The TOML document of ``settings``."""
    if not isinstance(settings, t.Mapping):
        raise AnsibleFilterError(f"to_toml expects a mapping of TOML keys to values, got {type(settings).__name__}")
    return _table(settings, [])


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"to_toml": to_toml}
