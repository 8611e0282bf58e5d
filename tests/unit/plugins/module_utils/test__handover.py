# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The handover plan: every state a pair can be found in (fresh, half-way after an interruption, done) -> the remaining steps."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.nodeops.chainlink.plugins.filter.handover_plan import handover_plan
from ansible_collections.nodeops.chainlink.plugins.module_utils._handover import describe, plan, rescue, rescue_outcome, schema_moved, start_rescue, two_holders


def pair(primary: tuple[str, str | None], secondary: tuple[str, str | None], db_version: str | None = None) -> dict[str, t.Any]:
    return {
        "instances": {
            "primary": {"state": primary[0], "version": primary[1], "container_name": "p-primary"},
            "secondary": {"state": secondary[0], "version": secondary[1], "container_name": "p-secondary"},
        },
        "db_version": db_version,
    }


def short(steps: list[dict[str, t.Any]]) -> list[str]:
    out = []
    for s in steps:
        if s["action"] == "start":
            out.append(f"{'restart' if s['restart'] else 'start'} {s['instance']}@{s['version']}")
        elif s["action"] == "restore":
            out.append(f"restore {s['instance']}@{s['version']}")
        else:
            out.append(f"{s['from']}->{s['to']}")
    return out


V0, V1 = "2.28.0", "2.29.0"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        # Fresh pair: the whole sequence, steps 2 to 6 of the issue.
        (
            pair(("active", V0), ("waiting", V0)),
            [f"start secondary@{V1}", "primary->secondary", f"start primary@{V1}", "secondary->primary", f"start secondary@{V1}"],
        ),
        # Interrupted after the standby started on the target: carry on with the stop of the active one.
        (pair(("active", V0), ("waiting", V1)), ["primary->secondary", f"start primary@{V1}", "secondary->primary", f"start secondary@{V1}"]),
        # Interrupted after the takeover, the old primary still stopped on the old version.
        (pair(("stopped", V0), ("active", V1)), [f"start primary@{V1}", "secondary->primary", f"start secondary@{V1}"]),
        # Interrupted before the hand back.
        (pair(("waiting", V1), ("active", V1)), ["secondary->primary", f"start secondary@{V1}"]),
        # Interrupted after the hand back, the secondary not restarted yet.
        (pair(("active", V1), ("stopped", V1)), [f"start secondary@{V1}"]),
        # Done: nothing at all.
        (pair(("active", V1), ("waiting", V1)), []),
        # Standby missing or stuck on the same version: (re)start it, nothing else.
        (pair(("active", V1), ("absent", None)), [f"start secondary@{V1}"]),
        (pair(("active", V1), ("unknown", V1)), [f"restart secondary@{V1}"]),
    ],
)
def test_upgrade_plan_resumes_from_any_state(state: dict[str, t.Any], expected: list[str]) -> None:
    result = plan(state, "upgrade", V1)
    assert result["error"] is None
    assert short(result["steps"]) == expected
    assert result["done"] is (expected == [])


def test_upgrade_without_hand_back_leaves_the_secondary_active() -> None:
    steps = plan(pair(("active", V0), ("waiting", V0)), "upgrade", V1, hand_back=False)["steps"]
    assert short(steps) == [f"start secondary@{V1}", "primary->secondary", f"start primary@{V1}"]


def test_upgrade_without_restart_old_leaves_stopped_instances_stopped() -> None:
    steps = plan(pair(("active", V0), ("waiting", V0)), "upgrade", V1, restart_old=False)["steps"]
    assert short(steps) == [f"start secondary@{V1}", "primary->secondary", "secondary->primary"]


@pytest.mark.parametrize(
    ("state", "version", "message"),
    [
        (pair(("absent", None), ("absent", None)), V1, "Bring the pair up with playbooks/deploy.yml"),
        # Nothing can run against a database a newer version migrated: refused, nothing started.
        (pair(("stopped", V0), ("absent", None), db_version=V1), V1, "newer than every stopped instance's version"),
        # Something runs without waiting (booting, crash-looping): starting another changes nothing safely.
        (pair(("stopped", V0), ("unknown", V1)), V1, "secondary runs without waiting for it"),
        # The active instance just died and its lease still runs: the waiting standby will take it, so wait and run again.
        (pair(("stopped", V0), ("waiting", V0)), V1, "secondary takes the lock when its lease expires"),
        (pair(("active", V0), ("active", V0)), V1, "two instances are seen as active"),
        (pair(("active", V1), ("waiting", V1), db_version="2.29.0"), "2.28.0", "newer than the target 2.28.0"),
        (pair(("active", V1), ("waiting", V1)), "latest", "is not a version"),
        ({"instances": {"primary": {"state": "active", "version": V0}}}, V1, "exactly two instances"),
    ],
)
def test_upgrade_refusals_name_the_problem(state: dict[str, t.Any], version: str, message: str) -> None:
    result = plan(state, "upgrade", version)
    assert result["steps"] == []
    assert message in result["error"]


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        # A run died in a failed takeover's rescue, between stopping the new standby and restarting the old active one:
        # the old version (the database was not migrated) comes back first, then the upgrade goes on.
        (
            pair(("stopped", V0), ("stopped", V1)),
            "upgrade",
            [f"restore primary@{V0}", f"start secondary@{V1}", "primary->secondary", f"start primary@{V1}", "secondary->primary", f"start secondary@{V1}"],
        ),
        # The database was migrated by the new version: only that one can run, it comes back and the old one follows.
        (
            pair(("stopped", V0), ("stopped", V1), db_version=V1),
            "upgrade",
            [f"restore secondary@{V1}", f"start primary@{V1}", "secondary->primary", f"start secondary@{V1}"],
        ),
        # Equal versions: the preferred instance; the other one absent is deployed as the standby.
        (pair(("stopped", V1), ("stopped", V1)), "switchover", [f"restore primary@{V1}", f"start secondary@{V1}", "primary->secondary", f"start primary@{V1}"]),
        (
            pair(("absent", None), ("stopped", V1)),
            "reconfigure",
            [f"restore secondary@{V1}", f"start primary@{V1}", "secondary->primary", f"start secondary@{V1}"],
        ),
    ],
)
def test_a_pair_with_no_active_instance_is_restored_first(state: dict[str, t.Any], action: str, expected: list[str]) -> None:
    result = plan(state, action, V1 if action == "upgrade" else None)
    assert result["error"] is None
    assert short(result["steps"]) == expected
    assert "no instance holds the lock or waits for it" in result["steps"][0]["why"]
    assert describe(result["steps"], state["instances"])[0].startswith("1. start " + result["steps"][0]["instance"])


def test_same_version_as_the_database_is_not_a_downgrade() -> None:
    assert plan(pair(("active", V0), ("waiting", V0), db_version=V0), "upgrade", V0)["steps"] == []


@pytest.mark.parametrize(
    ("state", "direction", "expected"),
    [
        (pair(("active", V1), ("waiting", V1)), "over", ["primary->secondary", f"start primary@{V1}"]),
        (pair(("waiting", V1), ("active", V1)), "over", []),
        (pair(("waiting", V1), ("active", V1)), "back", ["secondary->primary", f"start secondary@{V1}"]),
        (pair(("active", V1), ("waiting", V1)), "back", []),
        # Standby down before a switchover: start it on the active's version first.
        (pair(("active", V1), ("stopped", V1)), "over", [f"start secondary@{V1}", "primary->secondary", f"start primary@{V1}"]),
        # Back from maintenance where the primary was left stopped: restart it as the standby first.
        (pair(("stopped", V1), ("active", V1)), "back", [f"start primary@{V1}", "secondary->primary", f"start secondary@{V1}"]),
    ],
)
def test_switchover_plan_is_idempotent_per_direction(state: dict[str, t.Any], direction: str, expected: list[str]) -> None:
    assert short(plan(state, "switchover", direction=direction)["steps"]) == expected


@pytest.mark.parametrize(
    ("state", "restart_old", "expected"),
    [
        # Restart the machine of the active instance, command 1: the lock over, the primary left stopped.
        (pair(("active", V1), ("waiting", V1)), False, ["primary->secondary"]),
        # Command 1 again (the primary is down for maintenance): nothing, the primary stays stopped.
        (pair(("stopped", V1), ("active", V1)), False, []),
        # Its container removed during the maintenance (machine replaced): command 1 still has nothing to do.
        (pair(("absent", None), ("active", V1)), False, []),
    ],
)
def test_switchover_over_without_restart_old_leaves_the_old_instance_down(state: dict[str, t.Any], restart_old: bool, expected: list[str]) -> None:
    assert short(plan(state, "switchover", restart_old=restart_old)["steps"]) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        # Failback after an unplanned failover (the killed primary's container stopped) or after a maintenance: start it,
        # hand back, the secondary back as the standby; the same whether the primary's container is stopped or gone.
        (pair(("stopped", V1), ("active", V1)), [f"start primary@{V1}", "secondary->primary", f"start secondary@{V1}"]),
        (pair(("absent", None), ("active", V1)), [f"start primary@{V1}", "secondary->primary", f"start secondary@{V1}"]),
        # Restarted by Docker after a crash but not waiting (crash loop, stuck): restart it on the active's version first.
        (pair(("unknown", V1), ("active", V1)), [f"restart primary@{V1}", "secondary->primary", f"start secondary@{V1}"]),
        # A primary that came back on an older image (a restored machine): started on the active's version, not its own.
        (pair(("stopped", V0), ("active", V1)), [f"start primary@{V1}", "secondary->primary", f"start secondary@{V1}"]),
    ],
)
def test_failback_starts_the_primary_on_the_active_version_then_hands_back(state: dict[str, t.Any], expected: list[str]) -> None:
    assert short(plan(state, "switchover", direction="back")["steps"]) == expected


def test_unknown_action_and_direction_are_refused() -> None:
    assert "handover_action 'rollout'" in plan(pair(("active", V1), ("waiting", V1)), "rollout")["error"]
    assert "direction 'sideways'" in plan(pair(("active", V1), ("waiting", V1)), "switchover", direction="sideways")["error"]


def test_describe_and_filter_give_the_plan_in_words() -> None:
    state = pair(("active", V0), ("waiting", V0))
    result = handover_plan(state, "upgrade", version=V1)
    assert result["lines"][0].startswith("1. start secondary (p-secondary) on 2.29.0 and prove it waits for the lock")
    assert result["lines"][1].startswith("2. stop primary gracefully (SIGTERM, lease released) and prove secondary takes the lock")
    assert describe([], state["instances"]) == []


def test_filter_rejects_a_non_dict_state() -> None:
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="expects the pair state as a dict, got list"):
        handover_plan([], "upgrade", version=V1)


def drifted(state: dict[str, t.Any], **changes: list[str]) -> dict[str, t.Any]:
    """``state`` with the named instances' settings differing from the inventory."""
    for name, names in changes.items():
        state["instances"][name]["changes"] = names
    return state


LEVEL = ["config.toml: Log.Level"]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        # Both differ: the whole handover, on the version the active one runs.
        (
            drifted(pair(("active", V1), ("waiting", V1)), primary=LEVEL, secondary=LEVEL),
            [f"restart secondary@{V1}", "primary->secondary", f"start primary@{V1}", "secondary->primary", f"start secondary@{V1}"],
        ),
        # Interrupted after the standby was restarted with the new settings: carry on with the handover.
        (
            drifted(pair(("active", V1), ("waiting", V1)), primary=LEVEL),
            ["primary->secondary", f"start primary@{V1}", "secondary->primary", f"start secondary@{V1}"],
        ),
        # Only the standby differs: restart it, the active one is not touched.
        (drifted(pair(("active", V1), ("waiting", V1)), secondary=LEVEL), [f"restart secondary@{V1}"]),
        # The secondary active (after a failover): reconfigure on its version, the lock back to the primary.
        (
            drifted(pair(("stopped", V1), ("active", V1)), secondary=LEVEL),
            [f"start primary@{V1}", "secondary->primary", f"start secondary@{V1}"],
        ),
        # Nothing differs: nothing to do.
        (pair(("active", V1), ("waiting", V1)), []),
        # A split pair after a failed upgrade: the version the active one runs is kept.
        (
            drifted(pair(("active", V0), ("waiting", V1)), primary=LEVEL),
            [f"start secondary@{V0}", "primary->secondary", f"start primary@{V0}", "secondary->primary", f"start secondary@{V0}"],
        ),
    ],
)
def test_reconfigure_restarts_every_instance_whose_settings_differ_on_the_active_version(state: dict[str, t.Any], expected: list[str]) -> None:
    result = plan(state, "reconfigure")
    assert result["error"] is None
    assert short(result["steps"]) == expected
    assert result["done"] is (expected == [])


def test_reconfigure_steps_carry_the_changes_and_say_them() -> None:
    state = drifted(pair(("active", V1), ("waiting", V1)), primary=LEVEL, secondary=["env: LOG_LEVEL"])
    steps = plan(state, "reconfigure")["steps"]
    assert steps[0]["changes"] == ["env: LOG_LEVEL"] and steps[0]["restart"] is True
    assert steps[2]["instance"] == "primary" and steps[2]["changes"] == LEVEL
    assert steps[1]["why"] == "primary runs settings that differ from the inventory"
    lines = describe(steps, state["instances"])
    assert lines[0] == (
        "1. restart secondary (p-secondary) on 2.29.0 and prove it waits for the lock"
        " - the standby must wait on 2.29.0 with the inventory's settings before the active one is stopped"
    )


def test_upgrade_on_the_running_version_rolls_out_changed_settings() -> None:
    state = drifted(pair(("active", V1), ("waiting", V1)), primary=LEVEL, secondary=LEVEL)
    assert short(plan(state, "upgrade", version=V1)["steps"]) == short(plan(state, "reconfigure")["steps"])
    # a new version restarts both anyway; the settings ride along
    assert short(plan(state, "upgrade", version="2.30.0")["steps"])[0] == "start secondary@2.30.0"


def test_reconfigure_refuses_a_pair_without_holder_or_version() -> None:
    assert "none can be started safely" in plan(drifted(pair(("absent", None), ("absent", None)), primary=LEVEL), "reconfigure")["error"]
    assert "version of the active instance primary is unknown" in plan(pair(("active", None), ("waiting", V1)), "reconfigure")["error"]
    assert "not one of upgrade, reconfigure, switchover" in plan(pair(("active", V1), ("waiting", V1)), "rollout")["error"]


def observed(primary: str, secondary: str, *, app_ids: tuple[str | None, str | None] = ("a" * 36, "b" * 36), db_version: str | None = None) -> dict[str, t.Any]:
    state = pair((primary, V0), (secondary, V1), db_version)
    state["instances"]["primary"]["app_id"], state["instances"]["secondary"]["app_id"] = app_ids
    return state


LOCK_FREE: dict[str, t.Any] = {"consistent": True, "holder_app_id": None, "instances": []}


def held_by(app_id: str, alive: bool = True) -> dict[str, t.Any]:
    # application_name cuts the app ID: sessions show a prefix
    return {"consistent": True, "holder_app_id": app_id, "instances": [{"app_id": app_id[:20]}] if alive else []}


@pytest.mark.parametrize(
    ("state", "recheck", "case", "stop_to", "start_from", "prove_from"),
    [
        # Nothing could be read: stop nothing, start the old one (both obey the lock).
        (None, None, "unknown", False, True, None),
        # The standby restarted (new app ID) and then took the lock: seen active under its current ID, never stopped.
        (observed("stopped", "active"), held_by("b" * 36), "to_holds", False, True, "standby"),
        # Seen active, but the run that took the lease crashed before the stop (no session): stopped like any standby.
        (observed("stopped", "active"), held_by("b" * 36, alive=False), "from_returns", True, True, "active"),
        # Seen active, and the read right before the stop failed: it may hold the lock, so it is not stopped.
        (observed("stopped", "active"), {"msg": "timeout"}, "to_may_hold", False, True, None),
        # The old one holds again: nothing to do.
        (observed("active", "waiting"), LOCK_FREE, "from_holds", False, False, None),
        # Nobody holds and the lock is free right before the stop: stop the standby, the old one takes the lock back.
        (observed("stopped", "waiting"), LOCK_FREE, "from_returns", True, True, "active"),
        (observed("stopped", "stopped"), LOCK_FREE, "from_returns", False, True, "active"),
        # The standby took the lock between the observation and the stop: it is not stopped.
        (observed("stopped", "waiting"), held_by("b" * 36), "to_may_hold", False, True, None),
        # A live holder the standby's log cannot be matched against (no app ID): it may be the standby.
        (observed("stopped", "unknown", app_ids=("a" * 36, None)), held_by("c" * 36), "to_may_hold", False, True, None),
        # A lease left by a run of the standby that crashed (no session any more) protects nothing: it runs out.
        (observed("stopped", "unknown", app_ids=("a" * 36, None)), held_by("c" * 36, alive=False), "from_returns", True, True, "active"),
        # The read right before the stop failed: no stop.
        (observed("stopped", "waiting"), {"failed": True, "msg": "connection refused"}, "to_may_hold", False, True, None),
        # A holder known to be someone else (not the standby by its current app ID) does not protect the standby.
        (observed("stopped", "waiting"), held_by("c" * 36), "from_returns", True, True, "active"),
        # The database was migrated past the old version: the old one cannot come back, the standby is left.
        (observed("stopped", "waiting", db_version=V1), LOCK_FREE, "db_newer", False, False, None),
    ],
)
def test_rescue_never_stops_the_holder(
    state: dict[str, t.Any] | None, recheck: dict[str, t.Any], case: str, stop_to: bool, start_from: bool, prove_from: str | None
) -> None:
    decision = rescue(state, "primary", "secondary", V0, recheck)
    assert decision == {"case": case, "stop_to": stop_to, "start_from": start_from, "prove_from": prove_from}


NAMES = {"phase": "takeover", "from": "primary", "to": "secondary", "from_container": "p-primary", "to_container": "p-secondary"}


@pytest.mark.parametrize(
    ("case", "restored", "restore_error", "words"),
    [
        ("unknown", False, None, "could not be read after the failure, so nothing was stopped: primary was started again"),
        ("to_holds", False, None, "secondary holds the lock (by its current app ID)"),
        ("to_may_hold", False, None, "so it was not stopped"),
        ("from_returns", True, None, "primary took the lock back on 2.28.0 and serves again"),
        ("from_returns", False, "no booted line", "CRITICAL: primary was started again but did not prove it serves (no booted line)"),
        ("db_newer", False, None, "CRITICAL: the database is now at version 2.29.0"),
    ],
)
def test_rescue_outcome_says_what_was_done(case: str, restored: bool, restore_error: str | None, words: str) -> None:
    decision = {"case": case, "stop_to": case == "from_returns", "start_from": True, "prove_from": "active" if case == "from_returns" else None}
    out = rescue_outcome(decision, NAMES, "no takeover in 9 s", restored, restore_error, db_version=V1 if case == "db_newer" else None, frm_version=V0)
    assert out["summary"].startswith("takeover primary -> secondary failed (no takeover in 9 s).")
    assert words in out["summary"]
    assert out["next"]


# -- crossing lock modes (core/services/pg/locked_db.go @v1.11.0 and @v2.29.0: modes that share no lock ignore each other)


def held(state: dict[str, t.Any], *locks: str) -> dict[str, t.Any]:
    return {**state, "holder_locks": list(locks)}


def test_upgrade_of_an_advisorylock_pair_to_2x_bridges_through_dual_first() -> None:
    state = held(pair(("active", "1.11.0"), ("waiting", "1.11.0")), "advisory")
    result = plan(state, "upgrade", version="2.29.0", locking_mode="advisorylock")
    assert result["error"] is None
    steps = result["steps"]
    assert short(steps) == [
        "restart secondary@1.11.0",
        "primary->secondary",
        "start primary@1.11.0",
        "start primary@2.29.0",
        "secondary->primary",
        "start secondary@2.29.0",
    ]
    # the bridge's starts run in dual (both locks) on the running version; the target's as the inventory says
    assert [s.get("locking_mode") for s in steps if s["action"] == "start"] == ["dual", "dual", None, None]
    assert [s["phase"] for s in steps[:3]] == ["bridge_start_standby", "bridge_takeover", "bridge_restart_old"]
    lines = describe(steps, state["instances"])
    assert "on 1.11.0 in dual mode" in lines[0] and "bridge to dual" in lines[0]


def test_reconfigure_advisorylock_to_lease_on_1x_bridges_too() -> None:
    state = held(pair(("active", "1.11.0"), ("waiting", "1.11.0")), "advisory")
    state["instances"]["primary"]["changes"] = ["DATABASE_LOCKING_MODE"]
    state["instances"]["secondary"]["changes"] = ["DATABASE_LOCKING_MODE"]
    steps = plan(state, "reconfigure", locking_mode="lease")["steps"]
    assert short(steps)[:3] == ["restart secondary@1.11.0", "primary->secondary", "start primary@1.11.0"]
    assert short(steps)[3:] == ["restart primary@1.11.0", "secondary->primary", "start secondary@1.11.0"]
    assert [s.get("locking_mode") for s in steps if s["action"] == "start"] == ["dual", "dual", None, None]


@pytest.mark.parametrize(
    ("holder_locks", "mode", "version"),
    [
        (["lease", "advisory"], "dual", "2.29.0"),  # dual holds the lease the 2.x node waits for
        (["advisory"], "dual", "1.11.0"),  # a dual standby waits for the advisory lock
        (["advisory"], "advisorylock", "1.11.0"),
        (["lease"], "dual", "2.29.0"),
        ([], "advisorylock", "2.29.0"),  # no holder read: nothing to compare (the restore/refusal rules apply)
    ],
)
def test_no_bridge_where_the_new_node_shares_a_lock_with_the_active_one(holder_locks: list[str], mode: str, version: str) -> None:
    state = held(pair(("active", "1.11.0"), ("waiting", "1.11.0")), *holder_locks)
    steps = plan(state, "upgrade", version=version, locking_mode=mode)["steps"]
    assert not any(s["phase"].startswith("bridge_") for s in steps)


@pytest.mark.parametrize(
    ("state", "action", "options", "words"),
    [
        # a switchover keeps the settings; the inventory's change is reconfigure's
        (held(pair(("active", "1.11.0"), ("stopped", "1.11.0")), "advisory"), "switchover", {"locking_mode": "lease"}, "run reconfigure.yml"),
        # 1.0.x has no lease, so no dual
        (held(pair(("active", "1.0.0"), ("waiting", "1.0.0")), "advisory"), "upgrade", {"version": "2.29.0", "locking_mode": "advisorylock"}, "from 1.1.0"),
        # TOML on both sides (1.x TOML has no locking mode): the lease, shared, so nothing to bridge
        (
            held(pair(("active", "1.11.0"), ("waiting", "1.11.0")), "lease"),
            "upgrade",
            {"version": "1.12.0", "locking_mode": "advisorylock", "requested_format": "toml"},
            None,
        ),
    ],
)
def test_crossing_without_a_bridge_is_refused_before_any_change(state: dict[str, t.Any], action: str, options: dict[str, t.Any], words: str | None) -> None:
    result = plan(state, action, **options)
    if words is None:  # TOML on both sides: the lease, shared, no crossing
        assert result["error"] is None
        return
    assert result["steps"] == []
    assert "two active nodes" in result["error"] and words in result["error"] and "Nothing was changed" in result["error"]


def test_a_lease_only_active_crossing_to_env_advisorylock_bridges_where_dual_exists() -> None:
    state = held(pair(("active", "1.11.0"), ("waiting", "1.11.0")), "lease")
    state["instances"]["secondary"]["changes"] = ["x"]
    result = plan(state, "reconfigure", locking_mode="advisorylock", requested_format="env")
    # the active one holds the lease only (it runs TOML); an env advisorylock standby would ignore it. dual on 1.11.0 with
    # env config would be the bridge, and the requested format is env, so the bridge is planned
    assert result["error"] is None and result["steps"][0]["locking_mode"] == "dual"
    result = plan(state, "reconfigure", locking_mode="advisorylock", requested_format="toml")
    assert result["error"] is None and "locking_mode" not in result["steps"][0]  # TOML takes the lease: no crossing


# -- two holders and partial migrations


def split(lease_id: str, advisory_id: str) -> dict[str, t.Any]:
    """lock_info's view of a lease and an advisory lock held by two sessions."""
    return {
        "consistent": False,
        "holder_app_id": lease_id,
        "lease": {"valid": True, "client_id": lease_id},
        "advisory": {"held": True, "app_id": advisory_id},
        "instances": [{"app_id": lease_id[:20]}, {"app_id": advisory_id[:20]}],
    }


def test_two_holders_is_a_lease_and_an_advisory_lock_held_by_two_sessions() -> None:
    assert two_holders(split("b" * 36, "a" * 36)) == ("b" * 36, "a" * 36)
    assert two_holders(held_by("a" * 36)) is None
    assert two_holders({**split("b" * 36, "a" * 36), "lease": {"valid": False, "client_id": "b" * 36}}) is None
    assert two_holders(None) is None


def test_a_failed_start_beside_a_holder_of_the_other_lock_is_stopped_and_named() -> None:
    # the reported bug: a 2.x standby took the lease and booted beside the 1.x advisorylock holder
    decision = start_rescue(split("b" * 36, "a" * 36), None, "a" * 36)
    assert decision["case"] == "two_holders" and decision["stop"] is True
    assert start_rescue(held_by("a" * 36), "b" * 36, "a" * 36) == {"case": "other_holds", "stop": True}
    assert start_rescue(held_by("c" * 36), "b" * 36, "a" * 36) == {"case": "other_gone", "stop": False}
    assert start_rescue({"msg": "timeout"}, "b" * 36, "a" * 36) == {"case": "unknown", "stop": False}
    # neither holder can be told to be ours: not stopped, the summary says so
    assert start_rescue(split("c" * 36, "d" * 36), None, "a" * 36)["stop"] is False


def test_rescue_with_two_holders_stops_the_new_one_and_starts_nothing() -> None:
    decision = rescue(observed("stopped", "active"), "primary", "secondary", V0, split("b" * 36, "c" * 36))
    assert decision == {"case": "two_holders", "stop_to": True, "start_from": False, "prove_from": None}


@pytest.mark.parametrize(("before", "after", "moved"), [(111, 116, True), (111, 111, False), (None, 116, False), (111, None, False), ("x", 1, False)])
def test_schema_moved(before: t.Any, after: t.Any, moved: bool) -> None:
    assert schema_moved(before, after) is moved


def test_rescue_after_a_partial_migration_never_restarts_the_old_version() -> None:
    state = observed("stopped", "unknown", app_ids=("a" * 36, None))
    state["schema_version"] = 116  # node_versions still names the old version
    decision = rescue(state, "primary", "secondary", V0, LOCK_FREE, schema_before=111)
    assert (decision["case"], decision["stop_to"], decision["start_from"]) == ("schema_moved", True, False)
    # a schema that did not move: rolled back as before
    state["schema_version"] = 111
    assert rescue(state, "primary", "secondary", V0, LOCK_FREE, schema_before=111)["case"] == "from_returns"
    words = rescue_outcome(decision, NAMES, "boot failed", False, db_version=V0, frm_version=V0)
    assert "CRITICAL" in words["summary"] and "was NOT started" in words["summary"] and "Never start primary" in words["next"]
    assert "restore the database backup" in words["next"]
