# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""Strict TOML decoding as the node's decoder does it (``DisallowUnknownFields``): every key must be known and typed.

The known keys are data, one file per version family in ``data/`` (``config-2.x.toml``, ``config-1.11.toml``,
``config-1.10.toml``, ``secrets-2.x.toml``, ``secrets-1.x.toml``): each key is written with its default or example
value, whose TOML type is the key's type; a string value that parses as a Go duration makes the key a duration, and one
that is an IPv4 address makes it a ``net.IP`` (``ListenIP``: decoded by ``UnmarshalText``, empty allowed), and one that
is a size with a unit (``5120mb``) makes it a ``utils.FileSize`` (``Log.File.MaxSize``; a bare number stays a string,
as a chain ID looks the same). A table
whose only key is ``*`` is a map; ``[_sim] opaque`` names the top-level arrays of tables (the chains) that are accepted
without checking their content. A new key is a data change.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
import typing as t
from pathlib import Path

from .config import ConfigError, go_ip_string, parse_go_duration
from .version import Behaviour

DATA_DIR = Path(__file__).with_name("data")
# utils.FileSize's UnmarshalText: the trimmed, lower-cased text must be one number with an optional unit, nothing else
FILE_SIZE = re.compile(r"([0-9]+\.?[0-9]*)(tb|gb|mb|kb|b)?")
FILE_SIZE_WITH_UNIT = re.compile(r"[0-9]+\.?[0-9]*(tb|gb|mb|kb)")


@dataclasses.dataclass(frozen=True)
class Spec:
    """What a key may hold: a scalar kind, a table of specs, a map or a list of tables of one spec, or anything."""

    kind: str  # string | duration | ip | filesize | integer | float | boolean | array | table | map | tables | opaque
    fields: dict[str, Spec] = dataclasses.field(default_factory=dict)
    item: Spec | None = None


def _spec(value: t.Any) -> Spec:
    if isinstance(value, dict):
        if set(value) == {"*"}:
            return Spec("map", item=_spec(value["*"]))
        return Spec("table", fields={key: _spec(sub) for key, sub in value.items()})
    if isinstance(value, list):
        if value and all(isinstance(entry, dict) for entry in value):
            return Spec("tables", item=_spec(value[0]))
        return Spec("array")
    if isinstance(value, bool):
        return Spec("boolean")
    if isinstance(value, int):
        return Spec("integer")
    if isinstance(value, float):
        return Spec("float")
    try:
        parse_go_duration(value)
    except ValueError:
        if value.count(".") == 3 and go_ip_string(value) is not None:
            return Spec("ip")
        return Spec("filesize") if FILE_SIZE_WITH_UNIT.fullmatch(value) else Spec("string")
    return Spec("duration")


def spec_from_text(text: str) -> Spec:
    """The spec of a schema data file (also accepts a real ``core.toml``, whose example values give the types)."""
    tree = tomllib.loads(text)
    sim = tree.pop("_sim", {})
    root = _spec(tree)
    for name in sim.get("opaque", []):
        root.fields[name] = Spec("opaque")
    return root


@functools.cache
def load_spec(name: str) -> Spec:
    return spec_from_text((DATA_DIR / name).read_text(encoding="utf-8"))


def spec_names(behaviour: Behaviour) -> tuple[str, str]:
    """The (config, secrets) data files of the emulated version."""
    if not behaviour.is_v1:
        return "config-2.x.toml", "secrets-2.x.toml"
    return ("config-1.11.toml" if behaviour.toml_lock_has_enabled else "config-1.10.toml"), "secrets-1.x.toml"


_TOML_TYPE = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}


def _toml_type(value: t.Any) -> str:
    for py, name in _TOML_TYPE.items():
        if type(value) is py:
            return name
    return type(value).__name__


class _Checker:
    def __init__(self) -> None:
        self.missing: list[str] = []
        self.type_errors: list[str] = []

    def wrong(self, path: str, value: t.Any, spec: Spec) -> None:
        want = {"tables": "array of tables", "opaque": "array of tables", "map": "table", "ip": "net.IP"}.get(spec.kind, spec.kind)
        self.type_errors.append(f"toml: cannot decode TOML {_toml_type(value)} into {path} (expects {want})")

    def check(self, value: t.Any, spec: Spec, path: str) -> None:
        kind = spec.kind
        if kind == "table":
            if not isinstance(value, dict):
                self.wrong(path, value, spec)
                return
            for key, sub in value.items():
                sub_path = f"{path}.{key}" if path else key
                if key not in spec.fields:
                    self.missing.append(sub_path)
                else:
                    self.check(sub, spec.fields[key], sub_path)
        elif kind == "map":
            if not isinstance(value, dict):
                self.wrong(path, value, spec)
                return
            assert spec.item is not None
            for key, sub in value.items():
                self.check(sub, spec.item, f"{path}.{key}")
        elif kind in ("tables", "opaque"):
            if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
                self.wrong(path, value, spec)
                return
            if kind == "tables":
                assert spec.item is not None
                for index, entry in enumerate(value):
                    self.check(entry, spec.item, f"{path}[{index}]")
        elif kind == "duration":
            if not isinstance(value, str):
                self.wrong(path, value, spec)
                return
            try:
                parse_go_duration(value)
            except ValueError as exc:
                self.type_errors.append(f"toml: {path}: {exc}")
        elif kind == "filesize":
            if not isinstance(value, str):
                self.wrong(path, value, spec)
            elif not FILE_SIZE.fullmatch(value.strip().lower()):
                self.type_errors.append(f'toml: {path}: bad filesize expression: "{value}"')
        elif kind == "ip":
            # net.IP's UnmarshalText: empty is a nil IP; anything else must be what net.ParseIP reads
            if not isinstance(value, str):
                self.wrong(path, value, spec)
            elif value and go_ip_string(value) is None:
                self.type_errors.append(f"toml: invalid IP address: {value}")
        elif kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.wrong(path, value, spec)
        elif kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                self.wrong(path, value, spec)
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.wrong(path, value, spec)
        elif kind == "string":
            if not isinstance(value, str):
                self.wrong(path, value, spec)
        elif kind == "array" and not isinstance(value, list):
            self.wrong(path, value, spec)


def strict_errors(tree: dict[str, t.Any], spec: Spec) -> str | None:
    """The decoder's error for ``tree``, or None: the first type error, else every unknown key (strict mode)."""
    checker = _Checker()
    checker.check(tree, spec, "")
    if checker.type_errors:
        return checker.type_errors[0]
    if checker.missing:
        listed = "".join(f"\n\t{key}: missing field (unknown key: remove it or fix its spelling)" for key in checker.missing)
        return f"strict mode: fields in the document are missing in the target struct:{listed}"
    return None


def check_strict(tree: dict[str, t.Any], spec_name: str, what: str) -> None:
    """Raise ``ConfigError`` (exit 1, before the database is touched) when ``tree`` would not decode."""
    problem = strict_errors(tree, load_spec(spec_name))
    if problem is not None:
        raise ConfigError(f"failed to decode {what} TOML: {problem}")
