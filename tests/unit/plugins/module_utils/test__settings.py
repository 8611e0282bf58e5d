# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""_settings: the one reader of what differs between two versions of a file or an environment, by name only."""

from __future__ import annotations

import importlib.util
import sys
import typing as t

import pytest

from ansible_collections.nodeops.chainlink.plugins.module_utils import _settings
from ansible_collections.nodeops.chainlink.plugins.module_utils._settings import env_changes, file_changes, files_changes, value_changes

CONFIG = '[Log]\nLevel = "info"\n\n[[EVM]]\nChainID = "1"\n'


@pytest.mark.parametrize(
    ("current", "desired", "expected"),
    [
        ({"A": 1}, {"A": 1}, []),
        ({"A": 1}, {"A": 1.0}, ["A"]),  # a type change is a change
        ({"A": 1}, {"B": 1}, ["A", "B"]),
        ({"T": {"x": 1, "y": 2}}, {"T": {"x": 1, "y": 3}}, ["T.y"]),
        ({"T": [{"a": 1}]}, {"T": [{"a": 2}]}, ["T[0].a"]),
        ({"T": [{"a": 1}]}, {"T": [{"a": 1}, {"a": 2}]}, ["T"]),  # another length: the list, not its elements
        ({"dotted.key": 1}, {"dotted.key": 2}, ['"dotted.key"']),
        (1, 2, ["(whole file)"]),
    ],
)
def test_value_changes_name_dotted_paths(current: t.Any, desired: t.Any, expected: list[str]) -> None:
    assert value_changes(current, desired) == expected


@pytest.mark.parametrize(
    ("name", "current", "desired", "expected"),
    [
        ("config.toml", CONFIG, CONFIG, []),
        ("config.toml", CONFIG, CONFIG.replace("info", "debug"), ["config.toml: Log.Level"]),
        ("config.toml", CONFIG, "# managed\n" + CONFIG, ["config.toml: layout only"]),
        ("config.toml", None, CONFIG, ["config.toml"]),  # new
        ("secrets.toml", "not [toml", CONFIG, ["secrets.toml"]),  # does not parse
        (".api", "a@b\nold\n", "a@b\nnew\n", [".api"]),  # not TOML
        (".api", "same", "same", []),
    ],
)
def test_file_changes(name: str, current: str | None, desired: str, expected: list[str]) -> None:
    assert file_changes(name, current, desired) == expected


def test_files_changes_go_by_file_name_and_never_show_a_value() -> None:
    current = {"secrets.toml": '[Database]\nURL = "postgresql://u:old-Passw0rd@h/db"\n', "config.toml": CONFIG}
    desired = {"secrets.toml": '[Database]\nURL = "postgresql://u:new-Passw0rd@h/db"\n', "config.toml": CONFIG.replace("info", "warn"), ".api": "x"}
    changes = files_changes(current, desired)
    assert changes == [".api", "config.toml: Log.Level", "secrets.toml: Database.URL"]
    assert "Passw0rd" not in " ".join(changes)


def test_env_changes_name_the_variables_the_container_lacks_or_holds_otherwise() -> None:
    assert env_changes(["A=1", "B=2", "PATH=/bin"], {"A": 1, "B": "3", "C": "x"}) == ["env: B", "env: C"]


def test_without_a_toml_reader_a_changed_toml_file_is_named_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_settings, "HAS_TOMLLIB", False)
    assert file_changes("config.toml", CONFIG, CONFIG.replace("info", "debug")) == ["config.toml"]
    assert file_changes("config.toml", CONFIG, CONFIG) == []


def test_imports_where_tomllib_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.10 has no tomllib: the file still imports (a fresh copy, loaded while the import fails)."""
    monkeypatch.setitem(sys.modules, "tomllib", None)  # None in sys.modules makes `import tomllib` raise ImportError
    spec = importlib.util.spec_from_file_location("settings_without_tomllib", _settings.__file__)
    assert spec is not None and spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    assert copy.HAS_TOMLLIB is False
    assert copy.file_changes("secrets.toml", CONFIG, CONFIG.replace("info", "debug")) == ["secrets.toml"]
