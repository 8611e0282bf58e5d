# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared PostgreSQL client's pure parts: option -> libpq mapping, secrets found and masked, target descriptions."""

from __future__ import annotations

import typing as t

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the venv

from ansible_collections.nodeops.chainlink.plugins.doc_fragments._postgres import ModuleDocFragment
from ansible_collections.nodeops.chainlink.plugins.module_utils import _postgres, _redact

NONE: dict[str, t.Any] = {option: None for option in _postgres.COMMON_ARGS} | {"connect_timeout": 10}


def params(**given: t.Any) -> dict[str, t.Any]:
    return {**NONE, **given}


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("postgresql://cl:s3cret@127.0.0.1:5432/cl", ["postgresql://cl:s3cret@127.0.0.1:5432/cl", "s3cret"]),
        ("postgresql://cl:p%40ss@db/cl", ["postgresql://cl:p%40ss@db/cl", "p%40ss", "p@ss"]),
        ("postgresql://cl@db/cl?password=hunter22&sslmode=disable", ["postgresql://cl@db/cl?password=hunter22&sslmode=disable", "hunter22"]),
        ("host=db user=cl password=kv-secret dbname=cl", ["host=db user=cl password=kv-secret dbname=cl", "kv-secret"]),
        ("postgresql://cl@db/cl", ["postgresql://cl@db/cl"]),
        (None, []),
        ("", []),
    ],
)
def test_url_secrets(url: str | None, secrets: list[str]) -> None:
    assert sorted(_postgres.url_secrets(url)) == sorted(secrets)


def test_redact_masks_longest_first() -> None:
    url = "postgresql://cl:pw@db/cl"
    assert _redact.redact_text(f"bad {url} and pw", _postgres.url_secrets(url)) == "bad ******** and ********"
    assert _redact.redact_text("nothing here", []) == "nothing here"


def test_connection_kwargs_from_options() -> None:
    dsn, kwargs = _postgres.connection_kwargs(
        params(login_host="127.0.0.1", login_port=6543, login_user="ro", login_password="pw", login_db="cl", ssl_mode="disable"),
        "me",
        {"default_transaction_read_only": "on"},
    )
    assert dsn == ""
    assert kwargs == {
        "host": "127.0.0.1",
        "port": 6543,
        "user": "ro",
        "password": "pw",
        "dbname": "cl",
        "sslmode": "disable",
        "connect_timeout": 10,
        "application_name": "me",
        "options": "-c default_transaction_read_only=on",
    }


def test_connection_kwargs_options_override_the_url_and_keep_its_startup_options() -> None:
    url = "postgresql://cl:pw@chainlink-db:5432/cl?options=-c%20search_path%3Dcl"
    dsn, kwargs = _postgres.connection_kwargs(params(login_url=url, login_host="127.0.0.1"), "me", {"TimeZone": "UTC"})
    assert dsn == url
    assert kwargs["host"] == "127.0.0.1"
    assert "port" not in kwargs  # the URL's port stays
    assert kwargs["options"] == "-c search_path=cl -c TimeZone=UTC"


def test_describe_target_never_shows_the_password() -> None:
    url = "postgresql://cl:topsecret@db.example.internal:6000/chain"
    text = _postgres.describe_target(params(login_url=url), environ={})
    assert text == "host db.example.internal port 6000 database 'chain' user 'cl'"
    assert (
        _postgres.describe_target(params(login_url=url, login_port=7000, login_db="x"), environ={})
        == "host db.example.internal port 7000 database 'x' user 'cl'"
    )


def test_describe_target_falls_back_like_libpq() -> None:
    assert _postgres.describe_target(params(), environ={"PGHOST": "h", "PGPORT": "1", "PGUSER": "u"}) == "host h port 1 database 'u' user 'u'"
    assert _postgres.describe_target(params(login_user="u"), environ={}) == "host the local socket port 5432 database 'u' user 'u'"


def test_common_args_match_the_doc_fragment() -> None:
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert set(documented) == set(_postgres.COMMON_ARGS)
    for name, spec in _postgres.COMMON_ARGS.items():
        doc = documented[name]
        assert doc["type"] == spec["type"], name
        assert doc.get("default") == spec.get("default"), name
        assert doc.get("choices") == spec.get("choices"), name
        assert doc.get("aliases") == spec.get("aliases"), name
