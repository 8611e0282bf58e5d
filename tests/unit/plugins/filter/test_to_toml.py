# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""to_toml: the node's config and secrets files, stable (sorted) and read back by a TOML parser as written."""

from __future__ import annotations

import tomllib
import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nodeops.chainlink.plugins.filter.to_toml import to_toml

CONFIG: dict[str, t.Any] = {
    "WebServer": {"HTTPPort": 6688, "SecureCookies": False, "TLS": {"HTTPSPort": 0}, "ListenIP": "0.0.0.0"},
    "ShutdownGracePeriod": "5s",
    "Log": {"Level": "info", "JSONConsole": True},
    "EVM": [{"ChainID": "1", "Nodes": [{"Name": "a", "WSURL": 'wss://x"y\\z'}, {"Name": "b", "SendOnly": True}]}, {"ChainID": "5"}],
}


def test_layout_scalars_then_tables_then_arrays_of_tables_each_sorted() -> None:
    assert to_toml(CONFIG) == (
        'ShutdownGracePeriod = "5s"\n'
        "\n[Log]\n"
        'JSONConsole = true\nLevel = "info"\n'
        "\n[WebServer]\n"
        'HTTPPort = 6688\nListenIP = "0.0.0.0"\nSecureCookies = false\n'
        "\n[WebServer.TLS]\n"
        "HTTPSPort = 0\n"
        "\n[[EVM]]\n"
        'ChainID = "1"\n'
        "\n[[EVM.Nodes]]\n"
        'Name = "a"\nWSURL = "wss://x\\"y\\\\z"\n'
        "\n[[EVM.Nodes]]\n"
        'Name = "b"\nSendOnly = true\n'
        "\n[[EVM]]\n"
        'ChainID = "5"\n'
    )


def test_a_toml_parser_reads_back_what_was_given() -> None:
    doc = {**CONFIG, "weird key": 1.5, "List": [1, 2, 3], "Inline": [{"k": "v"}, 2], "Secret": 'k"e\ny\u00e9', "Empty": []}
    assert tomllib.loads(to_toml(doc)) == doc


def test_keys_sort_case_insensitively_and_a_key_that_is_not_bare_is_quoted() -> None:
    assert to_toml({"b": 1, "A": 2, "a b": 3}) == 'A = 2\n"a b" = 3\nb = 1\n'


@pytest.mark.parametrize(("doc", "message"), [(["x"], "expects a mapping"), ({"Log": {"Level": None}}, "Log.Level is NoneType")])
def test_what_toml_cannot_hold_is_named(doc: t.Any, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        to_toml(doc)


# Every character the node can be given: beyond the Basic Multilingual Plane, every control character, DEL, quotes.
TEXTS = [
    "emoji \U0001f600 and math \U0001d400",
    "".join(chr(c) for c in range(0x20)) + "\x7f",
    'quote " backslash \\ tab \t',
    "BMP é ü 中文 \u2028 \ufeff",
    "\U0010ffff",
]


@pytest.mark.parametrize("text", TEXTS)
def test_a_toml_parser_reads_back_any_text(text: str) -> None:
    doc = {"Secret": text, text: 1, "Table": {text: [text]}, "Tables": [{"Name": text}]}
    assert tomllib.loads(to_toml(doc)) == doc


def test_beyond_the_basic_plane_is_one_escape_and_the_basic_plane_is_written_as_before() -> None:
    assert to_toml({"K": "\U0001f600"}) == 'K = "\\U0001f600"\n'
    assert to_toml({"K": "é\x7f\x00"}) == 'K = "\\u00e9\\u007f\\u0000"\n'  # as json.dumps wrote it: files stay the same


def test_a_lone_surrogate_is_refused_by_name() -> None:
    with pytest.raises(AnsibleFilterError, match="EVM.Name holds U[+]D83D, half of a UTF-16 surrogate pair"):
        to_toml({"EVM": {"Name": "x\ud83d"}})
