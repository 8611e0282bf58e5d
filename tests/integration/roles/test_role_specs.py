# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' typed contract: meta/argument_specs.yml matches defaults/main.yml one-for-one, every option is
typed and described, and every entry point has its tasks file."""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the venv

ROLES = Path(__file__).resolve().parents[3] / "roles"
MY_ROLES = sorted(p.name for p in ROLES.iterdir() if (p / "meta" / "argument_specs.yml").is_file())
# option types whose documented default must be a value of the type
TYPED = ("bool", "int", "float", "dict", "list")
TEMPLATE = re.compile(r"\{\{ ([\w.]+) \| default\((.*)\) \}\}")


def source_text(source: str) -> str:
    """How a description names the variable a templated default reads."""
    if source.startswith("node_instance."):
        return f"the instance's C({source.removeprefix('node_instance.')})"
    return f"C({source}) from the inventory"


def load(path: Path) -> t.Any:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("role", MY_ROLES)
def test_main_spec_matches_defaults(role: str) -> None:
    defaults = load(ROLES / role / "defaults" / "main.yml")
    options = load(ROLES / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(options) == sorted(defaults)
    for name, spec in options.items():
        default = defaults[name]
        if spec["type"] in TYPED and isinstance(default, str) and default.startswith("{{"):
            # A template is not a value of the option's type, so the spec cannot carry it (antsibull-docs refuses it): its
            # description names where the value comes from instead, e.g. "{{ chainlink_stop_timeout | default(20) }}"
            # as "Default: C(chainlink_stop_timeout) from the inventory, else V(20)."
            assert "default" not in spec, name
            source, fallback = TEMPLATE.fullmatch(default).groups()  # type: ignore[union-attr]  # every such default has this form
            described = spec["description"][-1]
            assert described.startswith(f"Default: {source_text(source)}, else "), name
            # (the two whose fallback depends on another option say it in words)
            assert fallback in described or name in ("node_secure_cookies", "node_log_options"), name
        else:
            assert spec.get("default") == default, name


@pytest.mark.parametrize("role", MY_ROLES)
def test_every_entry_point_is_typed_described_and_exists(role: str) -> None:
    specs = load(ROLES / role / "meta" / "argument_specs.yml")["argument_specs"]
    defaults = load(ROLES / role / "defaults" / "main.yml")
    for entry, spec in specs.items():
        assert (ROLES / role / "tasks" / f"{entry}.yml").is_file(), entry
        assert spec.get("short_description"), entry
        for name, option in spec["options"].items():
            assert name in defaults, f"{entry}: {name} has no default"
            assert option.get("type") and option.get("description"), f"{entry}: {name}"
            if option["type"] == "list":
                assert option.get("elements"), f"{entry}: {name}"
