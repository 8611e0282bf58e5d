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
  - A background process on the managed host (the controller, for a pair host with C(ansible_connection=local)) holds
    the lock on its own database session. It ends when the C(ansible-playbook) run that started it is gone - a normal
    end, Ctrl-C, a killed or lost controller - and its session with it, which releases the guard, whatever transport
    reaches the Docker hosts. A database restart ends the session too; the process takes the guard again at once, and
    records the loss if another run took it in between (see RV(events)).
  - Taking the guard again in the same run does nothing, so every role that changes a pair can take it.
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
      - V(present) takes the guard for the rest of the run; V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
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
        task; V(0) holds it until O(state=absent).
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

from ansible_collections.nodeops.chainlink.plugins.module_utils._daemon import DaemonProcess, alive, find_owner, owner_of
from ansible_collections.nodeops.chainlink.plugins.module_utils._guard import GUARD_KEY, GuardTaken, GuardWorker, holders, state_name, taken_message
from ansible_collections.nodeops.chainlink.plugins.module_utils._postgres import PostgresClient, PostgresError


class GuardManager:
    def __init__(self, client: PostgresClient) -> None:
        self.client = client
        self.name: str = client.params["name"]
        self.timeout: float = client.params["timeout"]
        self.process = DaemonProcess(Path(client.params["state_dir"]), state_name(client.describe_target()))
        self.status_path = self.process.state_dir / f"{self.process.name}.status.json"
        self.result: dict[str, t.Any] = {"changed": False, "held": False, "key": {"classid": GUARD_KEY[0], "objid": GUARD_KEY[1]}, "events": []}

    def events(self) -> list[dict[str, t.Any]]:
        try:
            return list(json.loads(self.status_path.read_text()).get("events") or [])
        except (OSError, ValueError, AttributeError):
            return []

    def present(self) -> None:
        if self.timeout < 0:
            self.client.fail(f"timeout must be 0 seconds or more (got {self.timeout})")
        owner_pid = self.client.params["owner_pid"] if self.client.params["owner_pid"] is not None else find_owner(os.getpid())
        meta = self.process.read_meta()
        if self.process.running(meta) and meta is not None and owner_pid and meta.get("owner_pid") == owner_pid:
            events = self.events()
            if events and events[-1]["event"] in ("lost", "error"):
                self.client.fail(f"this run lost the guard of '{self.name}': {events[-1].get('msg')}", events=events)
            self.result.update(held=True, pid=meta["pid"], events=events)
            return
        if self.client.check_mode:
            # Nothing is taken, but a run that holds the guard is named now rather than by the real run.
            self.client.connect(read_only=True, statement_timeout=5.0)
            rows = holders(self.client)
            if rows:
                self.client.fail(taken_message(self.name, rows))
            self.result.update(changed=True, held=True)
            return
        owner = owner_of(owner_pid)
        started, message = self.process.start(
            lambda: GuardWorker(self.client, self.name, self.timeout, owner, self.status_path),
            owner_pid,
            {"name": self.name, "target": self.client.describe_target()},
            self.client.sanitize,
            (self.client.params.get("connect_timeout") or 10) + self.timeout + 5,
        )
        if started is None:
            self.client.fail(message if message.startswith("another run") else f"Failed to take the guard of '{self.name}': {message}")
        self.result.update(changed=True, held=True, pid=started["pid"], events=self.events())

    def absent(self) -> None:
        meta = self.process.read_meta()
        self.result["events"] = self.events()
        if not self.process.running(meta) or meta is None:
            return
        self.result["changed"] = True
        if self.client.check_mode:
            return
        owner_pid = int(meta.get("owner_pid") or 0)
        if not self.process.terminate(meta, 10) and not (owner_pid and not alive(owner_pid, None)):
            self.client.fail(f"the guard's process (pid {meta['pid']}) did not end within 10 s")


def main() -> None:
    client = PostgresClient(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "state_dir": {"type": "path", "default": "~/.ansible/nodeops_chainlink/guard"},
            "timeout": {"type": "float", "default": 5},
            "owner_pid": {"type": "int"},
        },
        supports_check_mode=True,
        application_name="nodeops.chainlink pair_guard",
    )
    client.application_name = f"nodeops.chainlink pair_guard {client.params['name']}"[:63]
    manager = GuardManager(client)
    try:
        if client.params["state"] == "present":
            manager.present()
        else:
            manager.absent()
    except GuardTaken as exc:
        client.fail(str(exc))
    except (OSError, PostgresError) as exc:
        verb = "take" if client.params["state"] == "present" else "release"
        client.fail(f"Failed to {verb} the guard of '{manager.name}': {exc}", exception=traceback.format_exc())
    client.exit(**manager.result)


if __name__ == "__main__":
    main()
