# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""What differs between two versions of an instance's files or environment, by name and never by value.

One reader for the filter setting_changes (the plan's environment, and any pair of texts) and the module node_files
(the files it writes): ``config.toml: Log.Level`` per TOML key, the file name for any other file.
Python 3.10 has no TOML reader (tomllib is 3.11+): there a changed TOML file is named as a whole.
"""

from __future__ import annotations

import typing as t

try:
    import tomllib  # type: ignore[import-not-found,unused-ignore]  # the Python 3.10 check (nodeops lint) finds none
except ImportError:  # Python 3.10: the files are still compared, only not key by key
    HAS_TOMLLIB = False
else:
    HAS_TOMLLIB = True

# The files the node role writes as TOML; the others (.password, .api) are compared as a whole
TOML_FILES = ("config.toml", "secrets.toml")


def _key(part: str) -> str:
    return part if part.replace("_", "").replace("-", "").isalnum() else f'"{part}"'


def value_changes(current: t.Any, desired: t.Any, path: str = "") -> list[str]:
    """Dotted paths below ``path`` whose value differs (tables recursed into, arrays of tables element by element)."""
    if isinstance(current, dict) and isinstance(desired, dict):
        out: list[str] = []
        for name in sorted(set(current) | set(desired)):
            sub = f"{path}.{_key(name)}" if path else _key(name)
            if name not in current or name not in desired:
                out.append(sub)
            else:
                out.extend(value_changes(current[name], desired[name], sub))
        return out
    tables = isinstance(current, list) and isinstance(desired, list) and all(isinstance(x, dict) for x in current + desired)
    if tables and current and desired and len(current) == len(desired):
        return [change for index, pair in enumerate(zip(current, desired, strict=True)) for change in value_changes(*pair, f"{path}[{index}]")]
    return [] if current == desired and type(current) is type(desired) else [path or "(whole file)"]


def _toml_keys(current: str, desired: str) -> list[str] | None:
    """The keys that differ between two TOML texts, or None when either does not parse (or no reader exists)."""
    if not HAS_TOMLLIB:
        return None
    try:
        return value_changes(tomllib.loads(current), tomllib.loads(desired))
    except tomllib.TOMLDecodeError:
        return None


def file_changes(name: str, current: str | None, desired: str) -> list[str]:
    """The keys of one file that differ, as ``<file>: <key>``; the file alone when it is new or not TOML."""
    if current == desired:
        return []
    if current is None or name not in TOML_FILES:
        return [name]
    keys = _toml_keys(current, desired)
    if keys is None:
        return [name]
    return [f"{name}: {key}" for key in keys] or [f"{name}: layout only"]


def files_changes(current: t.Mapping[str, str], desired: t.Mapping[str, str]) -> list[str]:
    """``file_changes`` of every file in ``desired``, in file name order (a file missing from ``current`` is new)."""
    return [change for name in sorted(desired) for change in file_changes(name, current.get(name), desired[name])]


def env_changes(current: t.Iterable[str], desired: t.Mapping[str, t.Any]) -> list[str]:
    """``env: NAME`` for every variable of ``desired`` that the container lacks or holds with another value."""
    running = dict(entry.partition("=")[::2] for entry in current)
    return [f"env: {name}" for name in sorted(desired) if running.get(str(name)) != str(desired[name])]
