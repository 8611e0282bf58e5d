# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""python_requirements: the interpreter's version against the minimum, each library it cannot import with its Debian
package, and one sentence per problem naming the fix. Run through main() in this process (the venv's Python, which has
both libraries); a library it lacks is simulated by a name that cannot be imported."""

from __future__ import annotations

import sys
import typing as t

import pytest

from ansible_collections.nodeops.chainlink.plugins.modules import python_requirements
from tests.support.ansible_module import run_module


def run(**args: t.Any) -> dict[str, t.Any]:
    return run_module(python_requirements.main, args)


def test_this_python_has_everything() -> None:
    result = run(libraries=["requests", "psycopg2"])
    assert result["changed"] is False
    assert result["python"] == {"executable": sys.executable, "version": ".".join(map(str, sys.version_info[:3]))}
    assert result["missing"] == [] and result["problems"] == []


def test_a_missing_library_names_its_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import raise ImportError, as on a Python without the package
    monkeypatch.setitem(sys.modules, "requests", None)
    result = run(libraries=["requests", "psycopg2"])
    assert [(m["library"], m["package"]) for m in result["missing"]] == [("requests", "python3-requests")]
    assert result["missing"][0]["error"].startswith("ModuleNotFoundError")
    assert result["problems"] == [
        f"its Python {sys.executable} ({'.'.join(map(str, sys.version_info[:3]))}) cannot import requests, which community.docker's"
        " modules need: install the Debian/Ubuntu package python3-requests there (apt-get install python3-requests), or set"
        " ansible_python_interpreter to a Python that has it"
    ]


@pytest.mark.parametrize(
    ("version", "minimum", "too_old"),
    [((3, 9, 18), "3.10", True), ((3, 10, 12), "3.10", False), ((3, 11, 2), "3.10", False), ((3, 12, 3), "3.13", True), ((4, 0, 0), "3.10", False)],
)
def test_the_python_version_against_the_minimum(version: tuple[int, int, int], minimum: str, too_old: bool) -> None:
    found = python_requirements.problems("/usr/bin/python3", version, minimum, [])
    assert bool(found) is too_old
    if too_old:
        assert found[0].startswith(f"its Python /usr/bin/python3 is {'.'.join(map(str, version))}, older than {minimum}")


def test_psycopg2_names_the_database_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    result = run(libraries=["psycopg2"], min_version="3.8")
    assert result["missing"][0]["package"] == "python3-psycopg2"
    assert (
        "the database checks (lock_info, lock_observer, community.postgresql) need: install the Debian/Ubuntu package python3-psycopg2"
        in (result["problems"][0])
    )


def test_a_minimum_that_is_not_a_version_fails() -> None:
    result = run(min_version="3.x")
    assert result["failed"] is True
    assert result["msg"] == "min_version '3.x' is not a Python version such as 3.10"
