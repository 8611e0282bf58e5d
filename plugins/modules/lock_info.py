#!/usr/bin/python
# Copyright: contributors to nodeops.chainlink
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: lock_info
short_description: Show which Chainlink node holds the database lock, and wait for it to change
version_added: 0.1.0
description:
  - Reads, from the PostgreSQL database that a Chainlink primary and its standby share, which instance holds the lock
    that makes it the active one, and which instances are connected.
  - The lease (table C(lease_lock), all of 2.x and 1.1+) gives the holder's app ID, its expiry and, with the database's own
    clock, the seconds left.
  - The 1.x advisory lock (modes C(advisorylock) and C(dual)) is read from C(pg_locks), where its key shows as
    C(classid) (high 32 bits) and C(objid) (low 32 bits).
  - Sessions are matched to instances through C(application_name), which every node sets to
    C(Chainlink <version> |App|<appID>). The node cuts the name to 63 characters, so a long version leaves only a prefix
    of the app ID; the module then matches by prefix.
  - With O(wait_for), polls until a condition holds (someone holds the lock, it is free, a given instance holds it, the
    holder changed, an instance connected), and fails on O(timeout) with the last state seen and what to do.
  - Runs only C(SELECT) statements in a read-only session. C(changed) is always V(false).
  - The login needs C(CONNECT) on the database and C(SELECT) on the lease table and C(node_versions). Sessions of other
    roles show their C(client_addr) and C(backend_start) only to members of C(pg_read_all_stats) (or the same role, or a
    superuser); without that grant the module still identifies every instance and warns about what it cannot see.
extends_documentation_fragment:
  - nodeops.chainlink._postgres
  - nodeops.chainlink._attributes
  - nodeops.chainlink._attributes.INFO_MODULE
  - nodeops.chainlink._attributes.IDEMPOTENT_NOT_MODIFY_STATE
  - nodeops.chainlink._attributes.ACTIONGROUP_CHAINLINK
options:
  lease_table:
    description:
      - The lease table, as V(name) or V(schema.name) with unquoted SQL identifiers (letters, digits, C(_), C($)).
      - Resolved through the login's C(search_path) when not schema-qualified, as the node does.
    type: str
    default: lease_lock
  advisory_lock_id:
    description:
      - The 1.x advisory lock key (C(ADVISORY_LOCK_ID) of the node).
    type: int
    default: 1027321974924625846
  wait_for:
    description:
      - Poll until this condition holds.
      - V(held) - a node holds a valid lease (and, in dual mode, the same instance holds the advisory lock or nobody does).
      - V(free) - no valid lease and no advisory lock.
      - V(holder) - the lock is held by the instance with O(app_id) and/or O(version).
      - V(holder_changed) - the lock is held by an instance other than O(app_id) (the old holder).
      - V(connected) - an instance with O(app_id) and/or O(version) is connected to the database.
      - When not set, the module inspects once and returns.
      - Holding the lock is not being active. In dual mode a new holder may still be retrying the advisory lock (every
        second), and every node runs its migrations after taking the lock. Wait for the node's C(booted) log line
        (M(nodeops.chainlink.log_wait)) to know it is active.
    type: str
    choices: [held, free, holder, holder_changed, connected]
  app_id:
    description:
      - A node's app ID, the UUID it logs as C(appID) and writes into C(lease_lock.client_id).
      - For O(wait_for=holder) and O(wait_for=connected), the instance to wait for.
      - For O(wait_for=holder_changed), the B(old) holder.
      - Every restart gives a node a new app ID.
    type: str
  version:
    description:
      - A node version such as V(2.29.0), as the instance advertises it in C(application_name).
      - For O(wait_for=holder) and O(wait_for=connected).
    type: str
  expect:
    description:
      - A precondition of a change, proven from one read right before it (after any O(wait_for)); the module fails,
        naming the state it read, when it does not hold. Given by the node role's entry points right before they stop,
        restart or remove an instance.
    type: dict
    suboptions:
      waiting:
        description:
          - App ID of the instance that is to take over, which must be connected and hold no lock (stopping the active
            instance is safe only then).
        type: str
      version:
        description:
          - The version O(expect.waiting) must be connected with (the target of an upgrade).
        type: str
      not_holder:
        description:
          - App ID of an instance about to be restarted or removed, which must hold neither the lease nor the advisory lock.
        type: str
  timeout:
    description:
      - Seconds to wait for O(wait_for) before failing.
    type: float
    default: 60
  poll_interval:
    description:
      - Seconds between two inspections while waiting. Must be more than V(0) and at most O(timeout).
      - Each inspection is one query, so a short interval costs the database little.
    type: float
    default: 0.1
notes:
  - Grants for a read-only login, for example role C(lock_observer) on database C(chainlink)
    (C(node_versions) lives in the node's schema, normally C(public)) -
    C(GRANT CONNECT ON DATABASE chainlink TO lock_observer;)
    C(GRANT SELECT ON lease_lock, node_versions TO lock_observer;)
    C(GRANT pg_read_all_stats TO lock_observer;)
  - All times come from the database server's clock, as the node's own lease logic does; the controller's clock does not matter.
  - In advisorylock-only mode (1.x) there is no lease; RV(holder) and RV(holder_app_id) then name the advisory holder.
  - One inspection is one query (one round trip) when the lease table and C(node_versions) exist.
seealso:
  - name: Chainlink node configuration, Database.Lock
    description: How the lease and the advisory lock are configured.
    link: https://docs.chain.link/chainlink-nodes/v1/node-config#databaselock
  - name: PostgreSQL pg_locks
    description: How advisory locks appear in pg_locks.
    link: https://www.postgresql.org/docs/current/view-pg-locks.html
  - module: community.postgresql.postgresql_query
    description: Run arbitrary queries, for anything this module does not report.
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Show who holds the lock, connecting with the node's own DATABASE_URL
  nodeops.chainlink.lock_info:
    login_url: "{{ chainlink_database_url }}"
  register: lock

- name: Print the holder
  ansible.builtin.debug:
    msg: "{{ lock.holder.app_id }} ({{ lock.holder.version }}) holds the lock, {{ lock.lease.remaining_seconds }}s left"
  when: lock.holder is not none

- name: Wait until the new standby (2.29.0) is connected and waiting
  nodeops.chainlink.lock_info:
    login_host: 127.0.0.1
    login_port: 5432
    login_user: lock_observer
    login_password: "{{ lock_observer_password }}"
    login_db: chainlink
    wait_for: connected
    version: 2.29.0
    timeout: 120

- name: Stop the old primary gracefully, then wait until another instance holds the lock
  nodeops.chainlink.lock_info:
    login_url: "{{ chainlink_database_url }}"
    wait_for: holder_changed
    app_id: "{{ lock.lease.client_id }}"
    timeout: 30
  register: handover

- name: Report the handover
  ansible.builtin.debug:
    msg: "{{ handover.holder.app_id }} took over after {{ handover.waited }}s"

- name: Check that the lease and the 1.x advisory lock are held by the same instance
  nodeops.chainlink.lock_info:
    login_url: "{{ chainlink_database_url }}"
  register: dual
  failed_when: not dual.consistent
"""

RETURN = r"""
state:
  description:
    - V(held) - a valid lease exists; V(expired) - the lease row is past its expiry; V(free) - the table exists but has no
      row (no node ever took the lease); V(absent) - there is no lease table.
  returned: success
  type: str
  sample: held
lease:
  description: The lease row, judged by the database's clock.
  returned: success
  type: dict
  contains:
    table_exists:
      description: Whether the lease table exists.
      type: bool
      sample: true
    exists:
      description: Whether the table has a row.
      type: bool
      sample: true
    client_id:
      description: The app ID in the row (the holder, or the last holder when expired). V(null) without a row.
      type: str
      sample: 6b0e4c0e-2f9a-4d3b-9a51-3c1f0c5e9b7d
    expires_at:
      description: When the lease expires (ISO 8601, UTC).
      type: str
      sample: "2025-11-27T05:31:10.123456+00:00"
    db_now:
      description:
        - The database's clock when the statement read the lease (ISO 8601, UTC); RV(lease.remaining_seconds) and
          RV(lease.valid) are computed against it.
      type: str
      sample: "2025-11-27T05:31:01.523456+00:00"
    remaining_seconds:
      description: Seconds until expiry; negative once expired. V(null) without a row.
      type: float
      sample: 8.6
    valid:
      description: Whether the lease is in force (no other node can take it yet).
      type: bool
      sample: true
advisory:
  description: The 1.x advisory lock, from C(pg_locks).
  returned: success
  type: dict
  contains:
    lock_id:
      description: The key looked for.
      type: int
      sample: 1027321974924625846
    classid:
      description: High 32 bits of the key, as C(pg_locks.classid) shows them.
      type: int
      sample: 239192036
    objid:
      description: Low 32 bits of the key, as C(pg_locks.objid) shows them.
      type: int
      sample: 2840971190
    held:
      description: Whether a session holds the key.
      type: bool
      sample: false
    pid:
      description: Backend pid of the holding session, or V(null).
      type: int
      sample: 4242
    app_id:
      description: App ID of the holding session when it is a Chainlink instance, or V(null).
      type: str
      sample: 6b0e4c0e-2f9a-4d3b-9a51-3c1f0c5e9b7d
    application_name:
      description: C(application_name) of the holding session, or V(null).
      type: str
      sample: "Chainlink 1.11.0 |App|6b0e4c0e-2f9a-4d3b-9a51-3c1f0c5e9b7d"
holder:
  description:
    - The instance that holds the valid lease, found through its sessions' C(application_name).
    - Without a valid lease (1.x C(advisorylock) mode), the instance whose session holds the advisory key.
    - V(null) when no lock is held, or when the lease holder has no visible session (then see RV(lease.client_id)).
  returned: success
  type: dict
  contains:
    app_id:
      description: The holder's app ID (the full C(client_id), also when its session names are truncated).
      type: str
    version:
      description: The version the holder advertises.
      type: str
    application_name:
      description: The C(application_name) of the reported session.
      type: str
    client_addr:
      description: The client address of that session; V(null) for a Unix socket or without C(pg_read_all_stats).
      type: str
    pid:
      description: The backend pid of that session (the advisory lock's session when the holder has one, else its oldest).
      type: int
    backend_start:
      description: When that session started (ISO 8601); V(null) without C(pg_read_all_stats).
      type: str
    locks:
      description: The locks it holds, V(lease) and/or V(advisory) (both in 1.x C(dual) mode).
      type: list
      elements: str
  sample:
    app_id: 6b0e4c0e-2f9a-4d3b-9a51-3c1f0c5e9b7d
    version: 2.29.0
    application_name: "Chainlink 2.29.0 |App|6b0e4c0e-2f9a-4d3b-9a51-3c1f0c5e9b7d"
    client_addr: 127.0.0.1
    pid: 4242
    backend_start: "2025-11-27T05:30:58.001234+00:00"
    locks: [lease]
holder_app_id:
  description:
    - The app ID of the lock holder - the valid lease's C(client_id), else (1.x C(advisorylock) mode) the app ID of the
      session holding the advisory key (a prefix when its C(application_name) is cut) - or V(null) when neither is held.
    - What O(wait_for=holder) and O(wait_for=holder_changed) compare, once RV(consistent) is V(true).
  returned: success
  type: str
  sample: 6b0e4c0e-2f9a-4d3b-9a51-3c1f0c5e9b7d
consistent:
  description:
    - V(false) when a valid lease and the advisory lock are held by different instances (1.x dual mode, a standby that
      took the lease waits for the old primary's advisory lock), or the advisory holder cannot be identified.
    - V(true) when they are held by the same instance, or at most one of them is in use.
  returned: success
  type: bool
  sample: true
instances:
  description: Every Chainlink instance connected to the database, the lock holders first, then by connection time.
  returned: success
  type: list
  elements: dict
  contains:
    app_id:
      description: The app ID; a prefix when the instance's names are truncated and it does not hold the lease.
      type: str
    version:
      description: The version it advertises.
      type: str
    client_addr:
      description: Its client address (V(null) for Unix sockets or without C(pg_read_all_stats)).
      type: str
    connections:
      description: Number of its sessions.
      type: int
    pids:
      description: Backend pids of its sessions.
      type: list
      elements: int
    holds_lease:
      description: Whether it holds the valid lease.
      type: bool
    holds_advisory:
      description: Whether one of its sessions holds the advisory lock.
      type: bool
  sample:
    - app_id: 6b0e4c0e-2f9a-4d3b-9a51-3c1f0c5e9b7d
      version: 2.29.0
      client_addr: 127.0.0.1
      connections: 3
      pids: [4242, 4243, 4250]
      holds_lease: true
      holds_advisory: false
    - app_id: 0c7d2d3e-5b5f-4f0a-8f5e-4b8e3a1b2c3d
      version: 2.29.0
      client_addr: 127.0.0.1
      connections: 1
      pids: [4300]
      holds_lease: false
      holds_advisory: false
db_version:
  description: The newest version recorded in C(node_versions), or V(null) when the table does not exist or is empty.
  returned: success
  type: str
  sample: 2.29.0
schema_version:
  description:
    - The highest migration applied to the database, C(max(version_id)) of C(goose_migrations), or V(null) when that
      table does not exist, may not be read, or C(node_versions) is absent.
    - The node runs its migrations before it writes its version to C(node_versions), so a version that fails part-way
      through them leaves RV(db_version) unchanged and only this number tells that the schema moved; recorded when a
      handover plans, it tells whether the older version may still be started.
  returned: success
  type: int
  sample: 229
wait_for:
  description: The condition waited for, or V(null) without O(wait_for).
  returned: success
  type: str
  sample: holder_changed
waited:
  description: Seconds the wait took (V(0) without O(wait_for)). On a timeout the failure carries it too.
  returned: always
  type: float
  sample: 1.032
read_at:
  description:
    - When the returned state was read, in seconds since the epoch (the clock of the host the module runs on).
    - With O(wait_for), the moment the condition was seen met.
  returned: always
  type: float
  sample: 1796543210.123
queries:
  description: The SQL statements run, as sent (parameters bound), each once.
  returned: always
  type: list
  elements: str
  sample:
    - "SELECT json_build_object('db_now', c.at, ...) AS report FROM pg_database d CROSS JOIN (SELECT clock_timestamp() AS at OFFSET 0) c WHERE ..."
"""

import dataclasses
import time
import traceback
import typing as t

from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import (
    VERSIONS_TABLE,
    WAIT_CONDITIONS,
    build_report,
    describe_state,
    describe_wait,
    lock_statement,
    normalize_app_id,
    outdated_instances,
    parse_table_name,
    precondition_problems,
    split_advisory_key,
    wait_advice,
    wait_satisfied,
)
from ansible_collections.nodeops.chainlink.plugins.module_utils._postgres import PostgresClient, PostgresError

UNDEFINED_TABLE = "42P01"
UNDEFINED_COLUMN = "42703"
INSUFFICIENT_PRIVILEGE = "42501"
QUERY_CANCELED = "57014"


@dataclasses.dataclass(frozen=True)
class Parameters:
    lease_table: tuple[str, ...]
    advisory_lock_id: int
    wait_for: str | None
    app_id: str | None
    version: str | None
    timeout: float
    poll_interval: float

    @classmethod
    def from_params(cls, params: t.Mapping[str, t.Any]) -> Parameters:
        """Typed, validated copy of the module parameters; ValueError names the bad one and the fix."""
        timeout = float(params["timeout"])
        poll_interval = float(params["poll_interval"])
        if timeout <= 0:
            raise ValueError(f"timeout must be more than 0 seconds, got {timeout:g}")
        if not 0 < poll_interval <= timeout:
            raise ValueError(f"poll_interval must be more than 0 and at most timeout ({timeout:g}s), got {poll_interval:g}")
        split_advisory_key(params["advisory_lock_id"])  # range check
        version = params.get("version")
        if version is not None and not version.strip():
            raise ValueError("version must not be empty; give a version such as 2.29.0 or leave it out")
        return cls(
            lease_table=parse_table_name(params["lease_table"]),
            advisory_lock_id=params["advisory_lock_id"],
            wait_for=params.get("wait_for"),
            app_id=normalize_app_id(params["app_id"]) if params.get("app_id") is not None else None,
            version=version.strip() if version else None,
            timeout=timeout,
            poll_interval=poll_interval,
        )

    @property
    def table_display(self) -> str:
        return ".".join(self.lease_table)


class WaitTimeout(Exception):
    def __init__(self, message: str, details: dict[str, t.Any]) -> None:
        super().__init__(message)
        self.details = details


class LockInspector:
    """Reads the lock state in one statement; waits by repeating it."""

    def __init__(self, client: PostgresClient, params: Parameters) -> None:
        self.client = client
        self.params = params
        # Optimistic: a node's database has both tables, so the first statement reads everything in one round trip.
        self._shape = (True, True)
        self._warned: set[str] = set()

    def statement(self, with_lease: bool, with_versions: bool) -> tuple[str, dict[str, t.Any]]:
        """The lock query (shared with lock_observer) and its arguments, reading the tables that exist and are readable."""
        return lock_statement(self.params.lease_table, self.params.advisory_lock_id, lease=with_lease, versions=with_versions, access=True)

    def read(self) -> dict[str, t.Any]:
        """The raw JSON document; adapts the statement to which tables exist (and may appear while waiting)."""
        shape = self._shape
        for _attempt in range(3):
            try:
                rows = self.client.query(*self.statement(*shape))
            except PostgresError as exc:
                if exc.pgcode in (UNDEFINED_TABLE, INSUFFICIENT_PRIVILEGE) and shape != (False, False):
                    shape = (False, False)  # learn what exists and is readable from the catalog-only form
                    continue
                if exc.pgcode == QUERY_CANCELED:
                    raise PostgresError(
                        f"{exc}: the query took longer than connect_timeout ({self.client.params['connect_timeout']}s);"
                        f" something may hold an exclusive lock on {self.params.table_display} (a migration, LOCK TABLE, VACUUM FULL)",
                        pgcode=exc.pgcode,
                    ) from None
                if exc.pgcode == UNDEFINED_COLUMN:
                    raise PostgresError(
                        f"{self.params.table_display} or {VERSIONS_TABLE} lacks a column the node uses"
                        f" (lease: client_id, expires_at; versions: version, created_at); is lease_table right? {exc}",
                        pgcode=exc.pgcode,
                    ) from None
                raise
            raw: dict[str, t.Any] = rows[0]["report"]
            if raw["lease_table_exists"] and not raw["lease_table_readable"]:
                role = raw["login_role"]
                raise PostgresError(
                    f"login role '{role}' may not read {self.params.table_display}: GRANT SELECT ON {self.params.table_display} TO \"{role}\";",
                    pgcode=INSUFFICIENT_PRIVILEGE,
                )
            wanted = (bool(raw["lease_table_exists"]), bool(raw["versions_table_exists"] and raw["versions_table_readable"]))
            if wanted == shape:
                self._shape = shape
                return raw
            shape = wanted
        raise PostgresError(f"the tables {self.params.table_display} and {VERSIONS_TABLE} kept appearing and disappearing while reading them; try again")

    def _connect(self) -> None:
        # connect_timeout also bounds each query; 0 means no limit for both, as in libpq.
        limit = self.client.params["connect_timeout"]
        self.client.connect(read_only=True, statement_timeout=float(limit) if limit and limit > 0 else None)

    def inspect(self) -> dict[str, t.Any]:
        raw = self.read()
        report = build_report(raw, self.params.advisory_lock_id)
        report["_raw"] = raw
        # when this state was seen: with wait_for, the moment the condition was met (a handover's takeover time)
        report["read_at"] = round(time.time(), 3)
        return report

    def warn_about(self, report: t.Mapping[str, t.Any]) -> None:
        """Warnings for the final state, each once."""
        raw = report["_raw"]
        role = raw["login_role"]
        warnings = []
        hidden = [s for s in raw.get("sessions") or [] if s.get("backend_start") is None]
        if hidden and not raw.get("read_all_stats"):
            warnings.append(
                f"login role '{role}' cannot see client_addr and backend_start of {len(hidden)} Chainlink session(s) of other roles;"
                f' to see them: GRANT pg_read_all_stats TO "{role}";'
            )
        if raw.get("versions_table_exists") and not raw.get("versions_table_readable"):
            warnings.append(f"db_version is unknown: login role '{role}' may not read {VERSIONS_TABLE}; GRANT SELECT ON {VERSIONS_TABLE} TO \"{role}\";")
        for instance in outdated_instances(report):
            warnings.append(
                f"instance {instance['app_id']} runs version {instance['version']}, older than the database's {report['db_version']}:"
                " it will refuse to boot once it takes the lock"
            )
        for warning in warnings:
            if warning not in self._warned:
                self._warned.add(warning)
                self.client.warn(warning)

    def run(self) -> dict[str, t.Any]:
        p = self.params
        start = time.monotonic()
        self._connect()
        report = self.inspect()
        if p.wait_for is not None:
            report = self.wait(report, start)
            waited = round(time.monotonic() - start, 3)
        else:
            waited = 0.0
        self.warn_about(report)
        report.pop("_raw")
        return {**report, "wait_for": p.wait_for, "waited": waited, "queries": self.client.queries}

    def wait(self, report: dict[str, t.Any], start: float) -> dict[str, t.Any]:
        p = self.params
        if p.wait_for is None:
            return report
        deadline = start + p.timeout
        tick = 0
        last_error: PostgresError | None = None
        while not wait_satisfied(p.wait_for, report, p.app_id, p.version) or last_error is not None:
            now = time.monotonic()
            if now >= deadline:
                raise self._timeout(report, now - start, last_error)
            # Fixed schedule (start + k * interval): slow queries do not stretch the cadence.
            tick = max(tick + 1, int((now - start) / p.poll_interval) + 1)
            time.sleep(max(0.0, min(start + tick * p.poll_interval, deadline) - time.monotonic()))
            try:
                if not self.client.connected:
                    self._connect()
                report = self.inspect()
                last_error = None
            except PostgresError as exc:
                if not exc.connection_lost:
                    raise
                # The server restarted or the network blinked: keep the last state and retry on the next tick.
                last_error = exc
                self.client.close()
        return report

    def _timeout(self, report: dict[str, t.Any], waited: float, error: PostgresError | None) -> WaitTimeout:
        p = self.params
        self.warn_about(report)
        report = {k: v for k, v in report.items() if k != "_raw"}
        message = (
            f"Timed out after {waited:.1f}s waiting for {describe_wait(p.wait_for or '', p.app_id, p.version)}."
            f" Last state: {describe_state(report)}."
            f" {wait_advice(p.wait_for or '', report, p.app_id, p.version)}"
        )
        if error is not None:
            message += f" The database was unreachable at the last attempt: {error}"
        return WaitTimeout(message, {**report, "wait_for": p.wait_for, "waited": round(waited, 3), "queries": self.client.queries})


def main() -> None:
    argument_spec = {
        "lease_table": {"type": "str", "default": "lease_lock"},
        "advisory_lock_id": {"type": "int", "default": 1027321974924625846},
        "wait_for": {"type": "str", "choices": list(WAIT_CONDITIONS)},
        "app_id": {"type": "str"},
        "version": {"type": "str"},
        "timeout": {"type": "float", "default": 60.0},
        "poll_interval": {"type": "float", "default": 0.1},
        "expect": {
            "type": "dict",
            "options": {"waiting": {"type": "str"}, "version": {"type": "str"}, "not_holder": {"type": "str"}},
        },
    }
    client = PostgresClient(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[
            ("wait_for", "holder", ("app_id", "version"), True),
            ("wait_for", "holder_changed", ("app_id",)),
            ("wait_for", "connected", ("app_id", "version"), True),
        ],
        application_name="nodeops.chainlink.lock_info",
    )
    try:
        params = Parameters.from_params(client.params)
    except ValueError as exc:
        client.fail(str(exc))
    inspector = LockInspector(client, params)
    try:
        result = inspector.run()
    except WaitTimeout as exc:
        client.fail(str(exc), changed=False, **exc.details)
    except PostgresError as exc:
        if exc.connection_lost and not client.connected:
            client.fail(str(exc), changed=False, queries=client.queries)
        client.fail(
            f"Failed to read the lock state of {params.table_display} at {client.describe_target()}: {exc}",
            changed=False,
            queries=client.queries,
            exception=traceback.format_exc(),
        )
    expect = {k: v for k, v in (client.params.get("expect") or {}).items() if v}
    problems = precondition_problems(result, **expect)
    if problems:
        client.fail(f"Refusing the change: {'; '.join(problems)}. State read: {describe_state(result)}. This change was not made", changed=False, **result)
    client.exit(changed=False, **result)


if __name__ == "__main__":
    main()
