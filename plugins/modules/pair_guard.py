#!/usr/bin/python
# Copyright: contributors to nodeops.chainlink
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style 6.3)

from __future__ import annotations

DOCUMENTATION = r"""
module: pair_guard
short_description: Keep every other run off a Chainlink pair while this run changes it
version_added: 0.1.0
description:
  - With O(state=present), takes the pair's guard and holds it until the Ansible run that took it ends, however long
    that is. A second run that wants to change the same pair fails, before it changes anything, with a message naming
    the session that holds the guard.
  - The guard is an advisory lock with a fixed two-integer key in the pair's own database (advisory locks live per
    database), so it is keyed by the database the pair's nodes share, not by the pair's inventory name - two inventories
    that name one pair differently still collide, two pairs never do - and its key space cannot collide with the 1.x
    node's single-bigint advisory lock.
  - The guard belongs to a run, named by the run's own token, which the action plugin makes on the controller from the
    run's main C(ansible-playbook) process (machine, boot, PID, start time) and passes as O(run_token). The guard's
    session carries it in its C(application_name), so whether this run holds the guard is always read from the
    database (C(pg_locks), C(pg_stat_activity)), never judged from processes on the host; several runs of one account
    sharing one SSH master connection (C(ControlPersist)), sshd's per-connection process names (C(sshd-session) from
    OpenSSH 9.8) and reconnects change nothing.
  - A background process on the managed host (the controller, for a pair host with C(ansible_connection=local)) holds
    the lock on its own database session. It ends when the C(ansible-playbook) run that started it is gone - a normal
    end, Ctrl-C, a killed or lost controller - and its session with it, which releases the guard. On a host reached
    over SSH it ends with the connection the run reaches it by (followed across reconnects, each call naming the current
    one, and a connection that ends is given 30 s to be replaced); a later run of the same controller that finds the
    guard held by a run that has ended (while a shared connection lives on) releases it and takes it. A database
    restart ends the session too; the process takes the guard again at once, and records the loss if another run took
    it in between (see RV(events)).
  - Taking the guard again in the same run proves that this run still holds it, from the database, so every role that
    changes a pair can take it; O(state=held) only proves it. A guard this run has lost fails both, and the run stops
    before its next change.
  - With O(state=absent), releases the guard this managed host holds for the database (for ad hoc use; playbooks leave
    that to the end of the run).
extends_documentation_fragment:
  - nodeops.chainlink._postgres
  - nodeops.chainlink._attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is taken or released, but the module still fails when another run holds the guard.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - O(state=present) does nothing while this run holds the guard; O(state=absent) does nothing when none is held.
options:
  name:
    description:
      - The pair's name, for messages (its inventory name). The guard itself is keyed by the database.
    type: str
    required: true
  state:
    description:
      - V(present) takes the guard for the rest of the run (or, taken before in the run, proves that the run still holds
        it); V(held) proves that this run holds it, taking nothing; V(absent) releases the guard of this run.
    type: str
    choices: [present, absent, held]
    default: present
  run_token:
    description:
      - The token of the run the guard belongs to. Set by the action plugin on the controller (the same for every task of
        one C(ansible-playbook) run); give it only to release or check another run's guard by hand.
    type: str
    required: true
  ended_runs:
    description:
      - Tokens of runs that the controller knows to have ended, whose guard is released before this run takes it. Set by
        the action plugin, for runs of its own controller only.
    type: list
    elements: str
    default: []
  force:
    description:
      - With O(state=absent), also release a guard of another run held from this host.
    type: bool
    default: false
  state_dir:
    description:
      - Directory for the guard's state files (one a database, named by a hash of its host, port, database and user).
    type: path
    default: ~/.ansible/nodeops_chainlink/guard
  timeout:
    description:
      - Seconds to wait for the guard when another session holds it (a run that is just ending releases it within one
        second), before failing.
    type: float
    default: 5
  owner_pid:
    description:
      - Process whose end releases the guard. By default the C(ansible-playbook) (or C(ansible)) process that runs the
        task, or on a host reached over SSH the connection's sshd; V(0) holds it until O(state=absent). It bounds the
        guard's life; it never decides which run holds it.
    type: int
requirements:
  - psycopg2 >= 2.8
seealso:
  - module: nodeops.chainlink.lock_observer
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Keep other runs off the pair for the rest of this run
  nodeops.chainlink.pair_guard:
    name: "{{ inventory_hostname }}"
    login_url: "{{ chainlink_database_url }}"
  delegate_to: localhost

- name: Prove right before a change that this run still holds the guard
  nodeops.chainlink.pair_guard:
    name: "{{ inventory_hostname }}"
    login_url: "{{ chainlink_database_url }}"
    state: held
  delegate_to: localhost

- name: Release the guard of an ad hoc run
  nodeops.chainlink.pair_guard:
    name: pair-one
    login_url: "{{ chainlink_database_url }}"
    state: absent
"""

RETURN = r"""
held:
  description: Whether this run holds the guard after the task (in check mode, whether it would).
  returned: always
  type: bool
  sample: true
key:
  description: The guard's advisory key, as pg_locks shows it (C(classid), C(objid), objsubid 2) in the pair's database.
  returned: always
  type: dict
  sample: {"classid": 1852793957, "objid": 1734439524}
run_token:
  description: This run's token, as the guard's session carries it in C(application_name).
  returned: always
  type: str
  sample: r3fa21c07.1x2k.5n3a9q
holder_tokens:
  description: On failure, the run tokens of the sessions that hold the guard.
  returned: failed
  type: list
  elements: str
pid:
  description: Process ID of the background process holding the guard.
  returned: when RV(held)
  type: int
  sample: 41234
events:
  description:
    - What happened to the guard since it was taken (C(taken), C(disconnected), C(retaken), C(lost), C(error)), each
      with C(t) (epoch seconds) and C(msg) where there is one.
  returned: always
  type: list
  elements: dict
  sample: [{"event": "taken", "t": 1765000000.0}]
"""

import json
import os
import traceback
import typing as t
from pathlib import Path

from ansible_collections.nodeops.chainlink.plugins.module_utils._daemon import DaemonProcess, alive, find_owner, owner_kind, owner_of
from ansible_collections.nodeops.chainlink.plugins.module_utils._guard import (
    GUARD_KEY,
    RECONNECT_GRACE,
    GuardTaken,
    GuardWorker,
    describe_holders,
    held_by,
    holders,
    run_tokens,
    state_name,
    taken_message,
)
from ansible_collections.nodeops.chainlink.plugins.module_utils._postgres import PostgresClient, PostgresError
from ansible_collections.nodeops.chainlink.plugins.module_utils._run_token import application_name, parse_token, token_of


class GuardManager:
    def __init__(self, client: PostgresClient) -> None:
        self.client = client
        self.name: str = client.params["name"]
        self.token: str = client.params["run_token"]
        self.timeout: float = client.params["timeout"]
        self.process = DaemonProcess(Path(client.params["state_dir"]), state_name(client.describe_target()))
        self.status_path = self.process.state_dir / f"{self.process.name}.status.json"
        self.result: dict[str, t.Any] = {
            "changed": False,
            "held": False,
            "run_token": self.token,
            "key": {"classid": GUARD_KEY[0], "objid": GUARD_KEY[1]},
            "events": [],
        }

    def events(self) -> list[dict[str, t.Any]]:
        try:
            return list(json.loads(self.status_path.read_text()).get("events") or [])
        except (OSError, ValueError, AttributeError):
            return []

    def read_holders(self) -> list[dict[str, t.Any]]:
        if not self.client.connected:
            self.client.connect(read_only=True, statement_timeout=5.0)
        return holders(self.client)

    def lost(self, why: str, rows: list[dict[str, t.Any]]) -> t.NoReturn:
        self.client.fail(
            f"this run lost the guard of '{self.name}' ({why}; the database shows it held by {describe_holders(rows) or 'no session'}):"
            " another run may have changed the pair since, so this run stops before its next change. Read where the pair"
            " stands (playbooks/status.yml) and run the playbook again",
            events=self.events(),
            holder_tokens=run_tokens(rows),
            held=False,
            run_token=self.token,
        )

    def present(self) -> None:
        if self.timeout < 0:
            self.client.fail(f"timeout must be 0 seconds or more (got {self.timeout})")
        meta = self.process.read_meta()
        ours = meta is not None and meta.get("run_token") == self.token
        if ours and meta is not None:
            # Taken earlier in this run: proven again from the database, never from the process that holds it.
            rows = self.read_holders()
            if not self.process.running(meta) or not held_by(rows, self.token):
                events = self.events()
                last = events[-1] if events else {}
                why = "its session is gone" if last.get("event") in (None, "taken", "retaken") else f"{last['event']}: {last.get('msg', '')}"
                self.lost(why, rows)
            self.follow_connection(meta)
            self.result.update(held=True, pid=meta["pid"], events=self.events())
            return
        if self.client.params["ended_runs"]:
            self.release_ended(meta, self.client.params["ended_runs"])
        if self.client.check_mode:
            # Nothing is taken, but a run that holds the guard is named now rather than by the real run.
            rows = self.read_holders()
            if rows:
                self.client.fail(taken_message(self.name, rows), holder_tokens=run_tokens(rows))
            self.result.update(changed=True, held=True)
            return
        self.client.close()  # the daemon opens its own session
        owner_pid = self.owner_pid()
        grace = RECONNECT_GRACE if owner_kind(owner_pid) == "connection" else 0.0
        owner = owner_of(owner_pid)
        started, message = self.process.start(
            lambda: GuardWorker(self.client, self.name, self.timeout, owner, self.status_path, self.process.meta_path, grace),
            owner_pid,
            {"name": self.name, "target": self.client.describe_target(), "run_token": self.token, "owner_start_time": owner[1] if owner else None},
            self.client.sanitize,
            (self.client.params.get("connect_timeout") or 10) + self.timeout + 5,
        )
        if started is None:
            if message.startswith("another run"):
                self.client.fail(message, holder_tokens=run_tokens(self.read_holders()))
            self.client.fail(f"Failed to take the guard of '{self.name}': {message}")
        self.result.update(changed=True, held=True, pid=started["pid"], events=self.events())

    def owner_pid(self) -> int | None:
        return self.client.params["owner_pid"] if self.client.params["owner_pid"] is not None else find_owner(os.getpid())

    def follow_connection(self, meta: dict[str, t.Any]) -> None:
        """A run that reaches this host over a new SSH connection (a reconnect) names it as the daemon's bound."""
        owner_pid = self.owner_pid()
        if not owner_pid or owner_pid == meta.get("owner_pid") or self.client.check_mode:
            return
        owner = owner_of(owner_pid)
        self.process.write_meta({**meta, "owner_pid": owner_pid, "owner_start_time": owner[1] if owner else None})

    def release_ended(self, meta: dict[str, t.Any] | None, ended: list[str]) -> None:
        """End the guard of runs that the controller which made their tokens knows to have ended (their daemon lingers
        while a shared SSH connection lives): this host's daemon by its PID, any other session by pg_terminate_backend."""
        if meta is not None and meta.get("run_token") in ended and self.process.running(meta):
            self.process.terminate(meta, 10)
        for row in self.read_holders():
            if token_of(row.get("application_name")) in ended:
                self.client.query("SELECT pg_terminate_backend(%s) AS ok", (row["pid"],))

    def check(self) -> None:
        """Prove from the database that this run holds the guard; fail, naming the holders, otherwise."""
        rows = self.read_holders()
        if not held_by(rows, self.token):
            self.lost("not held by this run now", rows)
        meta = self.process.read_meta()
        if meta is not None and meta.get("run_token") == self.token:
            self.follow_connection(meta)
            self.result.update(pid=meta.get("pid"), events=self.events())
        self.result["held"] = True

    def absent(self) -> None:
        meta = self.process.read_meta()
        self.result["events"] = self.events()
        if not self.process.running(meta) or meta is None:
            return
        if meta.get("run_token") not in (None, self.token) and not self.client.params["force"]:
            # another run's guard on this host: never released by a run that did not take it
            return
        self.result["changed"] = True
        if self.client.check_mode:
            return
        owner_pid = int(meta.get("owner_pid") or 0)
        if not self.process.terminate(meta, 10) and not (owner_pid and not alive(owner_pid, None)):
            self.client.fail(f"the guard's process (pid {meta['pid']}) did not end within 10 s")
        self.process.meta_path.unlink(missing_ok=True)


def main() -> None:
    client = PostgresClient(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent", "held"], "default": "present"},
            "run_token": {"type": "str", "required": True, "no_log": False},  # names a run, proves nothing: not a secret
            "ended_runs": {"type": "list", "elements": "str", "default": []},
            "force": {"type": "bool", "default": False},
            "state_dir": {"type": "path", "default": "~/.ansible/nodeops_chainlink/guard"},
            "timeout": {"type": "float", "default": 5},
            "owner_pid": {"type": "int"},
        },
        supports_check_mode=True,
        application_name="nodeops.chainlink pair_guard",
    )
    if parse_token(client.params["run_token"]) is None:
        client.fail(f"run_token '{client.params['run_token']}' is not a run token: leave it to the action plugin, which makes it on the controller")
    client.application_name = application_name(client.params["run_token"], client.params["name"])
    manager = GuardManager(client)
    try:
        if client.params["state"] == "present":
            manager.present()
        elif client.params["state"] == "held":
            manager.check()
        else:
            manager.absent()
    except GuardTaken as exc:
        client.fail(str(exc), holder_tokens=[])
    except (OSError, PostgresError) as exc:
        verb = {"present": "take", "held": "read", "absent": "release"}[client.params["state"]]
        client.fail(f"Failed to {verb} the guard of '{manager.name}': {exc}", exception=traceback.format_exc())
    client.exit(**manager.result)


if __name__ == "__main__":
    main()
