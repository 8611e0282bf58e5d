# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: not covered by semantic versioning.
# Use it only from nodeops.chainlink's own plugins.
"""Which app ID each running instance of a pair has, and its place in the lock, from its log or else the database.

An instance's app ID is read from its own log (the booted or the lease waiting line carries ``appID``). When the log no
longer holds either line (Docker rotated it away), or holds only the 1.x advisory waiting line (it has no ``appID``),
the database and the instance's HTTP port decide, because only the lock
holder serves HTTP (a waiting standby has no listener at all):

- an instance whose HTTP port answers (any status, even 429 or 503) is the lock holder (the lease's, or in 1.x
  advisorylock mode the advisory lock's);
- an instance whose port does not answer is the one connected instance that is neither the holder nor claimed by another
  instance's log, when exactly one such instance and one such candidate exist; otherwise its app ID stays unknown.

App IDs seen in ``application_name`` may be prefixes (the node cuts the name at 63 bytes): they match by prefix.
"""

from __future__ import annotations

import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import app_id_matches

SOURCE_LOG = "log"
SOURCE_HOLDER = "database: lock holder (its log gives no app ID; its HTTP port answers)"
SOURCE_STANDBY = "database: the one connected instance that is not the holder (its log gives no app ID; no HTTP)"


def input_problem(caller: str, instances: t.Any, lock: t.Any) -> str | None:
    """Why ``instances`` is not a dict of instance name -> dict or ``lock`` not lock_info's result (None when fine)."""
    if not isinstance(instances, t.Mapping) or not all(isinstance(v, t.Mapping) for v in instances.values()):
        return f"{caller} expects a dict of instance name -> dict, got {type(instances).__name__}"
    if not isinstance(lock, t.Mapping):
        return f"{caller} expects lock_info's result as lock, got {type(lock).__name__}"
    return None


def _holder(lock: t.Mapping[str, t.Any]) -> str | None:
    """The lock holder's app ID: the valid lease's client_id, else (1.x advisorylock mode) the advisory holder's."""
    lease = lock.get("lease") or {}
    if lease.get("valid") and lease.get("client_id"):
        return str(lease["client_id"]).lower()
    advisory = lock.get("advisory") or {}
    return str(advisory["app_id"]).lower() if advisory.get("held") and advisory.get("app_id") else None


def _connected(lock: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    return [dict(i) for i in lock.get("instances") or [] if i.get("app_id")]


def find_instance(lock: t.Mapping[str, t.Any], app_id: str | None) -> dict[str, t.Any]:
    """The connected instance (from lock_info's ``instances``) whose app ID, possibly a cut prefix, is app_id's; or {}."""
    if not app_id:
        return {}
    return next((i for i in _connected(lock) if app_id_matches(app_id, i["app_id"])), {})


def identify(instances: t.Mapping[str, t.Mapping[str, t.Any]], lock: t.Mapping[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """Per instance name: app_id, app_id_source, holds_lease, holds_lock, connected and instance (lock_info's entry, or {}).

    holds_lock: the instance is the lock holder (the lease's, or without a lease the advisory lock's); holds_lease: it
    holds the valid lease.

    instances: name -> {running (bool), log_app_id (str or None), http_answers (bool or None: not probed)}.
    lock: lock_info's result.
    """
    holder = _holder(lock)
    lease_valid = bool((lock.get("lease") or {}).get("valid"))
    found: dict[str, tuple[str | None, str | None]] = {}
    for name, info in instances.items():
        app_id = str(info.get("log_app_id") or "").strip().lower() or None
        found[name] = (app_id, SOURCE_LOG if app_id else None) if info.get("running") else (None, None)
    unknown = [n for n, info in instances.items() if info.get("running") and found[n][0] is None]
    for name in unknown:
        if instances[name].get("http_answers") and holder:
            found[name] = (holder, SOURCE_HOLDER)
    claimed = [pair[0] for pair in found.values() if pair[0]]
    silent = [n for n in unknown if found[n][0] is None and instances[n].get("http_answers") is False]
    candidates = [
        i["app_id"]
        for i in _connected(lock)
        if not (holder and app_id_matches(holder, i["app_id"])) and not any(app_id_matches(c, i["app_id"]) for c in claimed)
    ]
    if len(silent) == 1 and len(candidates) == 1:
        found[silent[0]] = (candidates[0], SOURCE_STANDBY)
    result = {}
    for name, (app_id, source) in found.items():
        instance = find_instance(lock, app_id)
        result[name] = {
            "app_id": app_id,
            "app_id_source": source,
            "holds_lease": bool(app_id and holder and lease_valid and app_id_matches(holder, app_id)),
            "holds_lock": bool(app_id and holder and (app_id_matches(holder, app_id) or app_id_matches(app_id, holder))),
            "connected": bool(instance),
            "instance": instance,
        }
    return result


# One vocabulary for an instance's place in its pair, used by the handover's plan and the node role's state (status)
STATES = ("active", "waiting", "unknown", "stopped", "absent")
# The words status prints for the same states (what an operator reads in `status.yml`)
STATUS_WORDS = {"active": "active", "waiting": "standby", "unknown": "starting", "stopped": "stopped", "absent": "absent"}
VERSION_LABEL = "nodeops.chainlink.version"


def _version(container: t.Mapping[str, t.Any]) -> str | None:
    """The Chainlink version a container runs: the role's label, else the image tag."""
    config = container.get("Config") or {}
    label = (config.get("Labels") or {}).get(VERSION_LABEL)
    if label:
        return str(label)
    image = str(config.get("Image") or "")
    return image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else None


def states(containers: t.Mapping[str, t.Mapping[str, t.Any]], lock: t.Mapping[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """Per instance name: state (STATES), role (STATUS_WORDS), version, image, started_at, and identify()'s fields.

    containers: name -> {container (Docker's inspect data, empty when the container does not exist), log_app_id,
    http_answers}. Active needs the instance to hold the lock while the lock is consistent (in dual mode the lease and
    the advisory lock with one instance); waiting needs it connected to the database; a running instance that is
    neither is unknown (starting, crash-looping, misconfigured).
    """
    running = {name: bool(((info.get("container") or {}).get("State") or {}).get("Running")) for name, info in containers.items()}
    seen = {
        name: {"running": running[name], "log_app_id": info.get("log_app_id"), "http_answers": info.get("http_answers")} for name, info in containers.items()
    }
    ids = identify(seen, lock)
    holder = bool(lock.get("holder_app_id")) and bool(lock.get("consistent"))
    result = {}
    for name, info in containers.items():
        container = info.get("container") or {}
        ident = ids[name]
        if not container:
            state = "absent"
        elif not running[name]:
            state = "stopped"
        elif ident["holds_lock"] and holder:
            state = "active"
        elif ident["connected"]:
            state = "waiting"
        else:
            state = "unknown"
        result[name] = {
            **ident,
            "state": state,
            "role": STATUS_WORDS[state],
            "version": _version(container) if container else None,
            "image": (container.get("Config") or {}).get("Image") or None,
            "started_at": (container.get("State") or {}).get("StartedAt"),
        }
    return result
