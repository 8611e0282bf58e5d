# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/maintenance.md stays true: every row of its tables (and of tests/README.md's promise map) names a test that exists, every Molecule scenario it names
exists, the lab inventories it sends a newcomer to describe the layouts it says, and every playbook command it gives
passes Ansible's syntax check against them."""

from __future__ import annotations

import ast
import re
import subprocess
import typing as t
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the venv

from tests.integration.handover.lab import ROOT, VENV_BIN, ansible_env

RUNBOOK = ROOT / "docs" / "maintenance.md"
PROMISES = ROOT / "tests" / "README.md"
# a test file (a path, or a bare name in tests/integration/handover/) with an optional test, or `::test` alone: one more
# test of the file named before it in the same cell
TEST_REF = re.compile(r"`(?:(tests/[\w/]+\.py)|(test_[\w]+\.py))?(?:::(\w+))?`")
MOLECULE_REF = re.compile(r"Molecule ((?:`\w+`(?:, )?)+)")


def rows(doc: Path = RUNBOOK) -> list[list[str]]:
    """The body rows of the document's tables that carry a Test column (the last one)."""
    out: list[list[str]] = []
    header: list[str] = []
    for line in doc.read_text().splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not header:
            header = cells
        elif not set("".join(cells)) <= set("-: ") and header[-1] in ("Test", "Tested by"):
            out.append(cells)
    return out


def referenced_file(ref: re.Match[str]) -> str:
    """A test file as the runbook names it: a path under tests/, or a bare name for one in tests/integration/handover/."""
    return ref[1] or f"tests/integration/handover/{ref[2]}"


def defined_tests(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


ROWS = rows()
CHECKED = ROWS + rows(PROMISES)


def test_the_runbook_has_its_rows() -> None:
    firsts = [row[0] for row in ROWS]
    for procedure in ("Restart the machine of the active instance", "Failback after an unplanned failover", "Maintenance and image update"):
        assert any(procedure in first for first in firsts), f"no row for {procedure!r}"
    assert len(ROWS) >= 15


@pytest.mark.parametrize("row", CHECKED, ids=[re.sub(r"\W+", "-", r[0])[:50] for r in CHECKED])
def test_every_row_names_tests_that_exist(row: list[str]) -> None:
    cell = row[-1]
    refs = [ref for ref in TEST_REF.finditer(cell) if ref[1] or ref[2] or ref[3]]
    scenarios = [s.strip("`") for group in MOLECULE_REF.findall(cell) for s in group.split(", ")]
    assert refs or scenarios, f"the row {row[0]!r} names no test"
    path = ""
    for ref in refs:
        if ref[1] or ref[2]:
            path = referenced_file(ref)
        assert path, f"the row {row[0]!r} names {ref[0]} before any file"
        assert (ROOT / path).is_file(), f"{path} does not exist"
        if ref[3]:
            assert ref[3] in defined_tests(path), f"{path} defines no {ref[3]}"
    for scenario in scenarios:
        assert (ROOT / "molecule" / scenario / "molecule.yml").is_file(), f"no Molecule scenario {scenario}"


def lab_pairs() -> dict[str, t.Any]:
    out = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", str(ROOT / "lab" / "inventory"), "--list"],
        env=ansible_env(), capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    listed = yaml.safe_load(out.stdout)
    return {name: listed["_meta"]["hostvars"][name] for name in listed["chainlink_pairs"]["hosts"]}


def test_the_lab_inventories_are_the_layouts_the_runbook_names() -> None:
    pairs = lab_pairs()
    hosts = {name: {i["docker_host"] for i in v["chainlink_instances"].values()} for name, v in pairs.items()}
    assert hosts == {"lab-one": {"docker-a"}, "lab-two": {"docker-a", "docker-b"}}
    text = RUNBOOK.read_text()
    assert "`lab/inventory/one-host.yml` (pair `lab-one`)" in text and "`lab/inventory/two-hosts.yml` (pair `lab-two`" in text


def test_every_command_of_the_runbook_passes_the_syntax_check() -> None:
    playbooks = sorted(set(re.findall(r"playbooks/(\w+\.yml)", RUNBOOK.read_text())))
    assert {"status.yml", "upgrade.yml", "switchover.yml", "deploy.yml", "reconfigure.yml"} <= set(playbooks)
    for playbook in playbooks:
        run = subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), "--syntax-check", "-i", str(ROOT / "lab" / "inventory"), str(ROOT / "playbooks" / playbook)],
            env=ansible_env(), capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert run.returncode == 0, f"{playbook}: {run.stdout[-2000:]} {run.stderr[-2000:]}"
