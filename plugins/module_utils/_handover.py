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
``{"action": "restore", "instance": X, "version": V}``
    first of all, when no instance holds the lock and none waits for it (a run died between stopping one instance and
    starting the other): start X's stopped container as it is, on the version V it runs, which the database allows, and
    prove it took the lock and serves. The rest of the plan goes on from there.

``rescue`` decides how a failed takeover restores a safe state, from the pair observed again after the failure.
"""

from __future__ import annotations

import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import app_id_matches, compare_versions, parse_version
from ansible_collections.nodeops.chainlink.plugins.module_utils._node_rules import config_format, locks_taken

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


def _check(state: t.Mapping[str, t.Any], preferred: str) -> tuple[str, str, dict[str, dict[str, t.Any]], list[dict[str, t.Any]]]:
    """The active instance, the other, the instances, and the restore step that comes first when none was active."""
    instances: dict[str, dict[str, t.Any]] = {str(k): dict(v) for k, v in (state.get("instances") or {}).items()}
    if len(instances) != 2:
        raise PlanError(f"a pair has exactly two instances; the inventory gives {len(instances)} ({', '.join(sorted(instances)) or 'none'})")
    if preferred not in instances:
        raise PlanError(f"handover_preferred '{preferred}' is not one of the pair's instances ({', '.join(sorted(instances))})")
    for name, info in instances.items():
        if info.get("state") not in STATES:
            raise PlanError(f"instance '{name}' has an unknown state '{info.get('state')}'")
    active = [name for name, info in instances.items() if info["state"] == "active"]
    if len(active) > 1:
        raise PlanError(f"two instances are seen as active ({', '.join(active)}): stop and investigate before any handover")
    restore: list[dict[str, t.Any]] = []
    if not active:
        restore = [_restore(instances, state.get("db_version"), preferred)]
        instances[restore[0]["instance"]]["state"] = "active"
        active = [restore[0]["instance"]]
    other = next(name for name in instances if name != active[0])
    return active[0], other, instances, restore


def _can_run(version: t.Any, db_version: t.Any) -> bool:
    """A node boots against the database only when it is at least the version that last migrated it."""
    if not version or parse_version(str(version)) is None:
        return False
    return not db_version or parse_version(str(db_version)) is None or compare_versions(str(version), str(db_version)) >= 0


def _restore(instances: dict[str, dict[str, t.Any]], db_version: t.Any, preferred: str) -> dict[str, t.Any]:
    """The step that brings a pair with no active instance back into service, or the refusal when none is safe to take.

    Only when nothing holds or waits for the lock: a waiting standby takes an expired lease by itself, and a running
    instance in an unknown state (booting, crash-looping) may be about to; starting another one then changes nothing
    safely. Of the stopped instances that can run against the database, the one on the older version is the last known
    good one in an upgrade (the newer one is what failed); between equals, the preferred one.
    """
    described = ", ".join(f"{n} {i['state']}" for n, i in sorted(instances.items()))
    waiting = [name for name, info in sorted(instances.items()) if info["state"] == "waiting"]
    if waiting:
        # Typically right after the active instance died: its lease still runs, and the standby takes it at expiry.
        raise PlanError(
            f"no instance of the pair holds the lock ({described}): if the active instance has just died, {waiting[0]} takes the lock"
            " when its lease expires (at most the lease duration and one poll); run this again then. Nothing was changed"
        )
    starting = [name for name, info in sorted(instances.items()) if info["state"] == "unknown"]
    if starting:
        raise PlanError(
            f"no instance of the pair holds the lock ({described}) and {', '.join(starting)} runs without waiting for it (starting,"
            " crash-looping or misconfigured): read its log (docker logs), fix it or stop it, and run this again. Nothing was changed"
        )
    stopped = [name for name, info in instances.items() if info["state"] == "stopped"]
    candidates = [name for name in stopped if _can_run(instances[name].get("version"), db_version)]
    if not candidates:
        why = (
            f"the database was last migrated by {db_version}, newer than every stopped instance's version"
            if stopped and db_version
            else "no stopped container with a known version is left to start"
        )
        raise PlanError(
            f"no instance of the pair holds the lock ({described}) and none can be started safely: {why}. Bring the pair up"
            " with playbooks/deploy.yml on a version at least the database's, and run this again"
        )
    chosen = sorted(candidates, key=lambda n: (parse_version(str(instances[n]["version"])), n != preferred))[0]
    version = str(instances[chosen]["version"])
    why = (
        f"no instance holds the lock or waits for it ({described}; a run may have ended between stopping one instance and"
        f" starting the other): {chosen} is started first as it was, on {version}, which the database"
        f" ({db_version or 'no recorded version'}) allows, so that the pair serves again"
    )
    return {"action": "restore", "phase": "restore", "instance": chosen, "version": version, "why": why}


def plan_upgrade(
    state: t.Mapping[str, t.Any], version: str, preferred: str = "primary", hand_back: bool = True, restart_old: bool = True
) -> list[dict[str, t.Any]]:
    """Steps that bring both instances to ``version`` with the lock handed over (and back to ``preferred``)."""
    if parse_version(version) is None:
        raise PlanError(f"chainlink_version '{version}' is not a version such as 2.29.0")
    active, other, inst, steps = _check(state, preferred)
    db_version = state.get("db_version")
    if db_version and parse_version(str(db_version)) and compare_versions(version, str(db_version)) < 0:
        raise PlanError(
            f"the database was last migrated by version {db_version}, newer than the target {version}: a node older than the database refuses to"
            " boot, so this downgrade cannot be handed over. Choose a version >= the database's, or restore a backup taken before that upgrade"
        )
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
    active, _standby, inst, _restore_step = _check(state, preferred)
    version = inst[active].get("version")
    if not version or parse_version(str(version)) is None:
        raise PlanError(f"the version of the active instance {active} is unknown (no version label or tag on its container)")
    return plan_upgrade(state, str(version), preferred, hand_back, restart_old)


def plan_switchover(state: t.Mapping[str, t.Any], direction: str = "over", preferred: str = "primary", restart_old: bool = True) -> list[dict[str, t.Any]]:
    """Steps that move the lock to the non-preferred instance (``over``) or to ``preferred`` (``back``), versions unchanged."""
    if direction not in ("over", "back"):
        raise PlanError(f"direction '{direction}' is not one of over (to the standby, for maintenance of the preferred one) or back")
    active, other, inst, steps = _check(state, preferred)
    target = preferred if direction == "back" else next(name for name in inst if name != preferred)
    version = inst[active].get("version")
    if not version:
        raise PlanError(f"the version of the active instance {active} is unknown (no version label or tag on its container)")
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


def _plan_steps(
    state: t.Mapping[str, t.Any], action: str, version: str | None, direction: str, preferred: str, hand_back: bool, restart_old: bool
) -> list[dict[str, t.Any]]:
    if action == "upgrade":
        if not version:
            raise PlanError("an upgrade needs the target version: -e chainlink_version=<version>")
        return plan_upgrade(state, version, preferred, hand_back, restart_old)
    if action == "reconfigure":
        return plan_reconfigure(state, preferred, hand_back, restart_old)
    if action == "switchover":
        return plan_switchover(state, direction, preferred, restart_old)
    raise PlanError(f"handover_action '{action}' is not one of upgrade, reconfigure, switchover")


def plan(
    state: t.Mapping[str, t.Any],
    action: str,
    version: str | None = None,
    direction: str = "over",
    preferred: str = "primary",
    hand_back: bool = True,
    restart_old: bool = True,
    locking_mode: str | None = None,
    requested_format: str = "auto",
) -> dict[str, t.Any]:
    """The plan as the role uses it: steps, the instance active now, whether there is nothing to do, or the refusal.

    locking_mode and requested_format (the inventory's chainlink_locking_mode and chainlink_config_format) say which
    locks each started instance will take; with them, a plan whose new node would ignore the lock the active instance
    holds gets the advisory-lock bridge first, or is refused (``bridge_plan``).
    """
    try:
        steps = _plan_steps(state, action, version, direction, preferred, hand_back, restart_old)
        if locking_mode is not None and _crossing(state, steps, locking_mode, requested_format) is not None:
            steps = bridge_plan(state, action, version, direction, preferred, hand_back, restart_old, locking_mode, requested_format)
    except PlanError as exc:
        return {"steps": [], "done": False, "error": str(exc)}
    return {"steps": steps, "done": not steps, "error": None}


# -- crossing lock modes: the advisory-lock bridge ------------------------------------------------------------------

BRIDGE_MODE = "dual"
BRIDGE_LOCKS = ("lease", "advisory")


def _crossing(
    state: t.Mapping[str, t.Any], steps: t.Sequence[t.Mapping[str, t.Any]], locking_mode: str, requested_format: str
) -> tuple[str, str, tuple[str, ...], tuple[str, ...]] | None:
    """(instance, version, locks held, locks it takes) of the first instance a plan starts beside the active one that
    shares no lock with it (it would take its own free lock and boot beside the active node), or None.

    Only the starts before the first handover run beside the instance active now; later ones start beside an instance
    that the plan itself started with the same settings. Without a known holder (no lock read) there is nothing to compare.
    """
    held = tuple(str(lock) for lock in state.get("holder_locks") or ())
    if not held:
        return None
    for step in steps:
        if step["action"] == "handover":
            return None
        if step["action"] == "start":
            taken = locks_taken(step["version"], requested_format, step.get("locking_mode") or locking_mode)
            if not set(taken) & set(held):
                return str(step["instance"]), str(step["version"]), held, taken
    return None


def _bridge_refusal(active: str, active_version: t.Any, crossing: tuple[str, str, tuple[str, ...], tuple[str, ...]], why: str) -> PlanError:
    instance, version, held, taken = crossing
    return PlanError(
        f"{active} holds only the {' and '.join(held)} lock, and {instance} would start on {version} taking only the"
        f" {' and '.join(taken) or 'no'} lock: lock modes that share no lock do not see each other, so {instance} would take"
        f" its free lock, migrate the live database and run active beside {active} (two active nodes). No bridge exists"
        f" ({why}). Make the change cold instead (stop both instances, then playbooks/deploy.yml with the new settings),"
        f" or first move the pair on {active_version} to chainlink_locking_mode: {BRIDGE_MODE} with playbooks/reconfigure.yml."
        " Nothing was changed"
    )


def bridge_plan(
    state: t.Mapping[str, t.Any],
    action: str,
    version: str | None,
    direction: str,
    preferred: str,
    hand_back: bool,
    restart_old: bool,
    locking_mode: str,
    requested_format: str,
) -> list[dict[str, t.Any]]:
    """The advisory-lock bridge, then the plan: the pair first goes to ``dual`` on the version it runs, through the
    usual proven handover, so that it holds both locks; then any node of the target (lease only, or advisory only)
    waits for the lock it knows. Refused (PlanError naming the safe way) where no bridge exists.

    The bridge: restart the standby in dual (it takes the free lease and waits for the advisory lock, which the active
    instance holds: it cannot boot), hand over (the active one stops, releasing the advisory lock; the standby takes it
    and boots holding both), restart the old active one in dual (it waits for the lease). The target's own plan follows
    from there; its first start runs beside an instance that holds both locks.
    """
    steps = _plan_steps(state, action, version, direction, preferred, hand_back, restart_old)
    crossing = _crossing(state, steps, locking_mode, requested_format)
    if crossing is None:
        return steps
    active, other, inst, restore = _check(state, preferred)
    active_version = inst[active].get("version")
    parsed = parse_version(str(active_version or ""))
    if action == "switchover":
        raise _bridge_refusal(active, active_version, crossing, "a switchover keeps the settings; run reconfigure.yml")
    if restore:
        raise _bridge_refusal(active, active_version, crossing, "no instance holds the lock now")
    if parsed is None or config_format(active_version, requested_format) != "env" or parsed[0] >= (2, 0, 0) or parsed[0] < (1, 1, 0):
        why = f"{BRIDGE_MODE} needs a 1.x node from 1.1.0 configured by environment, and {active} runs {active_version}"
        raise _bridge_refusal(active, active_version, crossing, why)
    mark = [f"DATABASE_LOCKING_MODE {BRIDGE_MODE} for the bridge (the inventory says {locking_mode})"]
    marked = {**state, "instances": {name: {**info, "changes": mark} for name, info in inst.items()}}
    bridge = plan_upgrade(marked, str(active_version), preferred, hand_back=False, restart_old=True)
    for step in bridge:
        step["phase"] = f"bridge_{step['phase']}"
        step["why"] = f"bridge to {BRIDGE_MODE} before the change: {step['why']}"
        if step["action"] == "start":
            step["locking_mode"] = BRIDGE_MODE
    now_active = next(step["to"] for step in reversed(bridge) if step["action"] == "handover")
    after = {
        **state,
        "holder_locks": list(BRIDGE_LOCKS),
        "instances": {
            name: {**info, "state": "active" if name == now_active else "waiting", "version": active_version, "changes": mark} for name, info in inst.items()
        },
    }
    rest = _plan_steps(after, action, version, direction, preferred, hand_back, restart_old)
    if _crossing(after, rest, locking_mode, requested_format) is not None:
        raise _bridge_refusal(active, active_version, crossing, f"the target shares no lock with {BRIDGE_MODE} either")
    return bridge + rest


def describe(steps: t.Sequence[t.Mapping[str, t.Any]], instances: t.Mapping[str, t.Mapping[str, t.Any]]) -> list[str]:
    """One line per step, for --check and the report."""
    lines = []
    for number, step in enumerate(steps, 1):
        if step["action"] == "start":
            name = step["instance"]
            container = instances.get(name, {}).get("container_name", name)
            verb = "restart" if step.get("restart") else "start"
            mode = f" in {step['locking_mode']} mode" if step.get("locking_mode") else ""
            lines.append(f"{number}. {verb} {name} ({container}) on {step['version']}{mode} and prove it waits for the lock - {step['why']}")
        elif step["action"] == "restore":
            name = step["instance"]
            container = instances.get(name, {}).get("container_name", name)
            lines.append(f"{number}. start {name} ({container}) as it is and prove it takes the lock and answers /readyz - {step['why']}")
        else:
            frm, to = step["from"], step["to"]
            lines.append(f"{number}. stop {frm} gracefully (SIGTERM, lease released) and prove {to} takes the lock, boots and answers /readyz - {step['why']}")
    return lines


def schema_before_text(decision: t.Mapping[str, t.Any]) -> str:
    before = decision.get("schema_before")
    return f"version {before}" if before is not None else "version"


# -- restoring a safe state after a failed takeover -----------------------------------------------------------------

RESCUE_CASES = ("unknown", "to_holds", "to_may_hold", "from_holds", "from_returns", "db_newer", "schema_moved", "two_holders")


def two_holders(lock: t.Mapping[str, t.Any] | None) -> tuple[str, str] | None:
    """(lease holder, advisory holder) when a valid lease and the advisory lock are held by two different sessions,
    else None. A node that takes only the lease next to a 1.x advisorylock node (or the reverse) boots beside it: two
    active nodes. (A 1.x dual node holding the lease and waiting for the advisory lock has not booted; the collection
    makes that state only in the bridge's standby step, whose proof names it.)
    """
    if not lock or lock.get("consistent", True):
        return None
    lease = lock.get("lease") or {}
    advisory = lock.get("advisory") or {}
    if not (lease.get("valid") and advisory.get("held")):
        return None
    return str(lease.get("client_id") or ""), str(advisory.get("app_id") or advisory.get("application_name") or "")


def schema_moved(before: t.Any, after: t.Any) -> bool:
    """Whether the migrations went past where they were when the plan was made (goose's max(version_id))."""
    try:
        return before is not None and after is not None and int(after) > int(before)
    except (TypeError, ValueError):
        return False


def start_rescue(lock: t.Mapping[str, t.Any] | None, instance_app_id: t.Any, other_app_id: t.Any) -> dict[str, t.Any]:
    """Whether a standby that failed its start step is stopped, from the lock read after the failure.

    ``two_holders``: the lease and the advisory lock are held by different sessions and one is this instance (it
    started last): stopped at once, the pair had two active nodes. ``other_holds``: the other instance, as last seen,
    holds the lock: this one is not needed and is stopped. Otherwise (``unknown``: no read; ``other_gone``: the lock
    is not the other instance's) it is left running, as it may be the only one serving.
    """
    if not lock or "consistent" not in lock:
        return {"case": "unknown", "stop": False}
    pair = two_holders(lock)
    other = str(other_app_id or "")
    if pair is not None:
        # one holder is this instance when the other one is the other holder (or its own app ID, if known, is one)
        known = [str(instance_app_id or ""), other]
        ours = any(app_id_matches(seen, held) or app_id_matches(held, seen) for held in pair for seen in known if held and seen)
        return {"case": "two_holders", "stop": ours, "holders": list(pair)}
    if lock.get("consistent") and other and lock.get("holder_app_id") == other:
        return {"case": "other_holds", "stop": True}
    return {"case": "other_gone", "stop": False}


def _live_holder(lock: t.Mapping[str, t.Any] | None) -> tuple[bool, str | None]:
    """(the read succeeded, the app ID of a holder that is alive or None) of a lock_info result.

    A holder is alive while it has a session on the database (lock_info's ``instances``, app IDs possibly cut); a lease
    left by a process that died is no one's and runs out by itself.
    """
    if not lock or "consistent" not in lock:
        return False, None
    holder = str(lock.get("holder_app_id") or "").lower() if lock.get("consistent") else ""
    sessions = [str(i.get("app_id") or "") for i in lock.get("instances") or []]
    alive = bool(holder) and any(app_id_matches(holder, seen) for seen in sessions if seen)
    return True, holder if alive else None


def rescue(
    state: t.Mapping[str, t.Any] | None,
    frm: str,
    to: str,
    frm_version: str | None,
    recheck: t.Mapping[str, t.Any] | None = None,
    schema_before: t.Any = None,
) -> dict[str, t.Any]:
    """How a failed takeover (``frm`` stopped, ``to`` did not prove it took over) restores a safe state.

    ``state``: the pair observed again after the failure (detect: each running instance's app ID from its current run,
    so a standby that restarted and then took the lock is seen as the holder), or None when it could not be read.
    ``recheck``: lock_info's result read right before any stop (None or without fields: the read failed).

    Returns ``case`` (RESCUE_CASES), ``stop_to`` (stop the standby that did not take over), ``start_from`` (start the
    old instance again) and ``prove_from``: what to prove of it, ``active`` (it took the lock back and serves),
    ``standby`` (it waits behind the new holder) or None (nothing can be proven: the lock decides). The holder of the lock is never
    stopped: the standby is stopped only when the lock, read right before, has no live holder (a lease left by a
    process that crashed runs out by itself) or one known to be someone else. When nothing can be read, the old
    instance is started without stopping anything: both instances obey the lock, so starting one can never make two
    holders, and one of them serves once the lock allows it.

    Two more cases start nothing: ``two_holders`` (the lock read right before shows the lease and the advisory lock
    held by two sessions: two active nodes; the one that started last, ``to``, is stopped) and ``schema_moved``
    (``schema_before``, max(version_id) of goose_migrations when the plan was made, has grown: the new version
    migrated part-way before failing, node_versions still names the old version, and the old binary must not run on a
    schema it does not know; ``to`` is stopped unless it may hold the lock).
    """
    if state is None:
        return {"case": "unknown", "stop_to": False, "start_from": True, "prove_from": None}
    instances = state.get("instances") or {}
    to_info, frm_info = instances.get(to) or {}, instances.get(frm) or {}
    read, holder = _live_holder(recheck)
    to_id = to_info.get("app_id")
    # Seen active and still the live holder right before any stop: a run that took the lease and crashed (its lease
    # still valid, its session gone) is not, and is stopped below like any standby that did not take over.
    if to_info.get("state") == "active" and read and holder and to_id and (app_id_matches(to_id, holder) or app_id_matches(holder, to_id)):
        start = frm_info.get("state") == "stopped"
        return {"case": "to_holds", "stop_to": False, "start_from": start, "prove_from": "standby" if start else None}
    if read and two_holders(recheck) is not None:
        return {"case": "two_holders", "stop_to": True, "start_from": False, "prove_from": None}
    if frm_info.get("state") == "active":
        return {"case": "from_holds", "stop_to": False, "start_from": False, "prove_from": None}
    if schema_moved(schema_before, state.get("schema_version")):
        # the new version may be crash-looping on a broken migration: stopped unless it may hold the lock now
        may_hold = not read or bool(holder and (not to_id or app_id_matches(to_id, holder) or app_id_matches(holder, to_id)))
        running = to_info.get("state") in ("waiting", "unknown", "active")
        return {"case": "schema_moved", "stop_to": running and not may_hold, "start_from": False, "prove_from": None, "schema_before": schema_before}
    if not _can_run(frm_version, state.get("db_version")):
        return {"case": "db_newer", "stop_to": False, "start_from": False, "prove_from": None}
    to_running = to_info.get("state") in ("waiting", "unknown", "active")
    if to_running and (not read or (holder and (not to_id or app_id_matches(to_id, holder) or app_id_matches(holder, to_id)))):
        # it may hold the lock now (taken since the observation, or under an app ID its log did not give)
        return {"case": "to_may_hold", "stop_to": False, "start_from": True, "prove_from": None}
    return {"case": "from_returns", "stop_to": to_running, "start_from": True, "prove_from": "active"}


def rescue_outcome(
    decision: t.Mapping[str, t.Any],
    names: t.Mapping[str, str],
    error: str,
    restored: bool,
    restore_error: str | None = None,
    db_version: str | None = None,
    frm_version: str | None = None,
) -> dict[str, str]:
    """The failure's summary and next step in words, from what the rescue decided and did.

    names: phase, from, to, and the containers from_container, to_container.
    """
    frm, to, phase = names["from"], names["to"], names["phase"]
    a_box, b_box = names["from_container"], names["to_container"]
    head = f"{phase} {frm} -> {to} failed ({error})."
    case = decision["case"]
    started = f"{frm} was started again" if restored or not restore_error else f"starting {frm} again failed too ({restore_error})"
    if case == "unknown":
        body = (
            f"The pair's state could not be read after the failure, so nothing was stopped: {started}; both obey the lock, so"
            f" the one that can serves once the lock allows it."
        )
        nxt = (
            f"Check the database and both containers (docker logs {a_box}, docker logs {b_box}), then run the playbook again: it resumes from the pair's state."
        )
    elif case == "to_holds":
        body = f"{to} holds the lock (by its current app ID) but did not prove it serves; it was left running, and {started} as the standby."
        if restore_error:
            body = f"{to} holds the lock (by its current app ID) but did not prove it serves; it was left running; {started}."
        nxt = f"Check {to}: docker logs {b_box} and its /readyz; once it serves, run the playbook again."
    elif case == "to_may_hold":
        body = (
            f"{to} may hold the lock now (the lock read right before stopping it showed a holder that may be {to}, or could not be read),"
            f" so it was not stopped; {started} and waits for the lock if {to} holds it."
        )
        nxt = (
            f"Check which instance holds the lock (playbooks/status.yml) and docker logs {b_box}; then run the playbook again:"
            " it resumes from the pair's state."
        )
    elif case == "from_holds":
        body = f"{frm} holds the lock again; nothing was stopped."
        nxt = f"Read docker logs {b_box} for why it did not take over, fix it, then run the playbook again."
    elif case == "two_holders":
        body = (
            f"CRITICAL: TWO ACTIVE NODES: the lease and the advisory lock were held by two different instances (a node that"
            f" knows only one lock booted beside one that holds the other); {to}, which started last, was stopped and {frm} was not started again."
        )
        nxt = (
            f"Check that one holder remains (playbooks/status.yml) and which on-chain transactions both sent (docker logs {a_box},"
            f" docker logs {b_box}); then move the pair to one lock mode both versions share (the advisory-lock bridge: see docs/maintenance.md)."
        )
    elif case == "schema_moved":
        body = (
            f"CRITICAL: {to} failed after migrating the database part-way (goose_migrations moved past the plan's"
            f" {schema_before_text(decision)}, node_versions still says {db_version or 'the old version'}); {frm} on {frm_version} was NOT started"
            f" again (it does not know the new schema); {to} {'was stopped' if decision.get('stop_to') else 'was left as it was'}. Both may be down."
        )
        nxt = (
            f"Fix forward: start a working {to} version (the one that failed, fixed, or a newer one) with playbooks/upgrade.yml, or restore the"
            f" database backup taken before the upgrade and start {frm}. Never start {frm} on this database. docker logs {b_box} names the migration."
        )
    elif case == "db_newer":
        body = (
            f"CRITICAL: the database is now at version {db_version}, newer than {frm}'s {frm_version}, so {frm} cannot take the lock back"
            f" (it would refuse to boot); {to} was left running; both may be down."
        )
        nxt = (
            f"Fix {to}'s image or configuration and start it (it alone can run on this database), or restore the database backup taken"
            f" before the upgrade and start {frm}."
        )
    elif restored:
        stopped = f"{to} was stopped" if decision.get("stop_to") else f"{to} was not running"
        body = f"{frm} took the lock back on {frm_version} and serves again (the database, at {db_version or 'no recorded version'}, allows it); {stopped}."
        nxt = f"Read docker logs {b_box} for why it did not take over, fix it, then run the playbook again: it resumes from the standby start."
    else:
        body = f"CRITICAL: {frm} was started again but did not prove it serves ({restore_error or 'unknown error'}); {to} was stopped."
        nxt = f"Start an instance by hand now (docker start {a_box}) and read both containers' logs."
    return {"summary": f"{head} {body}", "next": nxt}
