# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the collection: no compatibility promise; used by the handover_plan filter and the handover role.
"""What a handover must still do for one pair, from where the pair stands now.

The plan is computed from the observed state every time (never from a record of a previous run), so running the
playbook again after an interruption carries on where the pair is, and a pair that is already done gets no step.

State in: ``{"instances": {name: {"state": s, "version": v, "changes": [...]}}, "db_version": v}`` where ``s`` is
``active`` (holds the lock), ``waiting`` (running, connected, waiting for the lock), ``stopped``, ``absent`` or
``unknown`` (running but neither waiting nor holding: starting, crash-looping, misconfigured), and ``changes`` names
what of a running instance differs from the inventory (settings, files, environment; empty or missing: nothing).

An instance is where an upgrade or a reconfiguration wants it when it runs the target version with no changes
pending; ``reconfigure`` is an upgrade to the version the active instance runs, so only the settings move.

Steps out, in order:
``{"action": "start", "instance": X, "version": V, "restart": bool, "changes": [...]}``
    (re)deploy X on V and prove it is connected and waiting (``restart``: it runs the same version but is not waiting
    or its settings change; ``changes``: the settings it is restarted with, by name).
``{"action": "handover", "from": A, "to": B}``
    stop A gracefully and prove that B took the lock, booted and answers /readyz.
"""

from __future__ import annotations

import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import compare_versions, parse_version

STATES = ("active", "waiting", "stopped", "absent", "unknown")


class PlanError(ValueError):
    """The pair is in a state no handover should touch; the message says why and what to do."""


def _versions_equal(left: str | None, right: str | None) -> bool:
    if not left or not right:
        return False
    try:
        return compare_versions(left, right) == 0
    except ValueError:
        return left == right


def _changes(info: t.Mapping[str, t.Any]) -> list[str]:
    return [str(c) for c in info.get("changes") or []]


def _current(info: t.Mapping[str, t.Any], version: str) -> bool:
    """Runs ``version`` with the inventory's settings."""
    return _versions_equal(info.get("version"), version) and not _changes(info)


def _start(instance: str, version: str, info: t.Mapping[str, t.Any], why: str, phase: str = "start_standby") -> dict[str, t.Any]:
    restart = info.get("state") in ("unknown", "waiting", "active") and _versions_equal(info.get("version"), version)
    step = {"action": "start", "phase": phase, "instance": instance, "version": version, "restart": bool(restart), "why": why}
    step["changes"] = _changes(info)
    return step


def _handover(frm: str, to: str, why: str, phase: str = "takeover") -> dict[str, t.Any]:
    return {"action": "handover", "phase": phase, "from": frm, "to": to, "why": why}


def _check(state: t.Mapping[str, t.Any], preferred: str) -> tuple[str, str, dict[str, dict[str, t.Any]]]:
    instances: dict[str, dict[str, t.Any]] = {str(k): dict(v) for k, v in (state.get("instances") or {}).items()}
    if len(instances) != 2:
        raise PlanError(f"a pair has exactly two instances; the inventory gives {len(instances)} ({', '.join(sorted(instances)) or 'none'})")
    if preferred not in instances:
        raise PlanError(f"handover_preferred '{preferred}' is not one of the pair's instances ({', '.join(sorted(instances))})")
    for name, info in instances.items():
        if info.get("state") not in STATES:
            raise PlanError(f"instance '{name}' has an unknown state '{info.get('state')}'")
    active = [name for name, info in instances.items() if info["state"] == "active"]
    if not active:
        described = ", ".join(f"{n} {i['state']}" for n, i in sorted(instances.items()))
        waiting = [name for name, info in sorted(instances.items()) if info["state"] == "waiting"]
        if waiting:
            # Typically right after the active instance died: its lease still runs, and the standby takes it at expiry.
            raise PlanError(
                f"no instance of the pair holds the lock ({described}): if the active instance has just died, {waiting[0]} takes the lock"
                " when its lease expires (at most the lease duration and one poll); run this again then. Nothing was changed"
            )
        raise PlanError(
            f"no instance of the pair holds the lock ({described}), so there is nothing to hand over and no safe order of steps:"
            " bring the pair up first (playbooks/deploy.yml, or start the instance that ran last) and run this again"
        )
    if len(active) > 1:
        raise PlanError(f"two instances are seen as active ({', '.join(active)}): stop and investigate before any handover")
    other = next(name for name in instances if name != active[0])
    return active[0], other, instances


def plan_upgrade(
    state: t.Mapping[str, t.Any], version: str, preferred: str = "primary", hand_back: bool = True, restart_old: bool = True
) -> list[dict[str, t.Any]]:
    """Steps that bring both instances to ``version`` with the lock handed over (and back to ``preferred``)."""
    if parse_version(version) is None:
        raise PlanError(f"chainlink_version '{version}' is not a version such as 2.29.0")
    active, other, inst = _check(state, preferred)
    db_version = state.get("db_version")
    if db_version and parse_version(str(db_version)) and compare_versions(version, str(db_version)) < 0:
        raise PlanError(
            f"the database was last migrated by version {db_version}, newer than the target {version}: a node older than the database refuses to"
            " boot, so this downgrade cannot be handed over. Choose a version >= the database's, or restore a backup taken before that upgrade"
        )
    steps: list[dict[str, t.Any]] = []
    if not (inst[other]["state"] == "waiting" and _current(inst[other], version)):
        why = f"the standby must wait on {version}{_with(inst[other])} before the active one is stopped"
        steps.append(_start(other, version, inst[other], why))
    if not _current(inst[active], version):
        why = f"{active} runs {inst[active].get('version')}, not {version}"
        if _versions_equal(inst[active].get("version"), version):
            why = f"{active} runs settings that differ from the inventory"
        steps.append(_handover(active, other, why))
        if restart_old:
            stopped = {"state": "stopped", "changes": _changes(inst[active])}
            steps.append(_start(active, version, stopped, f"{active} comes back on {version}{_with(inst[active])} as the standby", "restart_old"))
        active, other = other, active
    if hand_back and active != preferred:
        steps.append(_handover(active, preferred, f"hand the lock back to the preferred instance {preferred}", "hand_back"))
        if restart_old:
            steps.append(_start(active, version, {"state": "stopped"}, f"{active} comes back as the standby", "restart_old"))
    return steps


def _with(info: t.Mapping[str, t.Any]) -> str:
    return " with the inventory's settings" if _changes(info) else ""


def plan_reconfigure(state: t.Mapping[str, t.Any], preferred: str = "primary", hand_back: bool = True, restart_old: bool = True) -> list[dict[str, t.Any]]:
    """Steps that restart both instances with the inventory's settings on the version the active one runs, lock handed over."""
    active, _other, inst = _check(state, preferred)
    version = inst[active].get("version")
    if not version or parse_version(str(version)) is None:
        raise PlanError(f"the version of the active instance {active} is unknown (no version label or tag on its container)")
    return plan_upgrade(state, str(version), preferred, hand_back, restart_old)


def plan_switchover(state: t.Mapping[str, t.Any], direction: str = "over", preferred: str = "primary", restart_old: bool = True) -> list[dict[str, t.Any]]:
    """Steps that move the lock to the non-preferred instance (``over``) or to ``preferred`` (``back``), versions unchanged."""
    if direction not in ("over", "back"):
        raise PlanError(f"direction '{direction}' is not one of over (to the standby, for maintenance of the preferred one) or back")
    active, other, inst = _check(state, preferred)
    target = preferred if direction == "back" else next(name for name in inst if name != preferred)
    version = inst[active].get("version")
    if not version:
        raise PlanError(f"the version of the active instance {active} is unknown (no version label or tag on its container)")
    steps: list[dict[str, t.Any]] = []
    if active == target:
        if restart_old and inst[other]["state"] != "waiting":
            steps.append(_start(other, inst[other].get("version") or version, inst[other], f"{other} should be the waiting standby", "restart_old"))
        return steps
    if inst[target]["state"] != "waiting" or not _versions_equal(inst[target].get("version"), version):
        steps.append(_start(target, version, inst[target], f"{target} must wait on {version} before {active} is stopped"))
    steps.append(_handover(active, target, f"move the lock to {target} ({direction})"))
    if restart_old:
        stopped = {"state": "stopped", "changes": _changes(inst[active])}
        steps.append(_start(active, version, stopped, f"{active} comes back{_with(inst[active])} as the standby", "restart_old"))
    return steps


def plan(
    state: t.Mapping[str, t.Any],
    action: str,
    version: str | None = None,
    direction: str = "over",
    preferred: str = "primary",
    hand_back: bool = True,
    restart_old: bool = True,
) -> dict[str, t.Any]:
    """The plan as the role uses it: steps, the instance active now, whether there is nothing to do, or the refusal."""
    try:
        if action == "upgrade":
            if not version:
                raise PlanError("an upgrade needs the target version: -e chainlink_version=<version>")
            steps = plan_upgrade(state, version, preferred, hand_back, restart_old)
        elif action == "reconfigure":
            steps = plan_reconfigure(state, preferred, hand_back, restart_old)
        elif action == "switchover":
            steps = plan_switchover(state, direction, preferred, restart_old)
        else:
            raise PlanError(f"handover_action '{action}' is not one of upgrade, reconfigure, switchover")
    except PlanError as exc:
        return {"steps": [], "done": False, "error": str(exc)}
    return {"steps": steps, "done": not steps, "error": None}


def describe(steps: t.Sequence[t.Mapping[str, t.Any]], instances: t.Mapping[str, t.Mapping[str, t.Any]]) -> list[str]:
    """One line per step, for --check and the report."""
    lines = []
    for number, step in enumerate(steps, 1):
        if step["action"] == "start":
            name = step["instance"]
            container = instances.get(name, {}).get("container_name", name)
            verb = "restart" if step.get("restart") else "start"
            lines.append(f"{number}. {verb} {name} ({container}) on {step['version']} and prove it waits for the lock - {step['why']}")
        else:
            frm, to = step["from"], step["to"]
            lines.append(f"{number}. stop {frm} gracefully (SIGTERM, lease released) and prove {to} takes the lock, boots and answers /readyz - {step['why']}")
    return lines
