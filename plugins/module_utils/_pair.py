# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: no compatibility promise; used by the pair_model filter (pair and handover roles).
"""One pair as the inventory describes it, computed once: its two instances with every derived value, and the
problems that make the pair unsafe to deploy or hand over, each with its fix.

The inventory gives, per pair, ``chainlink_instances`` (``primary`` and ``secondary``: ``docker_host``, ``http_port``,
optionally ``container_name``, ``image``, ``version``, ``database_url``, ``http_host``) and pair-wide defaults (with
``extras``: the config format asked for and the extras, which may not set what the roles set themselves); each
Docker host may set ``chainlink_docker_url`` and ``chainlink_config_root``. Everything the roles need per instance
(container, Docker host and URL, port, readiness URL, config directory, image, version, database, and the inventory
host the database checks run on) comes from here.
"""

from __future__ import annotations

import re
import typing as t
from urllib.parse import urlsplit

from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import DEFAULT_ADVISORY_LOCK_ID
from ansible_collections.nodeops.chainlink.plugins.module_utils._node_rules import (
    _release,
    config_format,
    container_name_fault,
    directory_fault,
    managed_problems,
)

ROLES = ("primary", "secondary")
DEFAULT_CONFIG_ROOT = "/srv/chainlink"
# The node's default HTTPS port: a secondary on the same host must not take it (the node binds it when TLS is on)
NODE_HTTPS_PORT = 6689
# An image tag of a Chainlink release: MAJOR.MINOR.PATCH, optionally a pre-release suffix (2.29.0-beta.1)
RELEASE_TAG = re.compile(r"^[0-9]+[.][0-9]+[.][0-9]+(-[0-9A-Za-z]+([.-][0-9A-Za-z]+)*)?$")
# The oldest release whose lock the roles hand over: the lease (lease_lock) arrived in 1.1.0; 1.0.x has only its advisory
# lock, another log wording, and no way to prove a standby waiting
OLDEST_RELEASE = (1, 1, 0)


def _database_where(url: str) -> str:
    """Host, port and database of a URL, without its credentials (for comparing the two instances' URLs)."""
    try:
        parts = urlsplit(url)
        return f"{parts.hostname}:{parts.port or 5432}{parts.path}"
    except ValueError:
        return url.split("@")[-1]


def _port(value: t.Any) -> int | None:
    try:
        port = int(str(value))
    except (TypeError, ValueError):
        return None
    return port if 0 < port < 65536 else None


def instance(
    role: str,
    spec: t.Mapping[str, t.Any],
    pair: str,
    defaults: t.Mapping[str, t.Any],
    hosts: t.Mapping[str, t.Any],
) -> dict[str, t.Any]:
    """One instance with the pair's defaults filled in and its derived values."""
    docker_host = spec.get("docker_host")
    host_vars = hosts.get(docker_host) if docker_host is not None and docker_host in hosts else None
    host_vars = host_vars if isinstance(host_vars, t.Mapping) else {}
    container = str(spec.get("container_name") or f"{pair}-{role}")
    port = _port(spec.get("http_port"))
    http_host = str(spec.get("http_host") or defaults.get("http_host") or "127.0.0.1")
    return {
        "pair": pair,
        "role": role,
        "container_name": container,
        "docker_host": docker_host,
        "docker_url": str(host_vars.get("chainlink_docker_url") or ""),
        "http_port": port,
        "readyz": f"http://{http_host}:{port}/readyz" if port else None,
        "config_dir": f"{host_vars.get('chainlink_config_root') or DEFAULT_CONFIG_ROOT}/{container}",
        "image": str(spec.get("image") or defaults.get("image") or ""),
        # None: no version to check (a switchover keeps what runs)
        "version": None if spec.get("version") is None and defaults.get("version") is None else str(spec.get("version") or defaults.get("version") or ""),
        "database_url": str(spec.get("database_url") or defaults.get("database_url") or ""),
        # where lock_info and lock_observer run: the named host, else the pair's own inventory host (the controller
        # for a pair host with ansible_connection=local); docs/targets.md
        "database_check_host": str(defaults.get("database_check_host") or defaults.get("host") or pair),
    }


def version_problem(model: t.Mapping[str, t.Mapping[str, t.Any]]) -> str | None:
    """Why the instances' versions are no release tags (the image's tag and every version rule need one) or older than the
    oldest release the roles support, or None."""
    versions = {i["version"] for i in model.values() if i["version"] is not None}
    bad_tags = sorted(v for v in versions if not RELEASE_TAG.match(v))
    if bad_tags:
        return (
            f"chainlink_version {' / '.join(repr(v) for v in bad_tags)} is not a Chainlink release tag: write MAJOR.MINOR.PATCH as the"
            " image is tagged, such as 2.29.0 (a pre-release such as 2.29.0-beta.1 is accepted; no 'v', no 'latest')"
        )
    too_old = sorted(v for v in versions if (_release(v) or OLDEST_RELEASE) < OLDEST_RELEASE)
    if too_old:
        oldest = ".".join(str(n) for n in OLDEST_RELEASE)
        return (
            f"chainlink_version {' / '.join(too_old)} is older than {oldest}, the first release with the database lease the roles hand over"
            f" (1.0.x has only its advisory lock): run {oldest} or later (upgrade such a node cold: stop it, then deploy.yml)"
        )
    return None


def problems(
    instances: t.Any, pair: str, model: t.Mapping[str, t.Mapping[str, t.Any]], hosts: t.Mapping[str, t.Any], defaults: t.Mapping[str, t.Any]
) -> list[str]:
    """Every reason the pair cannot be deployed or handed over, each with its fix (never a secret)."""
    out: list[str] = []
    if not isinstance(instances, t.Mapping) or sorted(instances) != list(ROLES):
        found = ", ".join(str(k) for k in instances) if isinstance(instances, t.Mapping) else type(instances).__name__
        out.append(f"chainlink_instances must define exactly two instances, primary and secondary (found: {found})")
    p, s = model["primary"], model["secondary"]
    if p["docker_host"] is None or s["docker_host"] is None:
        out.append("each instance needs docker_host, the inventory host (group docker_hosts) whose Docker engine runs it")
    missing = sorted({str(i["docker_host"]) for i in (p, s) if i["docker_host"] is not None and i["docker_host"] not in hosts})
    if missing:
        out.append(f"docker_host {', '.join(missing)} is not in the inventory: add it (group docker_hosts) or correct chainlink_instances")
    check_host = defaults.get("database_check_host")
    if check_host and check_host not in hosts:
        out.append(
            f"chainlink_database_check_host {check_host} is not in the inventory: name an inventory host that reaches the pair's"
            " database (one of its Docker hosts, say), or leave it empty to run the database checks from the controller"
        )
    if p["http_port"] is None or s["http_port"] is None:
        out.append("each instance needs http_port (WebServer.HTTPPort / CHAINLINK_PORT), a port number")
    if not p["database_url"] or not s["database_url"]:
        out.append(f"the pair has no database URL: set chainlink_database_url for {pair} (an ansible-vault value works)")
    elif _database_where(p["database_url"]) != _database_where(s["database_url"]):
        out.append(
            f"the primary uses database {_database_where(p['database_url'])} but the secondary {_database_where(s['database_url'])}:"
            " the two instances of a pair must share ONE database, whose lock decides which one is active; give both"
            " the pair's chainlink_database_url (remove the per-instance database_url)"
        )
    for inst in (p, s):
        fault = container_name_fault(inst["container_name"])
        if fault:
            out.append(f"the {inst['role']}'s container_name {fault} (chainlink_instances; default <pair>-{inst['role']})")
    for docker_host in sorted({str(i["docker_host"]) for i in (p, s) if i["docker_host"] in hosts}):
        host_vars = hosts[docker_host] if isinstance(hosts[docker_host], t.Mapping) else {}
        root = host_vars.get("chainlink_config_root")
        fault = None if root is None or root == "" else directory_fault(root)
        if fault:
            out.append(f"chainlink_config_root of Docker host {docker_host} {fault} (the instances' files are written below it)")
    shared = p["docker_host"] is not None and p["docker_host"] == s["docker_host"]
    if shared and p["container_name"] == s["container_name"]:
        out.append(
            f"both instances are named {p['container_name']} on Docker host {p['docker_host']}: give them distinct"
            " container_name values (default: <pair>-primary / <pair>-secondary)"
        )
    if shared and p["http_port"] is not None and p["http_port"] == s["http_port"]:
        suggestion = p["http_port"] + 10 if p["http_port"] + 10 != NODE_HTTPS_PORT else p["http_port"] + 11
        out.append(
            f"both instances use HTTP port {p['http_port']} on Docker host {p['docker_host']}, where they share the network:"
            f" give the secondary another http_port (e.g. {suggestion}; not {NODE_HTTPS_PORT}, the node's default HTTPS port)"
        )
    bad_version = version_problem(model)
    if bad_version:
        out.append(bad_version)
    extras = defaults.get("extras") or {}
    # unknown (a switchover keeps what runs): both environments' names are checked
    fmt = None if p["version"] is None else config_format(p["version"], extras.get("config_format") or "auto")
    out += managed_problems(fmt, extras.get("config_extra"), extras.get("secrets_extra"), extras.get("env_extra"), extras.get("container_options"))
    if p["version"] != s["version"] or p["image"] != s["image"]:
        out.append(
            f"the primary would run {p['image']}:{p['version']} and the secondary {s['image']}:{s['version']}: a pair runs one"
            " image and version (changing it is a handover, see playbooks/upgrade.yml); set one chainlink_image /"
            " chainlink_version for the pair"
        )
    return out


def conflicts(model: t.Mapping[str, t.Mapping[str, t.Any]], others: t.Mapping[str, t.Any], hosts: t.Mapping[str, t.Any]) -> list[str]:
    """Where this pair's instances collide with another pair's on a shared Docker host: the container name, the HTTP
    port (host networking) or the config directory. others: pair name -> its chainlink_instances."""
    mine = {
        (inst["docker_host"], what, str(value)): role
        for role, inst in model.items()
        if inst["docker_host"] is not None
        for what, value in (("container name", inst["container_name"]), ("HTTP port", inst["http_port"]), ("config directory", inst["config_dir"]))
        if value is not None
    }
    found = []
    for other, specs in sorted(others.items()):
        specs = specs if isinstance(specs, t.Mapping) else {}
        for role in ROLES:
            spec = specs.get(role)
            theirs = instance(role, spec if isinstance(spec, t.Mapping) else {}, other, {}, hosts)
            for what, value in (("container name", theirs["container_name"]), ("HTTP port", theirs["http_port"]), ("config directory", theirs["config_dir"])):
                key = (theirs["docker_host"], what, str(value))
                if value is not None and key in mine:
                    found.append(
                        f"the {mine[key]}'s {what} {value} on Docker host {theirs['docker_host']} is also pair {other}'s ({role}):"
                        f" give each pair its own (chainlink_instances: container_name, http_port)"
                    )
    return found


def pair_model(
    instances: t.Any,
    pair: str,
    defaults: t.Mapping[str, t.Any],
    hosts: t.Mapping[str, t.Any],
    others: t.Mapping[str, t.Any] | None = None,
) -> dict[str, t.Any]:
    """The pair: ``instances`` (primary and secondary, always both, filled in as far as the inventory allows) and
    ``problems`` (empty when the pair is consistent and collides with none of ``others``: pair name -> instances)."""
    specs = instances if isinstance(instances, t.Mapping) else {}
    model = {}
    for role in ROLES:
        spec = specs.get(role)
        model[role] = instance(role, spec if isinstance(spec, t.Mapping) else {}, pair, defaults, hosts)
    found = problems(instances, pair, model, hosts, defaults) + conflicts(model, {k: v for k, v in (others or {}).items() if k != pair}, hosts)
    key = defaults.get("advisory_lock_id")
    try:
        advisory_lock_id = DEFAULT_ADVISORY_LOCK_ID if key is None or key == "" else int(key)
    except (TypeError, ValueError):
        advisory_lock_id = DEFAULT_ADVISORY_LOCK_ID
        found.append(f"chainlink_advisory_lock_id '{key}' is not an integer: set the 64-bit advisory lock key the pair's nodes use")
    # what every module reading the pair's database shares (the action group nodeops.chainlink.database)
    database = {
        "login_url": model["primary"]["database_url"],
        "lease_table": str(defaults.get("lease_table") or "lease_lock"),
        "advisory_lock_id": advisory_lock_id,
    }
    return {
        "name": pair,
        "instances": model,
        "database": database,
        "database_check_host": model["primary"]["database_check_host"],
        "problems": found,
        # on its own for the read-only status, which needs only a usable version of the whole list
        "version_problem": version_problem(model),
    }
