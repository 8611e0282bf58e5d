#!/usr/bin/python
# Copyright: contributors to nodeops.chainlink
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 -- the imports follow DOCUMENTATION, EXAMPLES and RETURN (house style 6.3)

from __future__ import annotations

DOCUMENTATION = r"""
module: lock_observer
short_description: Watch a Chainlink pair's database lock and HTTP service during a handover
version_added: 0.1.0
description:
  - With O(state=started), starts a background sampler on the managed host (the controller, for a pair host with
    C(ansible_connection=local)) that reads the lease row, the 1.x advisory lock and the connected Chainlink sessions
    from PostgreSQL every O(interval) seconds, and probes each instance's C(/readyz) every O(http_interval) seconds.
  - The two rates differ because the real node answers C(/readyz) behind its authenticated rate limiter
    (C(WebServer.RateLimit.Authenticated) requests per C(AuthenticatedPeriod) per client address, by default 1000 per
    minute, then HTTP 429), while the database has no such limit. The handover role derives O(http_interval) from the
    instances' limit so that the observer and its health gate use at most a third of it, however long the run; the
    database sampling stays fast, since the lease gaps are measured from it. O(http_interval) is the resolution of the
    measured service gaps.
  - A probe answered 200 means in service; no answer (refused, reset, timed out) or 503 (the node's "not ready") means
    not in service; any other answer (429 from the rate limiter above all) says nothing about readiness and counts as
    unknown - it neither opens nor closes a service gap, and the summary counts it per instance.
  - The sampler writes only state changes (with the last sample before each change) to a file under O(state_dir), so
    whatever it saw survives a failed play, a lost controller or the sampler's own end.
  - With O(state=stopped), stops the sampler and returns what it saw - the holders' timeline, every lease handover with
    its lease gap (from the old holder's release to the new holder's acquisition, in database time), the service gaps
    (no instance answering C(/readyz) 200) and whether two holders or two answering instances were ever seen.
  - With O(guard=true) (the default) the sampler holds an advisory lock of its own for the pair (two-integer key, a key
    space the node's single-bigint key cannot collide with) on its database session, so a second handover of the same
    pair from anywhere fails to start, and the guard goes away with the session when the sampler ends for any reason.
  - The sampler ends by itself when the Ansible run that started it is gone (Ctrl-C, lost controller) or after
    O(max_duration) seconds, which releases the guard so a resumed run can start.
  - A background process was chosen over C(async)/C(poll=0) because an async job's result exists only once it ends (a
    killed or timed-out job loses everything it saw), while this sampler keeps its samples on disk as it goes and can be
    stopped and summarised from any later task, including a C(rescue) or C(always) section.
extends_documentation_fragment:
  - nodeops.chainlink._postgres
  - nodeops.chainlink._attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is started or stopped; O(state=stopped) still summarises what a sampler has written.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - O(state=started) does nothing while a sampler of the same run is alive; O(state=stopped) does nothing when none runs.
options:
  name:
    description:
      - Name of the observation, normally the pair's inventory name. Also keys the guard and the files in O(state_dir).
    type: str
    required: true
  state:
    description:
      - V(started) starts the sampler (and takes the guard); V(stopped) stops it and returns the summary.
    type: str
    choices: [started, stopped]
    default: started
  state_dir:
    description:
      - Directory for the sampler's state (C(<name>.json)) and samples (C(<name>.samples.jsonl)) files.
    type: path
    default: ~/.ansible/nodeops_chainlink/observer
  interval:
    description:
      - Seconds between two samples of the database. At most V(0.1) (a handover's lease gaps are measured to it).
    type: float
    default: 0.05
  http_interval:
    description:
      - Seconds between two probes of each URL in O(http_probes); the resolution of the measured service gaps.
      - Keep it inside the instances' HTTP rate limit. The handover role computes it from the limit (at most a third of
        it for the observer and the health gate together); the default, 4 probes a second, is a quarter of the real
        node's default limit of 1000 per minute.
    type: float
    default: 0.25
  lease_table:
    description:
      - The lease table, V(name) or V(schema.name).
    type: str
    default: lease_lock
  lease_duration:
    description:
      - The pair's LeaseDuration in seconds. The exact acquisition time of a new holder is its first C(expires_at) minus
        this; without it, lease gaps are upper bounds from the sample times.
    type: float
  advisory_lock_id:
    description:
      - The 1.x advisory lock key (C(ADVISORY_LOCK_ID)).
    type: int
    default: 1027321974924625846
  http_probes:
    description:
      - Instance name to C(/readyz) URL. Each URL is probed every O(http_interval) seconds; a 200 answer means in service,
        no answer or 503 not in service, anything else (such as 429) unknown.
    type: dict
    default: {}
  http_timeout:
    description:
      - Seconds one probe may take before it counts as not answering.
    type: float
    default: 0.5
  guard:
    description:
      - Take the per-pair guard (see the description). Fails when another observer of the same O(name) holds it.
    type: bool
    default: true
  max_duration:
    description:
      - Seconds after which the sampler ends by itself (and releases the guard).
    type: float
    default: 3600
  owner_pid:
    description:
      - Process whose end ends the sampler. By default the C(ansible-playbook) (or C(ansible)) process that runs the task;
        V(0) disables the watch (the sampler then runs until stopped or O(max_duration)).
    type: int
  stop_timeout:
    description:
      - Seconds O(state=stopped) waits for the sampler to write its last samples and exit.
    type: float
    default: 10
requirements:
  - psycopg2 >= 2.8
seealso:
  - module: nodeops.chainlink.lock_info
author:
  - nodeops.chainlink maintainers (@nodeops)
"""

EXAMPLES = r"""
---
- name: Start observing the pair before the handover
  nodeops.chainlink.lock_observer:
    name: pair-one
    login_url: "{{ chainlink_database_url }}"
    lease_duration: 10
    http_probes:
      primary: http://127.0.0.1:6688/readyz
      secondary: http://127.0.0.1:6698/readyz
    # within a third of the nodes' rate limit of 60 requests per 10s (see the handover role)
    http_interval: 0.715

- name: Stop observing and read what was seen
  nodeops.chainlink.lock_observer:
    name: pair-one
    state: stopped
    login_url: "{{ chainlink_database_url }}"
  register: seen

- name: Refuse a handover that showed two holders
  ansible.builtin.assert:
    that: not seen.observation.two_holders_seen

- name: Say when the rate limiter hid the service (the sampling exceeded the nodes' limit)
  ansible.builtin.debug:
    msg: "429 answers per instance: {{ seen.observation.http_rate_limited }}"
  when: seen.observation.http_rate_limited.values() | sum > 0
"""

RETURN = r"""
pid:
  description: Process ID of the sampler.
  returned: when O(state=started)
  type: int
  sample: 41234
samples_file:
  description: The file holding the samples.
  returned: always
  type: str
  sample: /root/.ansible/nodeops_chainlink/observer/pair-one.samples.jsonl
guard:
  description: The guard's advisory key (two integers, in pg_locks as classid and objid with objsubid 2), or null without guard.
  returned: when O(state=started)
  type: dict
  sample: {"classid": 1852793957, "objid": 2312075493}
observation:
  description: What the sampler saw; null when no samples exist.
  returned: when O(state=stopped)
  type: dict
  contains:
    transitions:
      description:
        - Every change of lease holder, with C(lock) (V(lease)), C(from)/C(to) app IDs and versions, C(released)
          (V(graceful) when the old holder gave the lease back, V(expired) when it ran out), C(released_at), C(acquired_at)
          (database time), C(lease_gap) in seconds, C(exact) (false when the gap is an upper bound), C(overlap) and
          C(old_alive_after_takeover).
        - When no sample saw a valid lease (1.x C(advisorylock) mode), every change of advisory holder instead, with
          C(lock) V(advisory), C(released) V(session_ended) or V(unlocked), and C(lease_gap) the gap between the last
          sample showing the old holder and the first showing the new one (an upper bound, C(exact) false).
      type: list
      elements: dict
    lock:
      description: The locks that changed hands, V(lease) and/or V(advisory) (both in 1.x C(dual) mode); empty when none did.
      type: list
      elements: str
    lock_gaps:
      description: The gap of each of RV(observation.transitions), in seconds.
      type: list
      elements: float
    lease_gaps:
      description: The lease gap of each lease transition, in seconds.
      type: list
      elements: float
    advisory_gaps:
      description: The gap of each advisory-lock transition (1.x C(advisorylock) and C(dual)), in seconds; upper bounds.
      type: list
      elements: float
    timeline:
      description:
        - Segments of constant C(holder) and C(advisory) holder (app IDs, null when none), in database time.
        - C(holder) is the lease holder, or the advisory holder when no sample saw a valid lease (1.x C(advisorylock) mode).
      type: list
      elements: dict
    split_lock_seconds:
      description: Time during which the lease and the advisory lock were held by different instances (1.x dual mode).
      type: float
    service:
      description:
        - Per instance the intervals it answered C(/readyz) 200 (C(up)), the C(gaps) between answers, C(max_gap),
          C(two_answering_seen) and C(overlaps).
        - C(unknown) lists per instance the spans of answers that said nothing about readiness (C(from), C(to), C(seconds),
          C(codes)); an up interval goes on through them, so they never open a service gap.
      type: dict
    http_unknown:
      description: Per instance, the number of probes whose answer said nothing about readiness (429 included).
      type: dict
      sample: {primary: 0, secondary: 0}
    http_rate_limited:
      description: Per instance, the number of probes answered 429 by the instance's rate limiter (0 when the budget held).
      type: dict
      sample: {primary: 0, secondary: 0}
    two_holders_seen:
      description: True when two instances ever held the lock (an overlap, or an old holder still connected after its lease
        ran out and another took it) or answered C(/readyz) 200 at the same time.
      type: bool
    errors:
      description: Number of failed samples (database unreachable); C(last_error) holds the last message.
      type: int
    samples:
      description:
        - Number of database samples (C(db_samples)), the largest interval between two of them (C(db_max_interval)) and how many
          intervals exceeded 0.1 s (C(db_late)); the same per probed URL (C(http_samples), C(http_max_interval), and in
          C(http_late) the intervals above twice O(http_interval)).
        - The intervals asked, C(db_interval) and C(http_interval), and per instance C(http_unknown) and C(http_rate_limited).
      type: dict
    ended:
      description: Why the sampler ended (V(stopped), V(owner_gone), V(max_duration), V(error)), or null while it runs.
      type: str
  sample:
    two_holders_seen: false
    lease_gaps: [0.412]
    transitions:
      - {from: 6b0e..., to: 9c41..., released: graceful, lease_gap: 0.412, exact: true}
"""

import contextlib
import json
import os
import select
import signal
import threading
import time
import traceback
import typing as t
import urllib.error
import urllib.request
from pathlib import Path

from ansible_collections.nodeops.chainlink.plugins.module_utils._lock import (
    parse_application_name,
    parse_table_name,
    split_advisory_key,
)
from ansible_collections.nodeops.chainlink.plugins.module_utils._observer import ChangeRecorder, db_key, readiness, summarize
from ansible_collections.nodeops.chainlink.plugins.module_utils._postgres import PostgresClient, PostgresError

# First half of the guard's two-integer advisory key: 'node' in ASCII. The second half is hashtext(name).
GUARD_CLASSID = 0x6E6F6465
STATS_EVERY = 1.0
LATE = 0.1


class Parameters:
    def __init__(self, params: dict[str, t.Any]) -> None:
        self.name: str = params["name"]
        self.state: str = params["state"]
        self.state_dir = Path(params["state_dir"])  # type path: already expanded by AnsibleModule
        self.interval: float = params["interval"]
        self.http_interval: float = params["http_interval"]
        self.lease_table: str = params["lease_table"]
        self.lease_duration: float | None = params["lease_duration"]
        self.advisory_lock_id: int = params["advisory_lock_id"]
        self.http_probes: dict[str, str] = {str(k): str(v) for k, v in (params["http_probes"] or {}).items()}
        self.http_timeout: float = params["http_timeout"]
        self.guard: bool = params["guard"]
        self.max_duration: float = params["max_duration"]
        self.owner_pid: int | None = params["owner_pid"]
        self.stop_timeout: float = params["stop_timeout"]


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of a process (field 22 of /proc/PID/stat): with the PID, it names one process for good."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def find_owner(pid: int) -> int | None:
    """The outermost ansible-playbook/ansible process above pid (workers are forks of it, with the same command line)."""
    owner = None
    current = pid
    for _dummy in range(64):
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            cmdline = Path(f"/proc/{current}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            break
        if "ansible-playbook" in cmdline or "/ansible " in cmdline or cmdline.startswith("ansible "):
            owner = current
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent <= 1:
            break
        current = parent
    return owner


def alive(pid: int, start_time: str | None) -> bool:
    return pid > 0 and process_start_time(pid) is not None and (start_time is None or process_start_time(pid) == start_time)


class Sampler:
    """The background loop: one thread for the database, one per probed URL, all writing to one samples file."""

    def __init__(self, client: PostgresClient, params: Parameters, samples_path: Path, owner: tuple[int, str | None] | None) -> None:
        self.client = client
        self.p = params
        self.samples_path = samples_path
        self.owner = owner
        self.stop = threading.Event()
        self.reason = "stopped"
        self.write_lock = threading.Lock()
        self.out: t.TextIO = samples_path.open("w", encoding="utf-8")
        # db_late: intervals above 0.1 s, the sampling rate a handover's proof needs (a loaded host may delay a few);
        # http_late: intervals above twice http_interval. http_unknown / http_rate_limited: answers that said nothing
        # about readiness, and the 429s among them (the rate limiter: the sampling exceeded the node's budget).
        self.stats: dict[str, t.Any] = {
            "db_interval": params.interval,
            "http_interval": params.http_interval,
            "db_samples": 0,
            "db_max_interval": 0.0,
            "db_late": 0,
            "http_samples": {},
            "http_max_interval": {},
            "http_late": {},
            "http_unknown": {},
            "http_rate_limited": {},
        }
        schema_table = parse_table_name(params.lease_table)
        self.table_sql = ".".join(f'"{part}"' for part in schema_table)  # validated identifiers only
        self.table_regclass = ".".join(schema_table)
        self.classid, self.objid = split_advisory_key(params.advisory_lock_id)
        self.has_table = False

    def write(self, records: list[dict[str, t.Any]]) -> None:
        if not records:
            return
        with self.write_lock:
            for rec in records:
                self.out.write(json.dumps(rec, separators=(",", ":")) + "\n")
            self.out.flush()

    # -- database ------------------------------------------------------------------------------------------------

    def connect(self) -> None:
        self.client.connect(read_only=True, statement_timeout=2.0)
        if self.p.guard:
            rows = self.client.query("SELECT pg_try_advisory_lock(%s, hashtext(%s)) AS ok", (GUARD_CLASSID, self.p.name))
            if not rows[0]["ok"]:
                holder = self.client.query(
                    "SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr, a.backend_start::text AS since"
                    " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.classid = %s"
                    " AND l.objid = (hashtext(%s)::bigint & 4294967295)::oid AND l.objsubid = 2 AND l.granted",
                    (GUARD_CLASSID, self.p.name),
                )
                who = ", ".join(f"pid {h['pid']} '{h['application_name']}' from {h['client_addr'] or 'local socket'} since {h['since']}" for h in holder)
                raise PostgresError(
                    f"another handover of '{self.p.name}' is in progress (its observer holds the pair's guard: {who or 'session not visible'});"
                    " wait for it to finish, or if that run is gone, end that session (pg_terminate_backend) and retry"
                )

    def sample_db(self) -> dict[str, t.Any]:
        lease_sql = (
            f"(SELECT json_build_object('id', client_id::text, 'exp', extract(epoch FROM expires_at)::float8) FROM {self.table_sql} LIMIT 1)"
            if self.has_table
            else "NULL::json"
        )
        rows = self.client.query(
            "SELECT extract(epoch FROM clock_timestamp())::float8 AS now, to_regclass(%(table)s) IS NOT NULL AS has_table, "
            f"{lease_sql} AS lease, "
            "(SELECT coalesce(json_agg(json_build_object('pid', l.pid, 'app', a.application_name)), '[]'::json) FROM pg_locks l"
            " LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND l.classid = %(classid)s AND l.objid = %(objid)s AND l.objsubid = 1) AS adv, "
            "(SELECT coalesce(json_agg(DISTINCT application_name), '[]'::json) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name LIKE 'Chainlink %%') AS inst",
            {"table": self.table_regclass, "classid": self.classid, "objid": self.objid},
        )
        row = rows[0]
        if row["has_table"] != self.has_table:
            self.has_table = bool(row["has_table"])
            if self.has_table:
                return self.sample_db()  # the table just appeared: read the lease in the same sample
        inst: dict[str, str | None] = {}
        for app in row["inst"] or []:
            parsed = parse_application_name(app)
            if parsed and parsed.app_id:
                inst[parsed.app_id] = parsed.version
        adv = []
        for holder in row["adv"] or []:
            parsed = parse_application_name(holder.get("app"))
            adv.append(parsed.app_id if parsed and parsed.app_id else f"pid:{holder.get('pid')}")
        lease = row["lease"]
        if lease:
            lease = {"id": str(lease["id"]).lower(), "exp": float(lease["exp"])}
        return {"k": "db", "t": time.time(), "now": float(row["now"]), "lease": lease, "adv": adv, "inst": inst}

    def db_loop(self) -> None:
        recorder = ChangeRecorder()
        last_error: str | None = None
        previous: float | None = None
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                if not self.client.connected:
                    self.connect()
                rec = self.sample_db()
                last_error = None
                self.write(recorder.feed(db_key(rec), rec))
                self.stats["db_samples"] += 1
                if previous is not None:
                    self.stats["db_max_interval"] = round(max(self.stats["db_max_interval"], started - previous), 4)
                    self.stats["db_late"] += started - previous > LATE
                previous = started
            except PostgresError as exc:
                msg = str(exc)
                if msg != last_error:
                    self.write([*recorder.flush(), {"k": "err", "t": time.time(), "src": "db", "msg": msg}])
                    last_error = msg
                if exc.connection_lost:
                    self.client.close()
                    previous = None  # the outage is reported as an error, not as a sampling interval
            self.stop.wait(max(0.0, self.p.interval - (time.monotonic() - started)))
        self.write(recorder.flush())

    # -- HTTP ----------------------------------------------------------------------------------------------------

    def http_loop(self, name: str, url: str) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback probes never go through a proxy
        recorder = ChangeRecorder()
        previous: float | None = None
        self.stats["http_samples"][name] = 0
        self.stats["http_max_interval"][name] = 0.0
        self.stats["http_late"][name] = 0
        self.stats["http_unknown"][name] = 0
        self.stats["http_rate_limited"][name] = 0
        while not self.stop.is_set():
            started = time.monotonic()
            code: int | None
            try:
                with opener.open(url, timeout=self.p.http_timeout) as resp:
                    code = int(resp.status)
            except urllib.error.HTTPError as exc:
                code = int(exc.code)
            except (OSError, ValueError):
                code = None  # refused, reset or timed out: not answering
            rec = {"k": "http", "t": time.time(), "name": name, "code": code}
            self.write(recorder.feed(code, rec))
            self.stats["http_samples"][name] += 1
            self.stats["http_unknown"][name] += readiness(code) == "unknown"
            self.stats["http_rate_limited"][name] += code == 429
            if previous is not None:
                self.stats["http_max_interval"][name] = round(max(self.stats["http_max_interval"][name], started - previous), 4)
                self.stats["http_late"][name] += started - previous > 2 * self.p.http_interval
            previous = started
            # Never sooner than http_interval after the previous probe began: the rate limiter counts requests sent.
            self.stop.wait(max(0.0, self.p.http_interval - (time.monotonic() - started)))
        self.write(recorder.flush())

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def watch(self) -> None:
        deadline = time.monotonic() + self.p.max_duration
        next_stats = time.monotonic() + STATS_EVERY
        while not self.stop.is_set():
            if time.monotonic() >= deadline:
                self.reason = "max_duration"
                self.stop.set()
            elif self.owner is not None and not alive(*self.owner):
                self.reason = "owner_gone"
                self.stop.set()
            if time.monotonic() >= next_stats:
                self.write([{"k": "stats", "t": time.time(), **json.loads(json.dumps(self.stats))}])
                next_stats += STATS_EVERY
            self.stop.wait(0.2)

    def run(self) -> None:
        threads = [threading.Thread(target=self.db_loop, daemon=True)]
        threads += [threading.Thread(target=self.http_loop, args=(n, u), daemon=True) for n, u in self.p.http_probes.items()]
        for thread in threads:
            thread.start()
        self.watch()
        for thread in threads:
            thread.join(timeout=5)
        self.write([{"k": "stats", "t": time.time(), **json.loads(json.dumps(self.stats))}, {"k": "end", "t": time.time(), "reason": self.reason}])
        self.out.close()
        self.client.close()  # ends the session, which releases the guard


class ObserverManager:
    def __init__(self, client: PostgresClient) -> None:
        self.client = client
        self.p = Parameters(client.params)
        self.meta_path = self.p.state_dir / f"{self.p.name}.json"
        self.samples_path = self.p.state_dir / f"{self.p.name}.samples.jsonl"
        self.result: dict[str, t.Any] = {"changed": False, "samples_file": str(self.samples_path)}

    def validate(self) -> None:
        if not 0 < self.p.interval <= 0.1:
            self.client.fail(f"interval must be above 0 and at most 0.1 seconds (got {self.p.interval}): a handover's lease gaps are measured to it")
        if not 0 < self.p.http_interval <= self.p.max_duration:
            self.client.fail(
                f"http_interval must be above 0 seconds (got {self.p.http_interval}): derive it from the instances' HTTP rate limit"
                " (the handover role does), so that the probes stay inside it"
            )
        if self.p.lease_duration is not None and self.p.lease_duration <= 0:
            self.client.fail(f"lease_duration must be the pair's LeaseDuration in seconds, above 0 (got {self.p.lease_duration})")
        if self.p.max_duration <= 0 or self.p.http_timeout <= 0:
            self.client.fail("max_duration and http_timeout must be above 0 seconds")
        if not self.p.name or "/" in self.p.name or self.p.name.startswith("."):
            self.client.fail(f"name '{self.p.name}' must be a plain name such as the pair's inventory name (no '/', not starting with '.')")
        try:
            parse_table_name(self.p.lease_table)
            split_advisory_key(self.p.advisory_lock_id)
        except ValueError as exc:
            self.client.fail(str(exc))
        for name, url in self.p.http_probes.items():
            if not url.startswith(("http://", "https://")):
                self.client.fail(f"http_probes: the URL of '{name}' must start with http:// or https:// (got '{url}')")

    def get_existing(self) -> dict[str, t.Any] | None:
        try:
            meta = json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def running(self, meta: dict[str, t.Any] | None) -> bool:
        return bool(meta) and alive(int(meta.get("pid") or 0), meta.get("start_time"))  # type: ignore[union-attr]

    def started(self) -> None:
        meta = self.get_existing()
        owner_pid = self.p.owner_pid if self.p.owner_pid is not None else find_owner(os.getpid())
        if self.running(meta) and meta is not None:
            if owner_pid and meta.get("owner_pid") == owner_pid:
                self.result.update(pid=meta["pid"], guard=meta.get("guard"))
                return
            self.wait_gone(meta, 2.0)  # an orphan whose run is gone ends itself within a fraction of a second
            if self.running(meta):
                self.client.fail(
                    f"an observer of '{self.p.name}' is already running (pid {meta['pid']}, started {meta.get('started_at')}, by process"
                    f" {meta.get('owner_pid')}): another handover of this pair runs from this machine. Let it finish, or stop it with state=stopped."
                )
        self.result["changed"] = True
        if self.client.check_mode:
            return
        self.p.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        owner = (owner_pid, process_start_time(owner_pid)) if owner_pid else None
        pid, message = self.spawn(owner)
        if pid is None:
            self.client.fail(f"Failed to start the observer of '{self.p.name}': {message}")
        guard = {"classid": GUARD_CLASSID, "name": self.p.name} if self.p.guard else None
        meta = {
            "pid": pid,
            "start_time": process_start_time(pid),
            "owner_pid": owner_pid,
            "started_at": time.time(),
            "lease_duration": self.p.lease_duration,
            "guard": guard,
        }
        tmp = self.meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta))
        tmp.replace(self.meta_path)
        self.result.update(pid=pid, guard=guard)

    def spawn(self, owner: tuple[int, str | None] | None) -> tuple[int | None, str]:
        """Double-fork a session leader-free daemon; it reports 'ready' (connected, guard taken) or the error through a pipe."""
        read_fd, write_fd = os.pipe()
        first = os.fork()
        if first == 0:
            try:
                os.close(read_fd)
                os.setsid()
                if os.fork() != 0:
                    os._exit(0)
                self.daemon(write_fd, owner)
            finally:
                os._exit(0)
        os.close(write_fd)
        os.waitpid(first, 0)
        deadline = time.monotonic() + (self.client.params.get("connect_timeout") or 10) + 5
        data = b""
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            data += chunk
        os.close(read_fd)
        text = data.decode("utf-8", "replace")
        if text.startswith("ready "):
            return int(text.split()[1]), ""
        return None, self.client.sanitize(text.partition(" ")[2] or "the sampler exited without a word (see the system log)")

    def daemon(self, write_fd: int, owner: tuple[int, str | None] | None) -> None:
        os.chdir("/")  # the module's temporary directory is removed once the task returns
        with contextlib.suppress(OSError):
            os.nice(-10)  # a measuring tool: ahead of ordinary work on a busy controller, where the permission allows it
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        for entry in os.listdir("/proc/self/fd"):
            fd = int(entry)
            if fd > 2 and fd not in (write_fd, devnull):
                with contextlib.suppress(OSError):
                    os.close(fd)
        sampler: Sampler | None = None
        try:
            sampler = Sampler(self.client, self.p, self.samples_path, owner)
            sampler.connect()
            signal.signal(signal.SIGTERM, lambda _s, _f: sampler.stop.set() if sampler else None)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C of the run reaches its process group, not us (setsid)
        except (PostgresError, OSError, ValueError) as exc:
            os.write(write_fd, f"error {exc}".encode())
            os.close(write_fd)
            return
        os.write(write_fd, f"ready {os.getpid()}".encode())
        os.close(write_fd)
        try:
            sampler.run()
        except Exception:  # the daemon has no caller left: leave the reason in the samples file
            sampler.write([{"k": "end", "t": time.time(), "reason": "error", "msg": traceback.format_exc()[-2000:]}])

    def wait_gone(self, meta: dict[str, t.Any], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.running(meta) and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.running(meta)

    def stopped(self) -> None:
        meta = self.get_existing()
        owner_pid = int((meta or {}).get("owner_pid") or 0)
        if self.running(meta) and meta is not None and owner_pid and not alive(owner_pid, None):
            self.wait_gone(meta, 2.0)  # its run is gone, so it is ending by itself: nothing for us to stop
        if self.running(meta) and meta is not None:
            self.result["changed"] = True
            if not self.client.check_mode:
                os.kill(int(meta["pid"]), signal.SIGTERM)
                if not self.wait_gone(meta, self.p.stop_timeout):
                    self.client.warn(f"the observer (pid {meta['pid']}) did not end within {self.p.stop_timeout}s; its last samples may be missing")
        lease_duration = self.p.lease_duration if self.p.lease_duration is not None else (meta or {}).get("lease_duration")
        records = self.read_samples()
        self.result["observation"] = summarize(records, lease_duration) if records else None

    def read_samples(self) -> list[dict[str, t.Any]]:
        records = []
        try:
            with self.samples_path.open(encoding="utf-8") as handle:
                for line in handle:
                    with contextlib.suppress(ValueError):
                        records.append(json.loads(line))  # a line cut by a killed sampler is skipped
        except OSError:
            return []
        return records


def main() -> None:
    client = PostgresClient(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["started", "stopped"], "default": "started"},
            "state_dir": {"type": "path", "default": "~/.ansible/nodeops_chainlink/observer"},
            "interval": {"type": "float", "default": 0.05},
            "http_interval": {"type": "float", "default": 0.25},
            "lease_table": {"type": "str", "default": "lease_lock"},
            "lease_duration": {"type": "float"},
            "advisory_lock_id": {"type": "int", "default": 1027321974924625846},
            "http_probes": {"type": "dict", "default": {}},
            "http_timeout": {"type": "float", "default": 0.5},
            "guard": {"type": "bool", "default": True},
            "max_duration": {"type": "float", "default": 3600},
            "owner_pid": {"type": "int"},
            "stop_timeout": {"type": "float", "default": 10},
        },
        supports_check_mode=True,
        application_name="nodeops.chainlink lock_observer",
    )
    manager = ObserverManager(client)
    client.application_name = f"nodeops.chainlink lock_observer {manager.p.name}"[:63]
    manager.validate()
    try:
        if manager.p.state == "started":
            manager.started()
        else:
            manager.stopped()
    except (OSError, PostgresError) as exc:
        client.fail(
            f"Failed to {'start' if manager.p.state == 'started' else 'stop'} the observer of '{manager.p.name}': {exc}", exception=traceback.format_exc()
        )
    client.exit(**manager.result)


if __name__ == "__main__":
    main()
