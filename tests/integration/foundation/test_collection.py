# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection builds into a tarball that installs, and every plugin and role documents itself by FQCN."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
ROLES = sorted(p.name for p in (ROOT / "roles").glob("*") if (p / "meta" / "argument_specs.yml").is_file())


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the tarball and install it into a fresh collections path."""
    out = tmp_path_factory.mktemp("build")
    build = run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out)])
    assert build.returncode == 0, build.stderr
    tarballs = list(out.glob("nodeops-chainlink-*.tar.gz"))
    assert len(tarballs) == 1
    dest = tmp_path_factory.mktemp("collections")
    install = run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "--force", "-p", str(dest), str(tarballs[0])],
        ANSIBLE_COLLECTIONS_PATH=str(dest),
    )
    assert install.returncode == 0, install.stderr
    assert (dest / "ansible_collections" / "nodeops" / "chainlink" / "MANIFEST.json").is_file()
    # Nothing from the development tree leaks into the artefact.
    assert not (dest / "ansible_collections" / "nodeops" / "chainlink" / ".venv").exists()
    return dest


def test_tarball_carries_every_module_and_role(installed: Path) -> None:
    tree = installed / "ansible_collections" / "nodeops" / "chainlink"
    assert sorted(p.stem for p in (tree / "plugins" / "modules").glob("*.py")) == MODULES
    for role in ROLES:
        assert (tree / "roles" / role / "meta" / "argument_specs.yml").is_file()


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_module(installed: Path, module: str) -> None:
    result = run([str(BIN / "ansible-doc"), "--json", f"nodeops.chainlink.{module}"], ANSIBLE_COLLECTIONS_PATH=str(installed))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)[f"nodeops.chainlink.{module}"]
    assert doc["doc"]["short_description"]
    assert doc["examples"].strip()
    assert doc["return"]


@pytest.mark.parametrize("role", ROLES)
def test_ansible_doc_renders_role(installed: Path, role: str) -> None:
    result = run([str(BIN / "ansible-doc"), "-t", "role", "--json", f"nodeops.chainlink.{role}"], ANSIBLE_COLLECTIONS_PATH=str(installed))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[f"nodeops.chainlink.{role}"]["entry_points"]["main"]["options"]
