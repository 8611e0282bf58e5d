# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one redaction: which strings are secret, and how they are masked in text and in module results."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.nodeops.chainlink.plugins.filter.redact import redact as redact_filter
from ansible_collections.nodeops.chainlink.plugins.filter.secret_values import FilterModule as SecretValuesFilter
from ansible_collections.nodeops.chainlink.plugins.module_utils._redact import MASK, redact, redact_text, secret_forms, secret_values

DB_URL = "postgresql://chainlink:db-Passw0rd-0123456@127.0.0.1:5432/cl?sslmode=disable"
RPC_WS = "wss://mainnet.example.org/ws/v3/rpc-ApiKey-9f8e7d6c"
RPC_HTTP = "https://rpcuser:rpc-Passw0rd-42@eth.example.org/"


@pytest.mark.parametrize(
    ("value", "forms"),
    [
        (DB_URL, [DB_URL, "db-Passw0rd-0123456"]),
        ("postgresql://cl:p%40ss-w0rd@db/cl", ["postgresql://cl:p%40ss-w0rd@db/cl", "p%40ss-w0rd", "p@ss-w0rd"]),
        ("postgresql://cl@db/cl?password=hunter22&sslmode=disable", ["postgresql://cl@db/cl?password=hunter22&sslmode=disable", "hunter22"]),
        ("host=db user=cl password='kv secret' dbname=cl", ["host=db user=cl password='kv secret' dbname=cl", "'kv secret'", "kv secret"]),
        ("keystore-Passw0rd-1", ["keystore-Passw0rd-1"]),
        ("", []),
        (None, []),
        (12345, []),
    ],
)
def test_secret_forms_finds_every_printable_form(value: t.Any, forms: list[str]) -> None:
    assert sorted(secret_forms(value)) == sorted(forms)


def test_secret_values_takes_every_secret_but_only_urls_and_secret_named_settings_of_a_config() -> None:
    config = {
        "EVM": [{"ChainID": "1", "Nodes": [{"Name": "primary", "WSURL": RPC_WS, "HTTPURL": RPC_HTTP}]}],
        "Log": {"Level": "info"},
        "Mercury": {"Credentials": {"feed": {"Username": "reader", "Password": "mercury-pw-77"}}},
        "Telemetry": {"AuthToken": "telemetry-token-5"},
    }
    env = {"SIM_CRASH_AT_BOOT": "1", "EXPLORER_SECRET": "explorer-s3cret", "ROOT": "/chainlink"}
    found = secret_values(["api-Passw0rd-0123456", {"Database": {"BackupURL": DB_URL}}], config=[config, env])
    assert set(found) == {
        "api-Passw0rd-0123456", DB_URL, "db-Passw0rd-0123456", RPC_WS, RPC_HTTP, "rpc-Passw0rd-42",
        "mercury-pw-77", "telemetry-token-5", "explorer-s3cret",
    }  # fmt: skip
    assert found == sorted(found, key=len, reverse=True)
    # the plain settings stay readable: "1", "info", "primary", "reader", "/chainlink" are no secrets
    assert not {"1", "info", "primary", "reader", "/chainlink"} & set(found)


def test_redact_text_masks_given_secrets_longest_first_and_any_url_or_libpq_password() -> None:
    text = f"connect {DB_URL} failed; keystore keystore-Passw0rd-1; pw db-Passw0rd-0123456"
    assert redact_text(text, secret_values([DB_URL, "keystore-Passw0rd-1"])) == f"connect {MASK} failed; keystore {MASK}; pw {MASK}"
    # a URL or key=value string the inventory never named still loses its password
    raw = "dial wss://user:unknown-S3cret@node.example/ws: refused; dsn host=db password=other-S3cret user=x"
    assert redact_text(raw) == f"dial wss://user:{MASK}@node.example/ws: refused; dsn host=db password={MASK} user=x"
    assert redact_text("Chainlink booted in 1.2s appID=8f0c1d5e-3b4a") == "Chainlink booted in 1.2s appID=8f0c1d5e-3b4a"


def test_redact_keeps_the_structure_of_a_container_result() -> None:
    result: dict[str, t.Any] = {
        "changed": False,
        "failed": True,
        "msg": f"Error starting container: env DATABASE_URL={DB_URL}",
        "container": {
            "Config": {"Env": [f"DATABASE_URL={DB_URL}", "LOG_LEVEL=info"], "Labels": {"nodeops.chainlink.version": "1.10.0"}},
            "State": {"Running": True, "ExitCode": 0, "StartedAt": "2026-12-06T09:00:00.1Z"},
            "RestartCount": 0,
        },
        "results": [{"item": "primary", "container": {"Config": {"Env": [f"DATABASE_URL={DB_URL}"]}}}],
        f"key {DB_URL}": None,
    }
    out = redact(result, secret_values([DB_URL]))
    assert out["container"]["Config"]["Env"] == [f"DATABASE_URL={MASK}", "LOG_LEVEL=info"]
    assert out["container"]["State"] == result["container"]["State"] and out["failed"] is True and out["changed"] is False
    assert out["msg"] == f"Error starting container: env DATABASE_URL={MASK}"
    assert out["results"][0]["container"]["Config"]["Env"] == [f"DATABASE_URL={MASK}"]
    assert f"key {MASK}" in out
    assert "db-Passw0rd" not in repr(out) and "db-Passw0rd" in repr(result)  # the input is left as it was


def test_filters_redact_and_secret_values() -> None:
    report = {"failure": {"summary": f"standby said: dial {RPC_WS} with keystore-Passw0rd-1 at postgresql://u:rotated-old-pw@db/x"}}
    out = redact_filter(report, ["keystore-Passw0rd-1", ""], config={"EVM": [{"Nodes": [{"WSURL": RPC_WS}]}]})
    assert out == {"failure": {"summary": f"standby said: dial {MASK} with {MASK} at postgresql://u:{MASK}@db/x"}}
    assert redact_filter("nothing secret") == "nothing secret"
    assert SecretValuesFilter().filters()["secret_values"]([], config={"WSURL": RPC_WS, "Level": "info"}) == [RPC_WS]
