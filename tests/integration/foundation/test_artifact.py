# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection as users get it: ``ansible-galaxy collection build``, installed into an empty collections path in a
directory outside the checkout, and used from there: ``ansible-doc`` for every module, filter and role, the
playbooks by FQCN (deploy, upgrade, switchover) against a pair of its own, and Galaxy's import check on the tarball.

All of it runs on the second controller stack, .venv-current (requirements-current.txt: the newest ``ansible`` release,
ansible-core 2.21 with community.docker 5, on Python 3.12): the rest of the suite drives the same playbooks from the
checkout on ansible-core 2.19 with community.docker 4, so both stacks run a pair through deploy, upgrade and switchover
without a second cycle here. No ansible.cfg and no checkout link take part: ansible-core finds this collection only in
the installed path, and community.docker / community.postgresql in that venv's site-packages (as with the ``ansible``
package). ansible-builder (the Execution Environment checks) is the development venv's.
Containers: pair ``artifact`` (HTTP ports 17600-17601) on a PostgreSQL ``artifact-pg-<port>`` (ports 17620-17629).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import typing as t
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the venv

from tests.integration.handover.lab import SIM_IMAGE, HandoverLab, start_lab_postgres
from tests.support.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[3]
BIN = ROOT / ".venv-current" / "bin"  # the current controller stack (scripts/bootstrap.sh)
DEV_BIN = Path(sys.executable).parent  # the development venv's ansible-builder
# what requirements-current.txt pins, as the controller reports it
CURRENT_STACK = {"ansible_core": "2.21.", "python": "3.12.", "community.docker": "5.", "community.postgresql": "4."}
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
FILTERS = sorted(p.stem for p in (ROOT / "plugins" / "filter").glob("*.py") if not p.name.startswith("_"))
ROLES = sorted(p.name for p in (ROOT / "roles").glob("*") if (p / "meta" / "argument_specs.yml").is_file())
PLAYBOOKS = sorted(p.stem for p in (ROOT / "playbooks").glob("*.yml"))
# What a user gets; everything else in the checkout is development tooling
SHIPPED = {"README.md", "CHANGELOG.md", "MANIFEST.json", "FILES.json", "requirements.yml", "requirements.txt", "bindep.txt"}
SHIPPED_DIRS = {"changelogs", "docs", "meta", "playbooks", "plugins", "roles"}
FROM_VERSION, TO_VERSION = "2.28.0", "2.29.0"
# one playbook run: about 40 s on an idle machine, several times that while other suites share its 2 cores
PLAYBOOK_TIMEOUT = 540


def user_env(collections: Path) -> dict[str, str]:
    """A user's environment: the venv's tools, the installed path only, no project ansible.cfg."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(PATH=f"{BIN}:{env.get('PATH', '')}", ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_FORCE_COLOR="0")
    return env


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


class Artifact(t.NamedTuple):
    tarball: Path
    collections: Path  # the collections path it is installed into
    tree: Path  # .../ansible_collections/nodeops/chainlink
    workdir: Path  # where the user runs ansible from
    env: dict[str, str]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    """Build the tarball and install it into an empty collections path, both outside the checkout."""
    assert (BIN / "ansible-playbook").is_file(), f"no {BIN.parent}: scripts/bootstrap.sh creates it (needs Python 3.12)"
    base = tmp_path_factory.mktemp("artifact")
    assert not base.resolve().is_relative_to(ROOT.resolve())
    out, collections, workdir = base / "dist", base / "collections", base / "work"
    for d in (out, collections, workdir):
        d.mkdir()
    env = user_env(collections)
    build = run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(ROOT)], workdir, env)
    assert build.returncode == 0, build.stderr
    (tarball,) = out.glob("nodeops-chainlink-*.tar.gz")
    install = run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p", str(collections), str(tarball)], workdir, env)
    assert install.returncode == 0, install.stderr
    tree = collections / "ansible_collections" / "nodeops" / "chainlink"
    return Artifact(tarball, collections, tree, workdir, env)


def test_the_tarball_holds_the_content_and_no_development_tree(artifact: Artifact) -> None:
    with tarfile.open(artifact.tarball) as tar:
        tops = {name.split("/", 1)[0] for name in tar.getnames()}
    assert tops == SHIPPED | SHIPPED_DIRS, sorted(tops ^ (SHIPPED | SHIPPED_DIRS))
    tree = artifact.tree
    assert sorted(p.stem for p in (tree / "plugins" / "modules").glob("*.py")) == MODULES
    assert sorted(p.stem for p in (tree / "playbooks").glob("*.yml")) == PLAYBOOKS
    for role in ROLES:
        assert (tree / "roles" / role / "meta" / "argument_specs.yml").is_file()
    deps = json.loads((tree / "MANIFEST.json").read_text())["collection_info"]["dependencies"]
    assert deps["community.docker"] == ">=4.0.0,<6.0.0"  # the majors CI runs: 4.x on ansible-core 2.19, 5.x here
    # the Execution Environment's dependency files travel with the collection: ansible-builder reads them from it
    assert (tree / "meta" / "execution-environment.yml").is_file()


def test_only_the_installed_copy_is_found(artifact: Artifact) -> None:
    listed = run([str(BIN / "ansible-galaxy"), "collection", "list", "--format", "json", "nodeops.chainlink"], artifact.workdir, artifact.env)
    assert listed.returncode == 0, listed.stderr
    paths = [path for path, found in json.loads(listed.stdout).items() if "nodeops.chainlink" in found]
    assert paths == [str(artifact.collections / "ansible_collections")]


def test_the_controller_is_the_current_stack(artifact: Artifact) -> None:
    """The versions this file tests with, as ansible-core reports them (docs/execution-environment.md names them)."""
    version = run([str(BIN / "ansible"), "--version"], artifact.workdir, artifact.env)
    assert version.returncode == 0, version.stderr
    assert f"core {CURRENT_STACK['ansible_core']}" in version.stdout.splitlines()[0], version.stdout
    assert f"python version = {CURRENT_STACK['python']}" in version.stdout, version.stdout
    listed = run([str(BIN / "ansible-galaxy"), "collection", "list", "--format", "json"], artifact.workdir, artifact.env)
    assert listed.returncode == 0, listed.stderr
    found = {name: info["version"] for path in json.loads(listed.stdout).values() for name, info in path.items()}
    for name in ("community.docker", "community.postgresql"):
        assert found[name].startswith(CURRENT_STACK[name]), (name, found[name])


# about 60 s of CPU (ansible-doc once per plugin type, ansible-lint over the collection); minutes on a busy machine
@pytest.mark.timeout(PLAYBOOK_TIMEOUT + 60)
def test_galaxy_importer_passes_without_a_warning(artifact: Artifact) -> None:
    """Galaxy's import check (galaxy-importer) on the built tarball: ansible-doc and ansible-lint from the current stack,
    offline and without containers (tests/galaxy-importer.cfg); any WARNING or ERROR line fails."""
    env = {**artifact.env, "GALAXY_IMPORTER_CONFIG": str(ROOT / "tests" / "galaxy-importer.cfg")}
    workdir = artifact.workdir / "galaxy-importer"  # it writes importer_result.json into its working directory
    workdir.mkdir()
    result = run([str(BIN / "python"), "-m", "galaxy_importer.main", str(artifact.tarball)], workdir, env, PLAYBOOK_TIMEOUT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Importer processing completed successfully" in result.stdout
    assert "Linting collection via ansible-lint" in result.stdout
    complaints = [line for line in result.stdout.splitlines() if line.startswith(("WARNING", "ERROR", "CRITICAL"))]
    assert not complaints, "\n".join(complaints)
    contents = json.loads((workdir / "importer_result.json").read_text())["docs_blob"]["contents"]
    documented = {(c["content_type"], c["content_name"]) for c in contents if c.get("doc_strings")}
    assert documented >= {("module", name) for name in MODULES} | {("filter", name) for name in FILTERS}


def ansible_doc(artifact: Artifact, kind: str, names: list[str]) -> dict[str, t.Any]:
    """One ansible-doc run for every plugin of a kind (a run costs about 2 s of start-up)."""
    result = run([str(BIN / "ansible-doc"), "-t", kind, "--json", *(f"nodeops.chainlink.{n}" for n in names)], artifact.workdir, artifact.env)
    assert result.returncode == 0, result.stderr
    docs = t.cast(dict[str, t.Any], json.loads(result.stdout))
    assert sorted(docs) == [f"nodeops.chainlink.{n}" for n in names]
    return docs


@pytest.mark.parametrize(("kind", "names"), [("module", MODULES), ("filter", FILTERS)], ids=["modules", "filters"])
def test_ansible_doc_renders_each_plugin(artifact: Artifact, kind: str, names: list[str]) -> None:
    for fqcn, doc in ansible_doc(artifact, kind, names).items():
        assert Path(doc["doc"]["filename"]).is_relative_to(artifact.tree), fqcn
        assert doc["doc"]["short_description"], fqcn
        assert doc["examples"].strip(), fqcn
        assert doc["return"], fqcn


def test_ansible_doc_renders_each_role(artifact: Artifact) -> None:
    for fqcn, doc in ansible_doc(artifact, "role", ROLES).items():
        assert Path(doc["path"]).is_relative_to(artifact.tree), fqcn
        assert doc["entry_points"]["main"]["options"], fqcn


class InstalledLab(HandoverLab):
    """The handover lab's pair, driven as a user of the installed collection: playbooks by FQCN, run from the user's
    directory, reports left to their default place."""

    def __init__(self, pg: PostgresServer, art: Artifact) -> None:
        super().__init__(pg, art.workdir, name="artifact", ports=(17600, 17601))
        self.art = art

    def inventory_data(self, version: str, extra: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        data = super().inventory_data(version, extra)
        del data["all"]["children"]["chainlink_pairs"]["hosts"][self.name]["handover_report_dir"]
        data["all"]["vars"]["ansible_python_interpreter"] = str(BIN / "python")  # the modules run in the current stack
        return data

    def playbook(self, name: str, *args: str, timeout: float = PLAYBOOK_TIMEOUT) -> subprocess.CompletedProcess[str]:
        fqcn = f"nodeops.chainlink.{name.removesuffix('.yml')}"
        try:
            return run([str(BIN / "ansible-playbook"), "-i", str(self.inventory), fqcn, *args], self.workdir, self.art.env, timeout)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
            raise AssertionError(f"{fqcn} did not finish within {timeout} s; its output so far:\n{out[-4000:]}") from exc


@pytest.fixture(scope="module")
def pair(artifact: Artifact) -> t.Iterator[InstalledLab]:
    pg = start_lab_postgres(range(17620, 17630), "artifact-pg")
    lab = InstalledLab(pg, artifact)
    try:
        yield lab
    finally:
        lab.destroy()
        pg.stop()


def failed(run: subprocess.CompletedProcess[str]) -> str:
    return f"{run.args}\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"


@pytest.mark.timeout(PLAYBOOK_TIMEOUT + 60)
def test_deploy_by_fqcn(pair: InstalledLab) -> None:
    pair.write_inventory(FROM_VERSION)
    deploy = pair.playbook("deploy")
    assert deploy.returncode == 0, failed(deploy)
    assert pair.lock()["holder"] is not None
    assert pair.running("primary") and pair.running("secondary")
    assert pair.image("primary") == pair.image("secondary") == f"{SIM_IMAGE}:{FROM_VERSION}"


@pytest.mark.timeout(PLAYBOOK_TIMEOUT + 60)
def test_upgrade_by_fqcn_reports_in_the_directory_the_run_started_from(pair: InstalledLab) -> None:
    pair.write_inventory(TO_VERSION)
    upgrade = pair.playbook("upgrade")
    assert upgrade.returncode == 0, failed(upgrade)
    report = pair.latest_report("upgrade")  # reads <workdir>/handover-reports, the run's own directory
    assert report["outcome"] == "ok", report["failure"]
    assert report["versions_after"] == {"primary": TO_VERSION, "secondary": TO_VERSION}
    assert report["two_holders_seen"] is False
    active = [role for role, inst in report["state_after"]["instances"].items() if inst["state"] == "active"]
    assert len(active) == 1
    assert pair.lock()["holder"] == report["state_after"]["instances"][active[0]]["app_id"]
    assert pair.image(active[0]) == f"{SIM_IMAGE}:{TO_VERSION}"
    # never inside the installed collection (a pipe lookup of pwd ran in its playbooks/ directory)
    assert not list(pair.art.tree.rglob("handover-reports"))
    assert (pair.reports.stat().st_mode & 0o777) == 0o700


@pytest.mark.timeout(PLAYBOOK_TIMEOUT + 60)
def test_switchover_by_fqcn(pair: InstalledLab) -> None:
    before = pair.latest_report("upgrade")["state_after"]["instances"]
    standby = next(role for role, inst in before.items() if inst["state"] != "active")
    switchover = pair.playbook("switchover")
    assert switchover.returncode == 0, failed(switchover)
    report = pair.latest_report("switchover")
    assert report["outcome"] == "ok", report["failure"]
    assert report["state_after"]["instances"][standby]["state"] == "active"
    assert pair.lock()["holder"] == report["state_after"]["instances"][standby]["app_id"]
    assert report["versions_after"] == {"primary": TO_VERSION, "secondary": TO_VERSION}
    assert not list(pair.art.tree.rglob("handover-reports"))


def test_ansible_builder_reads_the_execution_environment_dependencies(artifact: Artifact) -> None:
    """meta/execution-environment.yml of the installed collection names its Python and system packages."""
    result = run([str(DEV_BIN / "ansible-builder"), "introspect", "--sanitize", str(artifact.collections)], artifact.workdir, artifact.env)
    assert result.returncode == 0, result.stderr
    deps = yaml.safe_load(result.stdout)
    ours = "# from collection nodeops.chainlink"
    assert {line.split()[0] for line in deps["python"] if line.endswith(ours)} == {"psycopg2-binary>=2.8", "requests>=2.25"}
    assert any(line.startswith("libpq-devel [platform:rpm compile]") and line.endswith(ours) for line in deps["system"])


def test_the_execution_environment_context_installs_this_collection(tmp_path: Path) -> None:
    """scripts/ee.sh create: the build context ansible-builder writes for ee/execution-environment.yml (building the image
    needs a registry for its base image, which CI does not reach)."""
    context = tmp_path / "context"
    env = {**os.environ, "EE_CONTEXT": str(context)}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "ee.sh"), "create"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    definition = yaml.safe_load((ROOT / "ee" / "execution-environment.yml").read_text())
    containerfile = (context / "Containerfile").read_text()
    assert f'ARG EE_BASE_IMAGE="{definition["images"]["base_image"]["name"]}"' in containerfile
    # the ansible-core of the tested controller stack
    core = next(line.split()[0] for line in (ROOT / "requirements-current.txt").read_text().splitlines() if line.startswith("ansible-core=="))
    assert f'ARG ANSIBLE_INSTALL_REFS="{core} ansible-runner==' in containerfile
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    assert "introspect.py introspect" in containerfile  # the collections' requirements.txt / bindep.txt are read in the build
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert galaxy["collections"][0] == {"name": "/build/dist/nodeops-chainlink.tar.gz", "type": "file"}
    # the dependencies at the versions the current controller stack (requirements-current.txt's ansible) tests with
    bundled = {c["name"]: c["version"] for c in galaxy["collections"][1:]}
    tested = {}
    for name in bundled:
        (manifest_path,) = BIN.parent.glob(f"lib/python*/site-packages/ansible_collections/{name.replace('.', '/')}/MANIFEST.json")
        tested[name] = "==" + json.loads(manifest_path.read_text())["collection_info"]["version"]
    assert bundled == tested
    with tarfile.open(context / "_build" / "dist" / "nodeops-chainlink.tar.gz") as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))  # type: ignore[arg-type]  # a member that is a file
    assert manifest["collection_info"]["name"] == "chainlink"
    assert manifest["collection_info"]["dependencies"]["community.docker"] == ">=4.0.0,<6.0.0"
